"""PriceBook: genai-prices lookups, overrides, local models, refusal of unknown prices."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from tiered_router.budget import PriceBook, UnknownPrice


@pytest.fixture
def book() -> PriceBook:
    return PriceBook()


@pytest.mark.parametrize(
    ("provider", "model", "genai_provider"),
    [
        ("anthropic", "claude-haiku-4-5", "anthropic"),
        ("anthropic", "claude-sonnet-4-5", "anthropic"),
        ("openai", "gpt-4o", "openai"),
        ("openai", "gpt-4o-mini", "openai"),
        ("xai", "grok-4", "x-ai"),
        ("x-ai", "grok-3-mini", "x-ai"),
        ("grok", "grok-4-fast", "x-ai"),  # an alias genai-prices lacks
        ("groq", "llama-3.1-8b-instant", "groq"),
    ],
)
@pytest.mark.parametrize(("tokens_in", "tokens_out"), [(0, 0), (1, 1), (1234, 567), (250_000, 8_000)])
def test_costs_match_genai_prices(
    book: PriceBook, provider: str, model: str, genai_provider: str, tokens_in: int, tokens_out: int
) -> None:
    expected = calc_price(
        Usage(input_tokens=tokens_in, output_tokens=tokens_out), model, provider_id=genai_provider
    ).total_price
    micro = book.cost_micro(provider, model, tokens_in, tokens_out)
    assert micro == math.ceil(expected * 1_000_000)  # rounded up to the micro-dollar
    assert book.cost(provider, model, tokens_in, tokens_out) == micro / 1_000_000


def test_known_rates(book: PriceBook) -> None:
    assert book.cost("anthropic", "claude-haiku-4-5", 1_000_000, 1_000_000) == 6.0  # $1 + $5
    assert book.cost("openai", "gpt-4o", 1_000_000, 1_000_000) == 12.5  # $2.50 + $10
    # sonnet 4.5 is tiered: above 200k prompt tokens *all* tokens cost $6 / $22.50
    assert book.cost("anthropic", "claude-sonnet-4-5", 200_000, 0) == 0.6
    assert book.cost("anthropic", "claude-sonnet-4-5", 200_001, 1_000) == pytest.approx(1.200006 + 0.0225)
    rates = book.rates("xai", "grok-4")
    assert rates.source == "genai-prices" and rates.resolved_as == "x-ai/grok-4-0709"


def test_worst_case_is_the_full_output_budget(book: PriceBook) -> None:
    assert book.worst_case_cost("anthropic", "claude-haiku-4-5", 2000, 4000) == 0.022
    assert book.worst_case_cost("anthropic", "claude-haiku-4-5", 2000, 4000) == book.cost(
        "anthropic", "claude-haiku-4-5", 2000, 4000
    )
    assert book.worst_case_micro("openai", "gpt-4o", 1, 0) == 3  # 2.5 µ$ rounds up


def test_unknown_cloud_model_is_refused(book: PriceBook) -> None:
    with pytest.raises(UnknownPrice) as info:
        book.worst_case_cost("anthropic", "claude-imaginary-9", 10, 10)
    assert info.value.provider == "anthropic" and info.value.model == "claude-imaginary-9"
    with pytest.raises(UnknownPrice):
        book.cost("some-gateway", "no-such-model-anywhere", 10, 10)


def test_unknown_provider_is_priced_by_model_name(book: PriceBook) -> None:
    # an OpenAI-compatible gateway that genai-prices does not know, serving a model it does know
    assert book.cost("my-gateway", "gpt-4o", 1_000_000, 0) == 2.5


def test_overrides(book: PriceBook) -> None:
    b = PriceBook(
        {
            "gpt-4o": (1.0, 2.0),
            "Azure/GPT-4o": (3.0, 4.0),  # keys are case-insensitive
            "mycloud/secret": ("0.5", 1),
        }
    )
    assert b.cost("openai", "gpt-4o", 1_000_000, 1_000_000) == 3.0
    assert b.cost("azure", "gpt-4o", 1_000_000, 1_000_000) == 7.0  # provider/model beats model
    assert b.cost("mycloud", "secret", 2_000_000, 0) == 1.0
    assert b.rates("mycloud", "secret").source == "override"
    with pytest.raises(ValueError):
        PriceBook({"x": (1.0,)})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        PriceBook({"x": (-1.0, 1.0)})


def test_local_providers(book: PriceBook) -> None:
    assert book.is_local("ollama") and book.is_local("Ollama")
    assert book.cost("ollama", "anything:70b", 10**7, 10**7) == 0.0
    assert book.rates("ollama", "x").is_free
    priced = PriceBook(local_providers={"ollama", "gpu-box"}, local_price=(0.01, 0.02))
    assert priced.cost("gpu-box", "m", 1_000_000, 1_000_000) == 0.03
    with pytest.raises(UnknownPrice):
        PriceBook(local_providers=()).cost("ollama", "llama3.2-made-up", 1, 1)


def test_lookups_are_cached(book: PriceBook) -> None:
    for _ in range(100):
        book.cost("anthropic", "claude-haiku-4-5", 10, 10)
    info = book._lookup.cache_info()
    assert info.misses == 1 and info.hits == 99
    book.cache_clear()
    assert book._lookup.cache_info().currsize == 0


def test_token_counts_are_validated(book: PriceBook) -> None:
    with pytest.raises(ValueError):
        book.cost("anthropic", "claude-haiku-4-5", -1, 0)
    with pytest.raises(ValueError):
        book.worst_case_cost("anthropic", "claude-haiku-4-5", 1, True)  # type: ignore[arg-type]


def test_rates_are_exact_decimals(book: PriceBook) -> None:
    r = book.rates("openai", "gpt-4o-mini")
    assert r.input_mtok == Decimal("0.150") and r.output_mtok == Decimal("0.6")
    assert r.cost_micro(1, 1) == 1  # 0.75 µ$ -> 1
