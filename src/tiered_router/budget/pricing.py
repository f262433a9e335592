"""Prices for cloud models: the ``genai-prices`` data, per-model overrides, local models free.

``PriceBook`` answers two questions on the router's hot path:

* ``worst_case_cost(provider, model, tokens_in, max_tokens)`` — what to reserve before a call;
* ``cost(provider, model, tokens_in, tokens_out)`` — what a finished call cost.

A model's rates are looked up once (``calc_price`` costs ~300 µs) and cached with ``lru_cache``;
costs are then computed with exact ``Decimal`` arithmetic and rounded *up* to a micro-dollar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from .. import providers
from .errors import UnknownPrice
from .money import MICRO_PER_USD, ceil_micro, micro_to_usd

log = logging.getLogger("tiered_router.budget")

# Every local provider of the registry, and "local" for a caller's own.
DEFAULT_LOCAL_PROVIDERS: frozenset[str] = providers.local_names() | {"local"}

# Names a caller may give a PriceBook that genai-prices spells differently (and the registry lacks).
_OTHER_SPELLINGS: dict[str, str] = {"grok": "x-ai", "claude": "anthropic", "gemini": "google"}

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for one model. Tiers are ``(start, price)``: when the prompt has more
    than ``start`` input tokens, *all* tokens pay ``price`` (genai-prices' "cliff" model)."""

    provider: str
    model: str
    source: str  # "override", "local" or "genai-prices"
    input_mtok: Decimal
    output_mtok: Decimal
    input_tiers: tuple[tuple[int, Decimal], ...] = ()
    output_tiers: tuple[tuple[int, Decimal], ...] = ()
    per_request_usd: Decimal = _ZERO
    resolved_as: str = ""  # genai-prices' provider/model id, for logs and docs

    @property
    def is_free(self) -> bool:
        return (
            self.input_mtok == 0
            and self.output_mtok == 0
            and self.per_request_usd == 0
            and all(p == 0 for _, p in self.input_tiers + self.output_tiers)
        )

    def cost_micro(self, tokens_in: int, tokens_out: int) -> int:
        """Exact cost in micro-dollars, rounded up. USD/Mtok × tokens is micro-USD."""
        pin = _tier_price(self.input_mtok, self.input_tiers, tokens_in)
        pout = _tier_price(self.output_mtok, self.output_tiers, tokens_in)
        total = pin * tokens_in + pout * tokens_out
        if self.per_request_usd:
            total += self.per_request_usd * MICRO_PER_USD
        return ceil_micro(total)


def _tier_price(base: Decimal, tiers: tuple[tuple[int, Decimal], ...], tokens_in: int) -> Decimal:
    for start, price in reversed(tiers):
        if tokens_in > start:
            return price
    return base


def _split_price(value: object) -> tuple[Decimal | None, tuple[tuple[int, Decimal], ...]]:
    if value is None:
        return None, ()
    if isinstance(value, Decimal):
        return value, ()
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None)
    if isinstance(base, Decimal) and tiers is not None:
        return base, tuple(sorted((int(t.start), Decimal(t.price)) for t in tiers))
    return None, ()


