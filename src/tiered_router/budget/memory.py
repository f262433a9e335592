"""An in-memory ledger: one process only, nothing persisted.

Used as the ``fail_open=True`` fallback and for ``db="memory://"`` (tests, demos). A single lock
makes check-and-reserve atomic across the threads of this process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from .errors import LedgerUnavailable
from .ledger import (
    Ledger,
    Limits,
    Reclaimed,
    ReservationRow,
    SpendRow,
    Windows,
    WindowStats,
    WindowTotals,
    check_limits,
    from_epoch_us,
)


@dataclass(slots=True)
class _Window:
    spent: int = 0
    calls: int = 0
    estimated_calls: int = 0


class MemoryLedger(Ledger):
    kind = "memory"

    def __init__(self) -> None:
        self.description = "memory://"
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._reservations: dict[str, ReservationRow] = {}
        self._spend: dict[str, SpendRow] = {}  # by call id, in the order recorded
        self._orphaned: set[str] = set()  # call ids charged by reclaim_expired and not settled since
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerUnavailable("the in-memory budget ledger is closed")

    def _totals(self, windows: Windows, now_us: int) -> WindowTotals:
        day = self._windows.get(windows.day_key)
        month = self._windows.get(windows.month_key)
        day_res = month_res = 0
        for r in self._reservations.values():  # expired or not: a reservation counts until charged
            if r.windows.month == windows.month:
                month_res += r.amount_micro
                if r.windows.day == windows.day:
                    day_res += r.amount_micro
        return WindowTotals(
            day_spent=day.spent if day else 0,
            day_reserved=day_res,
            month_spent=month.spent if month else 0,
            month_reserved=month_res,
        )

    def reserve(self, row: ReservationRow, limits: Limits, now_us: int) -> WindowTotals:
        with self._lock:
            self._check_open()
            totals = self._totals(row.windows, now_us)
            refused = check_limits(totals, row.amount_micro, limits, row.windows)
            if refused is not None:
                raise refused
            self._reservations[row.id] = row
            after = WindowTotals(
                totals.day_spent,
                totals.day_reserved + row.amount_micro,
                totals.month_spent,
                totals.month_reserved + row.amount_micro,
            )
            if self.audit_hook is not None:
                after = self._totals(row.windows, now_us)
                self.audit_hook(row.id, after)
            return after

    def settle(self, spend: SpendRow, reservation_id: str | None) -> int:
        with self._lock:
            self._check_open()
            known = self._spend.get(spend.call_id)
            if known is not None and spend.call_id not in self._orphaned:
                return known.cost_micro
            if known is None:
                self._spend[spend.call_id] = spend
                if reservation_id is not None:
                    self._reservations.pop(reservation_id, None)
                self._count(spend.windows, spend.cost_micro, 1, int(spend.cost_estimated))
                return spend.cost_micro
            # the real figure of a call whose reservation was charged as orphaned: it replaces the charge
            self._orphaned.discard(spend.call_id)
            self._spend[spend.call_id] = replace(
                spend, windows=known.windows, reserved_micro=known.reserved_micro)
            self._count(known.windows, spend.cost_micro - known.cost_micro, 0, int(spend.cost_estimated) - 1)
            return spend.cost_micro

    def _count(self, windows: Windows, spent: int, calls: int, estimated: int) -> None:
        for key in (windows.month_key, windows.day_key):
            w = self._windows.setdefault(key, _Window())
            w.spent += spent
            w.calls += calls
            w.estimated_calls += estimated

    def release(self, reservation_id: str) -> bool:
        with self._lock:
            self._check_open()
            return self._reservations.pop(reservation_id, None) is not None

    def totals(self, windows: Windows, now_us: int) -> WindowTotals:
        with self._lock:
            self._check_open()
            return self._totals(windows, now_us)

    def stats(self, windows: Windows, now_us: int) -> tuple[WindowStats, WindowStats]:
        with self._lock:
            self._check_open()
            totals = self._totals(windows, now_us)
            result = []
            window_of: tuple[tuple[str, int, int, Callable[[Windows], bool]], ...] = (
                (windows.day_key, totals.day_spent, totals.day_reserved, lambda w: w.day == windows.day),
                (windows.month_key, totals.month_spent, totals.month_reserved, lambda w: w.month == windows.month),
            )
            for key, spent, reserved, match in window_of:
                w = self._windows.get(key) or _Window()
                by_model: dict[str, dict[str, int]] = {}
                orphaned_calls = orphaned_micro = 0
                for s in self._spend.values():
                    if match(s.windows):
                        if s.call_id in self._orphaned:
                            orphaned_calls += 1
                            orphaned_micro += s.cost_micro
                        m = by_model.setdefault(
                            f"{s.provider}/{s.model}",
                            {"cost_micro": 0, "calls": 0, "tokens_in": 0, "tokens_out": 0},
                        )
                        m["cost_micro"] += s.cost_micro
                        m["calls"] += 1
                        m["tokens_in"] += s.tokens_in
                        m["tokens_out"] += s.tokens_out
                open_count = sum(1 for r in self._reservations.values() if match(r.windows))
                result.append(WindowStats(spent, reserved, w.calls, w.estimated_calls, open_count, by_model,
                                          orphaned_calls, orphaned_micro))
            return result[0], result[1]

    def reclaim_expired(self, now_us: int) -> Reclaimed:
        with self._lock:
            self._check_open()
            expired = [r for r in self._reservations.values() if r.expires_us <= now_us]
            count = amount = 0
            for r in expired:
                del self._reservations[r.id]
                if r.id in self._spend:  # already settled: nothing more to charge
                    continue
                self._spend[r.id] = SpendRow(r.id, from_epoch_us(now_us), r.windows, r.provider, r.model, 0, 0,
                                             r.amount_micro, True, r.amount_micro)
                self._orphaned.add(r.id)
                self._count(r.windows, r.amount_micro, 1, 1)
                count, amount = count + 1, amount + r.amount_micro
            return Reclaimed(count, amount)

    def schema_version(self) -> int:
        return 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
