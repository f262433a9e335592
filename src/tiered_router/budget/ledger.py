"""Reserve-and-settle cloud budget: the ``Ledger`` interface and ``BudgetTracker``.

Every cloud call first *reserves* its worst-case cost. Checking the limit and recording the
reservation is one atomic step in the ledger (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a row lock on
the month's window row), so concurrent callers — threads or processes — can never together commit
more than the limit. After the call the reservation is *settled* at the real cost, or *released* if
the call failed. A reservation leaked by a killed process expires after ``reservation_ttl_s``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..paths import default_db_path
from .errors import BudgetExceeded, LedgerUnavailable, UnknownPrice
from .money import micro_to_usd, redact_url, usd_to_micro
from .pricing import PriceBook

log = logging.getLogger("tiered_router.budget")

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_epoch_us(dt: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    return (dt - EPOCH) // _ONE_US


def new_id(now_us: int) -> str:
    """A time-ordered unique id: 16 hex digits of epoch-µs then 16 random hex digits. Ordered ids
    append at the end of the ledger's b-trees instead of splitting pages at random."""
    return f"{now_us & 0xFFFF_FFFF_FFFF_FFFF:016x}{os.urandom(8).hex()}"


@dataclass(frozen=True, slots=True)
class Windows:
    """The budget windows of one instant: local calendar day and month keys."""

    day: str  # "2025-01-31"
    month: str  # "2025-01"

    @property
    def day_key(self) -> str:
        return f"day:{self.day}"

    @property
    def month_key(self) -> str:
        return f"month:{self.month}"


@dataclass(frozen=True, slots=True)
class Limits:
    day_micro: int | None
    month_micro: int | None


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """Settled spend and open (unexpired) reservations, in micro-dollars."""

    day_spent: int = 0
    day_reserved: int = 0
    month_spent: int = 0
    month_reserved: int = 0

    @property
    def day_committed(self) -> int:
        return self.day_spent + self.day_reserved

    @property
    def month_committed(self) -> int:
        return self.month_spent + self.month_reserved


@dataclass(frozen=True, slots=True)
class WindowStats:
    spent: int = 0
    reserved: int = 0
    calls: int = 0
    estimated_calls: int = 0
    open_reservations: int = 0
    # "provider/model" -> {"cost_micro", "calls", "tokens_in", "tokens_out"}
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReservationRow:
    id: str
    provider: str
    model: str
    amount_micro: int
    created_us: int
    expires_us: int
    windows: Windows


@dataclass(frozen=True, slots=True)
class SpendRow:
    call_id: str  # the reservation id, or a fresh id for record_spend (makes retries idempotent)
    ts: datetime
    windows: Windows
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_micro: int
    cost_estimated: bool
    reserved_micro: int | None


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


AuditHook = Callable[[str, WindowTotals], None]


def check_limits(
    totals: WindowTotals, amount_micro: int, limits: Limits, windows: Windows
) -> BudgetExceeded | None:
    """The limit check run by every backend *inside* its reserve transaction/lock.

    The monthly window is checked first: when both are full it is the one that lasts longer.
    A zero amount (a free model) is never refused.
    """
    if amount_micro <= 0:
        return None
    checks = (
        ("monthly", limits.month_micro, totals.month_spent, totals.month_reserved, windows.month),
        ("daily", limits.day_micro, totals.day_spent, totals.day_reserved, windows.day),
    )
    for name, limit, spent, reserved, key in checks:
        if limit is not None and spent + reserved + amount_micro > limit:
            return BudgetExceeded(
                name,
                micro_to_usd(limit),
                micro_to_usd(spent),
                micro_to_usd(reserved),
                micro_to_usd(amount_micro),
                window_key=key,
            )
    return None


