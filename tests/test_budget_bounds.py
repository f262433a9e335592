"""A reservation is an upper bound, by construction: for any prompt, the prompt tokens the budget reserves
for are at least what the provider counts. Checked against the simulator, which counts tokens as
pessimistically as a real byte-level tokenizer, over adversarial prompts, on each wire protocol."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_support import PNG
from tiered_router.backends import AnthropicBackend, HttpPool, OllamaBackend, OpenAICompatBackend
from tiered_router.chat import ChatRequest, ImagePart, Message, TextPart, Tool
from tiered_router.errors import CloudBudgetExceeded
from tiered_router.routing.spend import prompt_bound
from tiered_router.tiers import Tier

CODE = "def f(x):\n    return {k: v for k, v in x.items() if v}  # ok\n"

segments = st.one_of(
    st.text(alphabet=string.punctuation, min_size=1, max_size=400),
    st.text(alphabet=string.digits, min_size=1, max_size=400),
    st.text(alphabet="漢字かなカナ한국어中文", min_size=1, max_size=200),
    st.text(alphabet="😀🎉🚀👍🏽🧠🇺🇳", min_size=1, max_size=100),
    st.binary(min_size=1, max_size=300).map(lambda b: base64.b64encode(b).decode()),
    st.integers(1, 20).map(lambda n: CODE * n),
    st.text(alphabet=" \t\n", min_size=1, max_size=300),
    st.text(max_size=200),
)
prompts = st.lists(segments, min_size=1, max_size=6).map("".join)
TOOLS = (Tool("get_weather", "The weather", {"type": "object", "properties": {"city": {"type": "string"}}}),)


def backends(url: str, pool: HttpPool) -> dict[str, object]:
    common = {"base_url": url, "pool": pool, "timeout_s": 10.0, "context_window": 10**6}
    return {"ollama": OllamaBackend(provider="ollama", model="hermes3:70b", **common),
            "openai": OpenAICompatBackend(provider="openai", model="gpt-4o", **common),
            "anthropic": AnthropicBackend(provider="anthropic", model="claude-haiku-4-5", **common)}


@pytest.mark.parametrize("protocol", ["ollama", "openai", "anthropic"])
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(system=prompts, user=prompts, images=st.integers(0, 2), tools=st.booleans())
async def test_the_reserved_prompt_tokens_are_never_below_the_providers_count(simulator, protocol, system, user,
                                                                             images, tools) -> None:
    parts = [TextPart(user), *[ImagePart(data=PNG, media_type="image/png")] * images]
    request = ChatRequest([Message("system", system), Message("user", parts)], max_tokens=1,
                          tools=TOOLS if tools else (), num_ctx=10**6)
    pool = HttpPool()
    try:
        backend = backends(simulator.url, pool)[protocol]
        result = await backend.chat(request)  # type: ignore[attr-defined]
    finally:
        await pool.aclose()
    assert result.usage.input_tokens > 0
    assert prompt_bound(request, protocol, backend.model) >= result.usage.input_tokens  # type: ignore[attr-defined]


async def test_a_prompt_that_would_overspend_is_refused_before_the_call(make_router, simulator) -> None:
    """The fault tour's case: a $0.01 day, a forced cloud call with 36,000 characters of punctuation and
    max_tokens 1. It settled 3.6× the limit when the reservation priced a chars/4 estimate."""
    router = make_router(cloud_daily_budget_usd=0.01)
    simulator.sim.reset()
    prompt = ("!@#$%^&*()[]{};:,.<>/?|\\~`" * 1400)[:36_000]
    with pytest.raises(CloudBudgetExceeded):
        await router.complete(prompt, {"tier": Tier.CLOUD_API}, max_tokens=1)
    assert not simulator.sim.requests  # refused before any byte was sent
    summary = router.budget.get_summary()["daily"]
    assert summary["spent_usd"] == 0 and summary["reserved_usd"] == 0
    # A prompt that fits is answered, and what it settles never passes what was reserved, or the limit.
    r = await router.complete(prompt[:2_000], {"tier": Tier.CLOUD_API}, max_tokens=1)
    assert 0 < r.cost_usd <= 0.01
    assert router.budget.get_summary()["daily"]["spent_usd"] <= 0.01
