"""Exceptions raised by the budget ledger."""

from __future__ import annotations

from typing import Any


class BudgetError(Exception):
    """Base class of every budget error."""


class BudgetExceeded(BudgetError):
    """A reservation would take a window past its limit; the cloud call must not be made."""

    def __init__(
        self,
        window: str,
        limit_usd: float,
        spent_usd: float,
        reserved_usd: float,
        requested_usd: float,
        window_key: str | None = None,
    ) -> None:
        self.window = window
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.requested_usd = requested_usd
        self.window_key = window_key
        remaining = max(0.0, limit_usd - spent_usd - reserved_usd)
        where = f" ({window_key})" if window_key else ""
        super().__init__(
            f"{window} cloud budget exceeded{where}: requested ${requested_usd:.6f} but only "
            f"${remaining:.6f} of the ${limit_usd:.6f} limit is left "
            f"(spent ${spent_usd:.6f}, reserved by calls in flight ${reserved_usd:.6f})"
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # keep the attributes when pickled (multiprocessing)
        return (
            type(self),
            (self.window, self.limit_usd, self.spent_usd, self.reserved_usd, self.requested_usd, self.window_key),
        )


class LedgerUnavailable(BudgetError):
    """The ledger could not be read or written. Fail closed: no cloud call."""


class UnknownPrice(BudgetError):
    """No price is known for a cloud model, and no override gives one."""

    def __init__(self, provider: str, model: str, detail: str = "") -> None:
        self.provider = provider
        self.model = model
        self.detail = detail
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"no price known for cloud model {provider}/{model}{extra}; refusing to call it. "
            f"Add a price override, e.g. price_overrides={{'{provider}/{model}': (input_usd_per_mtok, "
            "output_usd_per_mtok)}, or configure the provider as local."
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.provider, self.model, self.detail))