class Ledger(ABC):
    """Storage of reservations and spend. All money in integer micro-dollars, all times from the
    tracker's clock (``now_us``), never the database's, so an injected clock rules everywhere."""

    kind: str = "abstract"
    description: str = ""
    #: Test hook: when set, ``reserve`` re-reads the totals after inserting the reservation, still
    #: inside the same transaction/lock, and calls ``audit_hook(reservation_id, totals)``.
    audit_hook: AuditHook | None = None

    @abstractmethod
    def reserve(self, row: ReservationRow, limits: Limits, now_us: int) -> WindowTotals:
        """Atomically check ``spent + reserved + amount <= limit`` for both windows and insert the
        reservation, or raise ``BudgetExceeded``. Returns the totals including the new reservation."""

    @abstractmethod
    def settle(self, spend: SpendRow, reservation_id: str | None) -> int:
        """Record a spend row and delete the reservation (if any) in one transaction. Idempotent per
        ``spend.call_id``: a second call records nothing and returns the first recorded cost."""

    @abstractmethod
    def release(self, reservation_id: str) -> bool:
        """Delete an open reservation; returns whether it existed."""

    @abstractmethod
    def totals(self, windows: Windows, now_us: int) -> WindowTotals: ...

    @abstractmethod
    def stats(self, windows: Windows, now_us: int) -> tuple[WindowStats, WindowStats]:
        """(daily, monthly) statistics for the summary."""

    @abstractmethod
    def reclaim_expired(self, now_us: int) -> int:
        """Delete reservations whose TTL has passed; returns how many."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...


def open_ledger(db: str | os.PathLike[str] | None, *, busy_timeout_s: float, pool_size: int) -> Ledger:
    """Open a ledger from ``db``: a ``postgresql://`` URL, ``memory://``, or a SQLite path."""
    target = os.fspath(db) if db is not None else str(default_db_path())
    if target.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresLedger

        return PostgresLedger(target, pool_size=pool_size)
    if target.startswith("memory:"):
        from .memory import MemoryLedger

        return MemoryLedger()
    from .sqlite import SqliteLedger

    if target.startswith("sqlite:///"):
        target = target[len("sqlite:///") :]
    return SqliteLedger(target, busy_timeout_s=busy_timeout_s)


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
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {timezone!r}") from exc
        self.timezone = timezone
        if reservation_ttl_s <= 0:
            raise ValueError("reservation_ttl_s must be positive")
        self.reservation_ttl = timedelta(seconds=reservation_ttl_s)
        self.limits = Limits(
            usd_to_micro(daily_limit_usd) if daily_limit_usd is not None else None,
            usd_to_micro(monthly_limit_usd) if monthly_limit_usd is not None else None,
        )
        self._clock = clock or _utc_now
        if isinstance(prices, PriceBook):
            self.prices = prices
        else:
            self.prices = PriceBook(overrides=prices)
        self.fail_open = fail_open
        self.reclaim_interval_us = int(reclaim_interval_s * 1_000_000)
        self._retry_primary_s = retry_primary_s
        self._busy_timeout_s = busy_timeout_s
        self._pool_size = pool_size
        self._db = db
        self._state_lock = threading.Lock()
        self._last_reclaim_us: int | None = None
        self._fallback: Ledger | None = None
        self._primary: Ledger | None = None
        self._primary_retry_at = 0.0
        self._closed = False
        target = os.fspath(db) if db is not None else str(default_db_path())
        self.db_description = redact_url(target)
        try:
            self._primary = open_ledger(db, busy_timeout_s=busy_timeout_s, pool_size=pool_size)
        except LedgerUnavailable as exc:
            if not fail_open:
                raise
            self._primary_down(exc)
        try:
            self.reclaim_expired()  # leaked reservations of killed processes, at start-up
        except BaseException:
            self.close()
            raise

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
        _, backend = self._run(lambda led: led.reserve(row, self.limits, now_us))
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
        expired (and was reclaimed) still records its spend — the money was spent.
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
        recorded, _ = self._run(lambda led: led.settle(spend, reservation.id), prefer=reservation.backend)
        return micro_to_usd(recorded)

    def release(self, reservation: Reservation) -> None:
        """Free the reservation of a call that failed before costing anything. Idempotent."""
        self._run(lambda led: led.release(reservation.id), prefer=reservation.backend)

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
        recorded, _ = self._run(lambda led: led.settle(spend, None))
        return micro_to_usd(recorded)

    def estimate_cost(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> float:
        return self.prices.cost(provider, model, tokens_in, tokens_out)

    def cloud_allowed(self, max_cost_usd: float = 0.0) -> bool:
        """Would a reservation of ``max_cost_usd`` fit now? With 0: is any budget left at all?
        A hint only — ``reserve`` is the atomic check. Raises ``LedgerUnavailable`` if unreadable."""
        amount = usd_to_micro(max_cost_usd, round_up=True)
        now = self._now()
        windows = self.windows(now)
        totals, _ = self._run(lambda led: led.totals(windows, to_epoch_us(now)))
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
        result, _ = self._run(lambda led: led.totals(windows, to_epoch_us(now)))
        return result

    def get_summary(self) -> dict[str, Any]:
        """Spend, reservations, limits and what is left, per window; JSON-serialisable."""
        now = self._now()
        windows = self.windows(now)
        (day, month), backend = self._run(lambda led: led.stats(windows, to_epoch_us(now)))
        day_start, day_end, month_start, month_end = self.window_bounds(now)
        return {
            "now": now.isoformat(),
            "timezone": self.timezone,
            "backend": self._ledger_kind(backend),
            "db": self.db_description,
            "fallback_in_use": backend == "fallback",
            "reservation_ttl_s": self.reservation_ttl.total_seconds(),
            "daily": _window_summary(windows.day, day_start, day_end, self.limits.day_micro, day),
            "monthly": _window_summary(windows.month, month_start, month_end, self.limits.month_micro, month),
            "calls": month.calls,
        }

    def reclaim_expired(self) -> int:
        """Delete reservations whose TTL has passed (leaked by killed processes). Returns the count.
        Runs at start-up, every ``reclaim_interval_s`` from ``reserve``, or when called."""
        now_us = to_epoch_us(self._now())
        count, _ = self._run(lambda led: led.reclaim_expired(now_us))
        with self._state_lock:
            self._last_reclaim_us = now_us
        if count:
            log.info("reclaimed %d expired budget reservation(s)", count)
        return count

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

    def close(self) -> None:
        with self._state_lock:
            self._closed = True
            ledgers = [self._primary, self._fallback]
            self._primary = None
        for led in ledgers:
            if led is not None:
                led.close()

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
        local = _aware(at).astimezone(self.tz)
        return Windows(day=local.date().isoformat(), month=f"{local.year:04d}-{local.month:02d}")

    def window_bounds(self, at: datetime) -> tuple[datetime, datetime, datetime, datetime]:
        """Local start and end of the day and of the month containing ``at``."""
        local = _aware(at).astimezone(self.tz)
        day_start = datetime(local.year, local.month, local.day, tzinfo=self.tz)
        next_day = local.date() + timedelta(days=1)
        day_end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=self.tz)
        month_start = datetime(local.year, local.month, 1, tzinfo=self.tz)
        ny, nm = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        month_end = datetime(ny, nm, 1, tzinfo=self.tz)
        return day_start, day_end, month_start, month_end

    # -- access to the ledger (exposed for tests and tools) ---------------------------------------
    @property
    def ledger(self) -> Ledger:
        """The primary ledger (raises ``LedgerUnavailable`` if it is not open)."""
        led = self._primary
        if led is None:
            raise LedgerUnavailable(f"budget ledger {self.db_description} is not open")
        return led

    # -- internals -------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return _aware(self._clock())

    def _maybe_reclaim(self, now_us: int) -> None:
        last = self._last_reclaim_us
        if last is not None and 0 <= now_us - last < self.reclaim_interval_us:
            return
        with self._state_lock:
            self._last_reclaim_us = now_us
        # Expired rows never count against a limit anyway; reclaiming only keeps the table small.
        self._run(lambda led: led.reclaim_expired(now_us))

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

    def _ledger_kind(self, backend: str) -> str:
        led = self._fallback if backend == "fallback" else self._primary
        return led.kind if led is not None else "unknown"

    def _primary_down(self, exc: BaseException) -> None:
        with self._state_lock:
            self._primary_retry_at = time.monotonic() + self._retry_primary_s
            if self._fallback is None:
                from .memory import MemoryLedger

                self._fallback = MemoryLedger()
        log.warning(
            "budget ledger %s unavailable (%s); fail_open=True so using an in-memory fallback ledger",
            self.db_description,
            exc,
        )

    def _use_fallback(self, op: Callable[[Ledger], T], why: object) -> tuple[T, str]:
        fallback = self._fallback
        if fallback is None:
            with self._state_lock:
                if self._fallback is None:
                    from .memory import MemoryLedger

                    self._fallback = MemoryLedger()
                fallback = self._fallback
        log.warning(
            "budget: using the in-memory FALLBACK ledger (fail_open=True; %s): spend is neither "
            "persisted nor shared with other processes",
            why,
        )
        return op(fallback), "fallback"

    def _run(self, op: Callable[[Ledger], T], prefer: str = "primary") -> tuple[T, str]:
        if self._closed:
            raise LedgerUnavailable(f"budget tracker for {self.db_description} is closed")
        if prefer == "fallback":
            return self._use_fallback(op, "the reservation was made in the fallback ledger")
        if not self.fail_open:
            primary = self._primary
            if primary is None:
                raise LedgerUnavailable(f"budget ledger {self.db_description} is not open")
            return op(primary), "primary"
        if time.monotonic() < self._primary_retry_at:
            return self._use_fallback(op, f"{self.db_description} was unavailable recently")
        try:
            return op(self._open_primary()), "primary"
        except LedgerUnavailable as exc:
            self._primary_down(exc)
            return self._use_fallback(op, exc)

    def _open_primary(self) -> Ledger:
        primary = self._primary
        if primary is not None:
            return primary
        primary = open_ledger(self._db, busy_timeout_s=self._busy_timeout_s, pool_size=self._pool_size)
        with self._state_lock:
            if self._primary is None and not self._closed:
                self._primary = primary
                return primary
            current = self._primary
        primary.close()
        if current is None:
            raise LedgerUnavailable(f"budget tracker for {self.db_description} is closed")
        return current