def _check_tokens(tokens_in: int, tokens_out: int) -> None:
    for name, value in (("tokens_in", tokens_in), ("tokens_out", tokens_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


class PriceBook:
    """Model prices. ``overrides`` maps ``"model"`` or ``"provider/model"`` (case-insensitive) to
    ``(input_usd_per_mtok, output_usd_per_mtok)``; ``"provider/model"`` wins over ``"model"``.

    Providers in ``local_providers`` cost ``local_price`` (default nothing). Any other provider is a
    cloud provider: its price comes from an override or from genai-prices, and a model with no known
    price raises ``UnknownPrice`` — never a silent $0.
    """

    def __init__(
        self,
        overrides: Mapping[str, tuple[float, float]] | None = None,
        *,
        local_providers: Iterable[str] = DEFAULT_LOCAL_PROVIDERS,
        local_price: tuple[float, float] | None = None,
        cache_size: int = 1024,
    ) -> None:
        self.overrides: dict[str, tuple[Decimal, Decimal]] = {}
        for key, pair in (overrides or {}).items():
            self.overrides[key.strip().lower()] = _price_pair(pair, f"price override {key!r}")
        self.local_providers = frozenset(p.strip().lower() for p in local_providers)
        self.local_price = _price_pair(local_price, "local_price") if local_price is not None else None
        self._lookup = lru_cache(maxsize=cache_size)(self._resolve)

    # -- public API, floats in USD ---------------------------------------------------------------
    def worst_case_cost(self, provider: str, model: str, tokens_in: int, max_tokens: int) -> float:
        """USD to reserve before a call: the prompt plus ``max_tokens`` of output."""
        return micro_to_usd(self.worst_case_micro(provider, model, tokens_in, max_tokens))

    def cost(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> float:
        """USD that a finished call cost."""
        return micro_to_usd(self.cost_micro(provider, model, tokens_in, tokens_out))

    def is_local(self, provider: str) -> bool:
        return provider.strip().lower() in self.local_providers

    def rates(self, provider: str, model: str) -> Rates:
        """The (cached) rates of a model; raises ``UnknownPrice`` for an unpriced cloud model."""
        return self._lookup(provider.strip().lower(), model.strip(), datetime.now(UTC).date())

    # -- micro-dollar API ------------------------------------------------------------------------
    def worst_case_micro(self, provider: str, model: str, tokens_in: int, max_tokens: int) -> int:
        _check_tokens(tokens_in, max_tokens)
        return self.rates(provider, model).cost_micro(tokens_in, max_tokens)

    def cost_micro(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> int:
        _check_tokens(tokens_in, tokens_out)
        return self.rates(provider, model).cost_micro(tokens_in, tokens_out)

    def cache_clear(self) -> None:
        self._lookup.cache_clear()

    # -- lookup ----------------------------------------------------------------------------------
    def _resolve(self, provider: str, model: str, today: date) -> Rates:
        # ``today`` is only in the cache key: genai-prices has prices that change on a date.
        model_l = model.lower()
        for key in (f"{provider}/{model_l}", model_l):
            if key in self.overrides:
                pin, pout = self.overrides[key]
                return Rates(provider, model, "override", pin, pout)
        if provider in self.local_providers:
            pin, pout = self.local_price or (_ZERO, _ZERO)
            return Rates(provider, model, "local", pin, pout)
        return self._from_genai_prices(provider, model)

    def _from_genai_prices(self, provider: str, model: str) -> Rates:
        try:
            from genai_prices import Usage, calc_price
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise UnknownPrice(provider, model, f"genai-prices is not installed: {exc}") from exc

        provider_id: str | None = _OTHER_SPELLINGS.get(provider) or providers.pricing_id(provider)
        if provider_id and not _genai_knows_provider(provider_id):
            # An OpenAI-compatible gateway or a name genai-prices lacks: price the model by its name.
            provider_id = None
        try:
            calc = calc_price(Usage(input_tokens=0, output_tokens=0), model, provider_id=provider_id)
        except LookupError as exc:
            raise UnknownPrice(provider, model, f"genai-prices: {exc}") from None
        except Exception as exc:  # a data error inside genai-prices: refuse, don't guess
            raise UnknownPrice(provider, model, f"genai-prices failed: {exc!r}") from None
        mp = calc.model_price
        pin, in_tiers = _split_price(getattr(mp, "input_mtok", None))
        pout, out_tiers = _split_price(getattr(mp, "output_mtok", None))
        if pin is None or pout is None:
            raise UnknownPrice(provider, model, "genai-prices has no input and output token price for it")
        per_k_requests = getattr(mp, "requests_kcount", None)
        per_request = per_k_requests / 1000 if isinstance(per_k_requests, Decimal) else _ZERO
        resolved = f"{calc.provider.id}/{calc.model.id}"
        log.debug("priced %s/%s as %s: %s", provider, model, resolved, mp)
        return Rates(provider, model, "genai-prices", pin, pout, in_tiers, out_tiers, per_request, resolved)


def _price_pair(pair: object, what: str) -> tuple[Decimal, Decimal]:
    try:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(pair)
        values = (Decimal(str(pair[0])), Decimal(str(pair[1])))
    except Exception:
        raise ValueError(f"{what} must be (input_usd_per_mtok, output_usd_per_mtok), got {pair!r}") from None
    for v in values:
        if not v.is_finite() or v < 0:
            raise ValueError(f"{what} must be two non-negative numbers, got {pair!r}")
    return values


@lru_cache(maxsize=256)
def _genai_knows_provider(provider_id: str) -> bool:
    try:
        from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

        return find_provider_by_id(get_snapshot().providers, provider_id) is not None
    except Exception:  # pragma: no cover - private-ish API moved: let calc_price decide
        return True
