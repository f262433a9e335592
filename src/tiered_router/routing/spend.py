"""The budget step of the request path: reserve before a paid call, settle or release after.

Local backends skip all of this (their cost is 0). For a paid backend the worst case — the
prompt plus ``max_tokens`` of output — is reserved atomically before any byte is sent, and the
real cost from the provider's usage is settled afterwards. When the provider sends no usage,
the tokens are estimated and the record is marked ``cost_estimated``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..backends.base import Usage, estimate_tokens

if TYPE_CHECKING:
    from ..backends import Backend
    from ..budget import BudgetTracker, Reservation
    from ..config import Settings

log = logging.getLogger("tiered_router.budget")


@dataclass
class Hold:
    """A reservation for one call, or nothing for a free one."""

    reservation: Reservation | None
    prompt_tokens: int


class Spend:
    """Owns the BudgetTracker, opened on first paid call, and failing closed when it cannot open."""

    def __init__(self, settings: Settings, tracker: BudgetTracker | None = None) -> None:
        self.settings = settings
        self._tracker = tracker
        self._open_error: Exception | None = None

    @property
    def tracker(self) -> BudgetTracker:
        if self._tracker is None:
            from ..budget import BudgetTracker, LedgerUnavailable

            if self._open_error is not None:
                raise LedgerUnavailable(str(self._open_error))
            s = self.settings
            try:
                self._tracker = BudgetTracker(
                    db=s.db, daily_limit_usd=s.cloud_daily_budget_usd, monthly_limit_usd=s.cloud_monthly_budget_usd,
                    timezone=s.budget_timezone, fail_open=s.budget_fail_open, prices=s.price_overrides or None,
                )
            except LedgerUnavailable as exc:
                self._open_error = exc
                raise
        return self._tracker

    def is_paid(self, backend: Backend) -> bool:
        return not backend.is_local

    async def hold(self, backend: Backend, prompt_tokens: int, max_tokens: int) -> Hold:
        """Reserve the worst case. Raises BudgetExceeded, UnknownPrice or LedgerUnavailable."""
        if not self.is_paid(backend):
            return Hold(None, prompt_tokens)
        tracker = self.tracker
        reservation = await asyncio.to_thread(
            tracker.reserve_call, backend.provider, backend.model, prompt_tokens, max_tokens
        )
        return Hold(reservation, prompt_tokens)

    async def settle(self, hold: Hold, usage: Usage | None, text: str) -> tuple[float, Usage]:
        """Charge what the call consumed; returns (cost, usage actually charged)."""
        charged = self.fill_usage(usage, hold.prompt_tokens, text)
        if hold.reservation is None:
            return self.local_cost(charged), charged
        cost = await asyncio.to_thread(
            self.tracker.settle, hold.reservation, charged.input_tokens, charged.output_tokens,
            None, charged.estimated,
        )
        return cost, charged

    def local_cost(self, usage: Usage) -> float:
        price = self.settings.local_price_per_mtok
        if price is None:
            return 0.0
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000

    async def release(self, hold: Hold) -> None:
        if hold.reservation is not None:
            await asyncio.to_thread(self.tracker.release, hold.reservation)

    @staticmethod
    def fill_usage(usage: Usage | None, prompt_tokens: int, text: str) -> Usage:
        """The provider's counts where it sent them, estimates (marked) where it did not."""
        if usage is not None and not usage.estimated and (usage.input_tokens or usage.output_tokens):
            return usage
        return Usage(
            input_tokens=(usage.input_tokens if usage and usage.input_tokens else prompt_tokens),
            output_tokens=(usage.output_tokens if usage and usage.output_tokens else estimate_tokens(text)),
            estimated=True,
        )

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