def _window_summary(
    key: str, start: datetime, end: datetime, limit: int | None, stats: WindowStats
) -> dict[str, Any]:
    remaining = None if limit is None else max(0, limit - stats.spent - stats.reserved)
    return {
        "window": key,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "limit_usd": None if limit is None else micro_to_usd(limit),
        "spent_usd": micro_to_usd(stats.spent),
        "reserved_usd": micro_to_usd(stats.reserved),
        "remaining_usd": None if remaining is None else micro_to_usd(remaining),
        "limit_micro": limit,
        "spent_micro": stats.spent,
        "reserved_micro": stats.reserved,
        "remaining_micro": remaining,
        "calls": stats.calls,
        "estimated_calls": stats.estimated_calls,
        "open_reservations": stats.open_reservations,
        "by_model": {
            name: {
                "cost_usd": micro_to_usd(v["cost_micro"]),
                "cost_micro": v["cost_micro"],
                "calls": v["calls"],
                "tokens_in": v["tokens_in"],
                "tokens_out": v["tokens_out"],
            }
            for name, v in sorted(stats.by_model.items())
        },
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"the budget clock must return timezone-aware datetimes, got {dt!r}")
    return dt


def _check_tokens(tokens_in: int, tokens_out: int) -> None:
    for name, value in (("tokens_in", tokens_in), ("tokens_out", tokens_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _fmt_limit(micro: int | None) -> str:
    return "none" if micro is None else f"${micro_to_usd(micro):.2f}"
