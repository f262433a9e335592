"""``BudgetTracker``, the budget's public object: reserve before every cloud call, settle after.

The tracker turns the caller's dollars, token counts and datetimes into what a ledger stores
(``ledger.py``: micro-dollars, epoch-microseconds, window keys from ``windows.py``) and runs each
operation on the ledger ``failover.py`` picks. ``reserve``, ``settle``, ``release`` and
``record_spend`` have ``a*`` async twins for event loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import BudgetExceeded, LedgerUnavailable, UnknownPrice
from .failover import Ledgers
from .journal import SpendJournal, journal_path
from .ledger import (
    Ledger,
    Limits,
    ReservationRow,
    SpendRow,
    Windows,
    WindowTotals,
    check_limits,
    new_id,
    to_epoch_us,
)
from .money import micro_to_usd, usd_to_micro
from .pricing import PriceBook
from .windows import aware, utc_now, window_bounds, window_summary, windows_at, zone

log = logging.getLogger("tiered_router.budget")
_MAX_MICRO = 2**62  # what a ledger's 64-bit columns hold with room to add; no call costs four quadrillion dollars


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money set aside for one cloud call. Settle it or release it."""

    id: str
    provider: str
    model: str
    amount_usd: float
    created_at: datetime
    expires_at: datetime
    amount_micro: int = 0
    backend: str = "primary"  # "primary" or "fallback" (fail_open in-memory ledger)


