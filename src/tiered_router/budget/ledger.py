"""The budget ledger's interface: what every backend stores and how, and ``open_ledger`` to pick one.

Every cloud call first *reserves* its worst-case cost. Checking the limit and recording the
reservation is one atomic step in the ledger (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a row lock on
the month's window row), so concurrent callers — threads or processes — can never together commit
more than the limit. After the call the reservation is *settled* at the real cost, or *released* if
the call failed. A reservation leaked by a killed process expires after ``reservation_ttl_s`` and is
then *charged*, never freed: ``reclaim_expired`` turns it into a spend row at its reserved (worst-case)
amount, marked estimated and ``orphaned``, since the provider may have billed the call. A late settle
of that call replaces the charge with its real cost, once (see ``Ledger.settle``).

The ledger speaks integer micro-dollars and integer epoch-microseconds only (``to_epoch_us``), and
knows windows by their keys (``Windows``). ``sqlite.py``, ``postgres.py`` and ``memory.py`` implement
``Ledger``. ``tracker.py`` holds ``BudgetTracker``, which turns dollars, datetimes and time zones
into these (``windows.py``) and runs each operation on the ledger ``failover.py`` picks.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..paths import default_db_path
from .errors import BudgetExceeded
from .money import micro_to_usd

# Time in the ledger is integer epoch-microseconds: exact, and the same on every backend.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_epoch_us(dt: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    return (dt - EPOCH) // _ONE_US


def from_epoch_us(us: int) -> datetime:
    """The instant ``us`` epoch-microseconds name (the inverse of ``to_epoch_us``)."""
    return EPOCH + timedelta(microseconds=us)


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
    """Settled spend and open reservations, in micro-dollars. A reservation counts until it is settled,
    released or charged by ``reclaim_expired``, expired or not: expiring never frees its money."""

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
    # spend charged by reclaim_expired for reservations nobody settled (part of ``spent`` and ``calls``)
    orphaned_calls: int = 0
    orphaned_micro: int = 0


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
class Reclaimed:
    """What one ``reclaim_expired`` charged: how many orphaned reservations, and their amount."""

    count: int = 0
    amount_micro: int = 0


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
        ``spend.call_id``: a second call records nothing and returns the first recorded cost.

        One exception: when the row already there is an *orphaned* charge (``reclaim_expired`` charged the
        reservation at its worst case because nobody settled it within its TTL), this settle is the real
        figure for that call, so it replaces the charge — cost, tokens, estimated flag — and the windows
        of the charge move by the difference, calls unchanged. That happens once: the row is no longer
        orphaned, and later settles return its cost. The ledger ends as if the reclaim had never run."""

    @abstractmethod
    def release(self, reservation_id: str) -> bool:
        """Delete an open reservation; returns whether it existed."""

    @abstractmethod
    def totals(self, windows: Windows, now_us: int) -> WindowTotals: ...

    @abstractmethod
    def stats(self, windows: Windows, now_us: int) -> tuple[WindowStats, WindowStats]:
        """(daily, monthly) statistics for the summary."""

    @abstractmethod
    def reclaim_expired(self, now_us: int) -> Reclaimed:
        """Charge every reservation whose TTL has passed (``expires_us <= now_us``) at its reserved
        amount, atomically: delete it and record a spend row keyed by its id, ``cost_estimated`` and
        ``orphaned``, in the reservation's own day and month windows. A reservation whose id already has
        a spend row is only deleted. Safe to run twice and concurrently: each reservation is charged
        once. Returns what was charged."""

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