class BudgetTracker:
    """A cloud budget that cannot be overspent: reserve before every cloud call, settle after.

    ``db``: a SQLite path (default ``tiered-router.db`` in the user data dir), a ``postgresql://``
    or ``postgres://`` URL, or ``memory://`` (one process only). Limits are USD per calendar day and
    month in ``timezone``; ``None`` means no limit. ``prices`` is a ``PriceBook`` or a dict of price
    overrides ``{"provider/model" or "model": (input_usd_per_mtok, output_usd_per_mtok)}``.

    Fail closed: if the ledger cannot be read or written, methods raise ``LedgerUnavailable``.
    ``fail_open=True`` instead falls back to a process-local in-memory ledger (with a warning on
    every use), retrying the real ledger every ``retry_primary_s`` seconds.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        daily_limit_usd: float | None = 5.0,
        monthly_limit_usd: float | None = 50.0,
        timezone: str = "UTC",
        reservation_ttl_s: float = 600.0,
        clock: Callable[[], datetime] | None = None,
        prices: PriceBook | Mapping[str, tuple[float, float]] | None = None,
        fail_open: bool = False,
        *,
        reclaim_interval_s: float = 60.0,
        busy_timeout_s: float = 10.0,
        pool_size: int = 4,
        retry_primary_s: float = 30.0,
    ) -> None:
        self.tz = zone(timezone)
        self.timezone = timezone
        if reservation_ttl_s <= 0:
            raise ValueError("reservation_ttl_s must be positive")
        self.reservation_ttl = timedelta(seconds=reservation_ttl_s)
        self.limits = Limits(
            usd_to_micro(daily_limit_usd) if daily_limit_usd is not None else None,
            usd_to_micro(monthly_limit_usd) if monthly_limit_usd is not None else None,
        )
        self._clock = clock or utc_now
        if isinstance(prices, PriceBook):
            self.prices = prices
        else:
            self.prices = PriceBook(overrides=prices)
        self.reclaim_interval_us = int(reclaim_interval_s * 1_000_000)
        self._reclaim_lock = threading.Lock()
        self._last_reclaim_us: int | None = None
        # Opens the primary ledger now: fails closed here unless fail_open.
        self._ledgers = Ledgers(
            db, fail_open=fail_open, busy_timeout_s=busy_timeout_s, pool_size=pool_size,
            retry_primary_s=retry_primary_s,
        )
        self.db_description = self._ledgers.description
        # Settlements the ledger could not take, kept until it can (journal.py).
        self.journal = SpendJournal(journal_path(db))
        try:
            self.reclaim_expired()  # leaked reservations of killed processes, at start-up
            self.replay_journal()  # and settlements a previous process could not write
        except LedgerUnavailable:
            if not fail_open:
                self.close()
                raise
        except BaseException:
            self.close()
            raise

    @property
    def fail_open(self) -> bool:
        return self._ledgers.fail_open

    @fail_open.setter
    def fail_open(self, value: bool) -> None:
        self._ledgers.fail_open = value

    # -- the contract ----------------------------------------------------------------------------
    def reserve(self, provider: str, model: str, max_cost_usd: float) -> Reservation:
        """Reserve ``max_cost_usd`` (rounded up to a micro-dollar) or raise ``BudgetExceeded``."""
        return self._reserve_micro(provider, model, usd_to_micro(max_cost_usd, round_up=True))

    def reserve_call(self, provider: str, model: str, tokens_in: int, max_tokens: int) -> Reservation:
        """Reserve the worst case of a call: ``tokens_in`` prompt tokens and ``max_tokens`` output.
        Raises ``UnknownPrice`` for an unpriced cloud model, ``BudgetExceeded`` when it won't fit."""
        worst = self.prices.worst_case_micro(provider, model, tokens_in, max_tokens)
        return self._reserve_micro(provider, model, worst)

    def _reserve_micro(self, provider: str, model: str, amount: int) -> Reservation:
        # An amount no window could ever hold is refused here, before it reaches a database column.
        refusal = check_limits(WindowTotals(), amount, self.limits, self.windows(self._now()))
        if refusal is not None or amount > _MAX_MICRO:
            raise refusal or BudgetExceeded("any", micro_to_usd(_MAX_MICRO), 0.0, 0.0, micro_to_usd(amount))
        if len(self.journal):
            # Spend that is not in the ledger yet would let this reservation past a limit: record it first.
            self.replay_journal()
        now = self._now()
        now_us = to_epoch_us(now)
        expires = now + self.reservation_ttl
        row = ReservationRow(
            id=new_id(now_us),
            provider=provider,
            model=model,
            amount_micro=amount,
            created_us=now_us,
            expires_us=to_epoch_us(expires),
            windows=self.windows(now),
        )
        self._maybe_reclaim(now_us)
        _, backend = self._ledgers.run(lambda led: led.reserve(row, self.limits, now_us))
        return Reservation(
            id=row.id,
            provider=provider,
            model=model,
            amount_usd=micro_to_usd(amount),
            created_at=now,
            expires_at=expires,
            amount_micro=amount,
            backend=backend,
        )

    def settle(
        self,
        reservation: Reservation,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float | None = None,
        cost_estimated: bool = False,
    ) -> float:
        """Record the real cost of a reserved call and free its reservation; returns the cost in USD.

        The spend counts in the windows of the reservation's time (``created_at``), even when the
        call ends after midnight. Settling is idempotent: settling the same reservation again
        records nothing and returns the cost recorded the first time. A reservation that already
        expired still records its spend: if ``reclaim_expired`` charged it at its worst case meanwhile,
        this settle's real cost replaces that charge (once), so nothing is charged twice or left free.
        """
        cost, estimated = self._settle_cost(reservation, tokens_in, tokens_out, cost_usd, cost_estimated)
        spend = SpendRow(
            call_id=reservation.id,
            ts=self._now(),
            windows=self.windows(reservation.created_at),
            provider=reservation.provider,
            model=reservation.model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_micro=cost,
            cost_estimated=estimated,
            reserved_micro=reservation.amount_micro,
        )
        try:
            recorded, _ = self._ledgers.run(lambda led: led.settle(spend, reservation.id),
                                            prefer=reservation.backend)
        except LedgerUnavailable as exc:
            where = self.journal.add(spend, reservation.id)
            log.warning("budget ledger %s unavailable while settling call %s (%s); its spend of $%.6f is kept in "
                        "the spend journal (%s) and will be written to the ledger when it is back",
                        self.db_description, reservation.id, exc, micro_to_usd(cost), where)
            return micro_to_usd(cost)
        if spend.ts >= reservation.expires_at:
            log.warning("budget: call %s was settled %.0f s after its reservation expired (reservation TTL %g s); "
                        "a TTL shorter than the slowest call charges such calls at their worst case until they settle",
                        reservation.id, (spend.ts - reservation.expires_at).total_seconds(),
                        self.reservation_ttl.total_seconds())
        return micro_to_usd(recorded)

    def replay_journal(self) -> int:
        """Write journalled settlements to the ledger, oldest first; returns how many. Raises
        ``LedgerUnavailable`` (and keeps the rest) if the ledger is still unreachable. Idempotent."""
        replayed = 0
        for spend, reservation_id in self.journal.pending():
            self._ledgers.run(lambda led, s=spend, r=reservation_id: led.settle(s, r))  # type: ignore[misc]
            self.journal.done(spend.call_id)
            replayed += 1
        if replayed:
            log.warning("budget: %d journalled settlement(s) written to the ledger %s", replayed, self.db_description)
        return replayed

    def release(self, reservation: Reservation) -> None:
        """Free the reservation of a call that failed before costing anything. Idempotent."""
        self._ledgers.run(lambda led: led.release(reservation.id), prefer=reservation.backend)

    def record_spend(
        self,
        provider: str,
        model: str,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float | None = None,
        cost_estimated: bool = False,
    ) -> float:
        """Record a completed call that had no reservation; returns its cost in USD."""
        _check_tokens(tokens_in, tokens_out)
        if cost_usd is None:
            cost = self.prices.cost_micro(provider, model, tokens_in, tokens_out)
        else:
            cost = usd_to_micro(cost_usd)
        now = self._now()
        spend = SpendRow(
            call_id=new_id(to_epoch_us(now)),
            ts=now,
            windows=self.windows(now),
            provider=provider,
            model=model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_micro=cost,
            cost_estimated=cost_estimated,
            reserved_micro=None,
        )
        try:
            recorded, _ = self._ledgers.run(lambda led: led.settle(spend, None))
        except LedgerUnavailable as exc:
            where = self.journal.add(spend, None)
            log.warning("budget ledger %s unavailable (%s); spend of $%.6f kept in the spend journal (%s)",
                        self.db_description, exc, micro_to_usd(cost), where)
            return micro_to_usd(cost)
        return micro_to_usd(recorded)

    def estimate_cost(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> float:
        return self.prices.cost(provider, model, tokens_in, tokens_out)

    def cloud_allowed(self, max_cost_usd: float = 0.0) -> bool:
        """Would a reservation of ``max_cost_usd`` fit now? With 0: is any budget left at all?
        A hint only — ``reserve`` is the atomic check. Raises ``LedgerUnavailable`` if unreadable."""
        amount = usd_to_micro(max_cost_usd, round_up=True)
        now = self._now()
        windows = self.windows(now)
        totals, _ = self._ledgers.run(lambda led: led.totals(windows, to_epoch_us(now)))
        for limit, committed in (
            (self.limits.day_micro, totals.day_committed),
            (self.limits.month_micro, totals.month_committed),
        ):
            if limit is None:
                continue
            if amount > 0 and committed + amount > limit:
                return False
            if amount == 0 and committed >= limit:
                return False
        return True

    def totals(self) -> WindowTotals:
        """Current settled spend and open reservations in micro-dollars (one consistent read)."""
        now = self._now()
        windows = self.windows(now)
        result, _ = self._ledgers.run(lambda led: led.totals(windows, to_epoch_us(now)))
        return result

    def get_summary(self) -> dict[str, Any]:
        """Spend, reservations, limits and what is left, per window; JSON-serialisable."""
        now = self._now()
        windows = self.windows(now)
        with contextlib.suppress(LedgerUnavailable):
            self.replay_journal()
            self._maybe_reclaim(to_epoch_us(now))
        (day, month), backend = self._ledgers.run(lambda led: led.stats(windows, to_epoch_us(now)))
        day_start, day_end, month_start, month_end = self.window_bounds(now)
        return {
            "now": now.isoformat(),
            "timezone": self.timezone,
            "backend": self._ledgers.kind(backend),
            "db": self.db_description,
            "fallback_in_use": backend == "fallback",
            "reservation_ttl_s": self.reservation_ttl.total_seconds(),
            "daily": window_summary(windows.day, day_start, day_end, self.limits.day_micro, day),
            "monthly": window_summary(windows.month, month_start, month_end, self.limits.month_micro, month),
            "calls": month.calls,
            # Spend recorded while the ledger was unreachable, not yet written to it (counted in no window).
            "journal": {"pending": len(self.journal), "pending_usd": micro_to_usd(self.journal.total_micro()),
                        "path": self.journal.path},
        }

    def reclaim_expired(self) -> int:
        """Charge the reservations whose TTL has passed (leaked by killed processes) at their reserved worst case,
        marked estimated: never free, as the provider may have billed them. Returns how many. Runs at start-up,
        every ``reclaim_interval_s`` from ``reserve`` and ``get_summary``, or when called."""
        now_us = to_epoch_us(self._now())
        with self._reclaim_lock:
            self._last_reclaim_us = now_us
        charged, _ = self._ledgers.run(lambda led: led.reclaim_expired(now_us))
        if charged.count:
            log.warning("budget: %d orphaned reservation(s) nobody settled within the %g s TTL charged at their "
                        "reserved worst case, $%.6f in all, marked estimated", charged.count,
                        self.reservation_ttl.total_seconds(), micro_to_usd(charged.amount_micro))
        return charged.count

    # -- async twins: the ledgers block on database I/O, so each runs its sync twin in a thread ------
    async def areserve(self, provider: str, model: str, max_cost_usd: float) -> Reservation:
        return await asyncio.to_thread(self.reserve, provider, model, max_cost_usd)

    async def asettle(
        self,
        reservation: Reservation,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float | None = None,
        cost_estimated: bool = False,
    ) -> float:
        return await asyncio.to_thread(self.settle, reservation, tokens_in, tokens_out, cost_usd, cost_estimated)

    async def arelease(self, reservation: Reservation) -> None:
        await asyncio.to_thread(self.release, reservation)

    async def arecord_spend(
        self,
        provider: str,
        model: str,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float | None = None,
        cost_estimated: bool = False,
    ) -> float:
        return await asyncio.to_thread(
            self.record_spend, provider, model, tokens_in, tokens_out, cost_usd, cost_estimated
        )

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        self.journal.close()
        self._ledgers.close()

    def __enter__(self) -> BudgetTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"BudgetTracker(db={self.db_description!r}, daily={_fmt_limit(self.limits.day_micro)}, "
            f"monthly={_fmt_limit(self.limits.month_micro)}, timezone={self.timezone!r})"
        )

    # -- windows ---------------------------------------------------------------------------------
    def windows(self, at: datetime) -> Windows:
        """The day and month keys of ``at`` in the tracker's time zone."""
        return windows_at(at, self.tz)

    def window_bounds(self, at: datetime) -> tuple[datetime, datetime, datetime, datetime]:
        """Local start and end of the day and of the month containing ``at``."""
        return window_bounds(at, self.tz)

    # -- access to the ledger (exposed for tests and tools) ---------------------------------------
    @property
    def ledger(self) -> Ledger:
        """The primary ledger (raises ``LedgerUnavailable`` if it is not open)."""
        return self._ledgers.primary

    # -- internals -------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return aware(self._clock())

    def _maybe_reclaim(self, now_us: int) -> None:
        last = self._last_reclaim_us
        if last is not None and 0 <= now_us - last < self.reclaim_interval_us:
            return
        self.reclaim_expired()

    def _settle_cost(
        self,
        reservation: Reservation,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float | None,
        cost_estimated: bool,
    ) -> tuple[int, bool]:
        _check_tokens(tokens_in, tokens_out)
        if cost_usd is not None:
            return usd_to_micro(cost_usd), cost_estimated
        try:
            return self.prices.cost_micro(reservation.provider, reservation.model, tokens_in, tokens_out), (
                cost_estimated
            )
        except UnknownPrice as exc:
            # The call happened and was paid for: record the reserved worst case rather than nothing.
            log.warning("%s; recording the reserved %s USD as an estimated cost", exc, reservation.amount_usd)
            return reservation.amount_micro, True


def _check_tokens(tokens_in: int, tokens_out: int) -> None:
    for name, value in (("tokens_in", tokens_in), ("tokens_out", tokens_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _fmt_limit(micro: int | None) -> str:
    return "none" if micro is None else f"${micro_to_usd(micro):.2f}"
