"""PostgreSQL ledger (psycopg 3): a small connection pool and a row lock per budget month.

Reserve is one transaction, sent in one round trip (pipeline mode): create the month's window row
if needed, ``SELECT ... FROM budget_windows WHERE window_key = 'month:…' FOR UPDATE``, then — as a
new statement, so with a snapshot that sees everything committed before the lock was granted — read
spent + open reservations of the day and month and insert the reservation only if it fits.
Settle is one statement: record the spend (unless the call is already recorded, or replace an orphaned
charge of it), drop the reservation, and add to the month row then the day row. Reclaim is one statement
too: delete the expired reservations and charge each as spend, months then days. Every writer takes the
month row first, so there is a single lock order and no deadlock. Release only ever *lowers* the reserved
total, so it needs no window lock.

Connections that fail are dropped and the operation is retried once on a fresh connection; every
write is idempotent (client-generated ids), so a retry after an unknown commit outcome is safe.
Tables are created in the connection's current schema (the first entry of ``search_path``).

The pool is this module's own, not ``psycopg_pool``: the ledger must fail closed at once when the server
refuses connections (a reservation then fails in milliseconds), while ``psycopg_pool`` waits up to its
timeout for a connection its background workers keep failing to make.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..migrations import apply_migrations
from .errors import BudgetError, LedgerUnavailable
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
from .money import redact_text, redact_url
from .postgres_sql import (
    ENSURE_WINDOW,
    INSERT_RESERVATION,
    LOCK_WINDOW,
    MIGRATION_LOCK_KEY,
    MIGRATIONS,
    RECLAIM,
    RESERVE_IF_FITS,
    SETTLE,
    TOTALS_SQL,
)

log = logging.getLogger("tiered_router.budget")

T = TypeVar("T")

class PostgresLedger(Ledger):
    kind = "postgres"

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout_s: int = 5) -> None:
        self.description = redact_url(url)
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        try:
            params: dict[str, Any] = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise LedgerUnavailable(
                f"invalid PostgreSQL URL {self.description}: {redact_text(str(exc))}"
            ) from None
        self._secret = params.get("password") or None
        params.setdefault("connect_timeout", str(connect_timeout_s))
        params.setdefault("application_name", "tiered-router-budget")
        self._conninfo = make_conninfo(**params)
        self._slots = threading.BoundedSemaphore(pool_size)
        self._idle: list[psycopg.Connection[Any]] = []
        self._all: set[psycopg.Connection[Any]] = set()
        self._pool_lock = threading.Lock()
        self._closed = False
        self._run(self._migrate, "migrate")

    # -- plumbing --------------------------------------------------------------------------------
    def _error(self, what: str, exc: BaseException) -> LedgerUnavailable:
        msg = redact_text(str(exc).strip(), self._secret)
        return LedgerUnavailable(f"PostgreSQL budget ledger {self.description} unavailable ({what}): {msg}")

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self._error("connect", exc) from None
        with self._pool_lock:
            self._all.add(conn)
        return conn

    def _checkout(self) -> psycopg.Connection[Any]:
        if not self._slots.acquire(timeout=30):
            raise LedgerUnavailable(f"PostgreSQL budget ledger {self.description}: no free connection in 30 s")
        try:
            with self._pool_lock:
                if self._closed:
                    raise LedgerUnavailable(f"the PostgreSQL budget ledger {self.description} is closed")
                conn = self._idle.pop() if self._idle else None
            if conn is not None and (conn.closed or conn.broken):
                self._discard(conn)
                conn = None
            return conn if conn is not None else self._connect()
        except BaseException:
            self._slots.release()
            raise

    def _checkin(self, conn: psycopg.Connection[Any], healthy: bool) -> None:
        try:
            if healthy and not conn.closed and not conn.broken:
                with self._pool_lock:
                    if not self._closed:
                        self._idle.append(conn)
                        return
            self._discard(conn)
        finally:
            self._slots.release()

    def _discard(self, conn: psycopg.Connection[Any]) -> None:
        with self._pool_lock:
            self._all.discard(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def _run(self, fn: Callable[[psycopg.Cursor[Any], bool], T], what: str) -> T:
        """Run ``fn(cursor, retrying)`` in a transaction; see ``_run_conn``."""

        def in_tx(conn: psycopg.Connection[Any], retrying: bool) -> T:
            with conn.transaction(), conn.cursor() as cur:
                return fn(cur, retrying)

        return self._run_conn(in_tx, what)

    def _run_conn(self, fn: Callable[[psycopg.Connection[Any], bool], T], what: str) -> T:
        """Run ``fn(connection, retrying)``; retry once on a fresh connection if the connection
        failed (or a deadlock/serialisation failure rolled it back). Any other database error fails
        closed as ``LedgerUnavailable``."""
        last: BaseException | None = None
        for attempt in range(2):
            conn = self._checkout()
            healthy = False
            try:
                result = fn(conn, attempt > 0)
                healthy = True
                return result
            except BudgetError:
                healthy = True  # rolled back by the transaction block; the connection is fine
                raise
            except psycopg.OperationalError as exc:
                last = exc
                healthy = not conn.broken
                log.warning("budget ledger %s: %s failed (%s), retrying", self.description, what, exc)
                continue
            except psycopg.Error as exc:
                healthy = not conn.broken
                raise self._error(what, exc) from None
            finally:
                self._checkin(conn, healthy)
        assert last is not None
        raise self._error(what, last) from None

    def _migrate(self, cur: psycopg.Cursor[Any], retrying: bool) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))

        def version() -> int:
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM budget_schema_version")
            return _one(cur)

        apply_migrations(cur.execute, version, MIGRATIONS, table="budget_schema_version", postgres=True,
                         what="budget ledger", description=self.description, log=log)

    @staticmethod
    def _query_totals(cur: psycopg.Cursor[Any], windows: Windows, now_us: int) -> None:
        cur.execute(
            TOTALS_SQL,
            {"dk": windows.day_key, "mk": windows.month_key, "m": windows.month, "d": windows.day},
        )

    @classmethod
    def _read_totals(cls, cur: psycopg.Cursor[Any], windows: Windows, now_us: int) -> WindowTotals:
        cls._query_totals(cur, windows, now_us)
        return _totals_row(cur)

    @staticmethod
    def _lock_month(cur: psycopg.Cursor[Any], windows: Windows) -> None:
        """Lock the month's window row (creating it first). Every writer of a month's windows
        takes this lock before touching the day row, so there is one lock order."""
        cur.execute(ENSURE_WINDOW, (windows.month_key,))
        cur.execute(LOCK_WINDOW, (windows.month_key,))
        cur.execute(ENSURE_WINDOW, (windows.day_key,))

    # -- Ledger ----------------------------------------------------------------------------------
    def reserve(self, row: ReservationRow, limits: Limits, now_us: int) -> WindowTotals:
        w = row.windows
        params = {
            "id": row.id,
            "provider": row.provider,
            "model": row.model,
            "amt": row.amount_micro,
            "created": row.created_us,
            "expires": row.expires_us,
            "d": w.day,
            "m": w.month,
            "dk": w.day_key,
            "mk": w.month_key,
            "dlim": limits.day_micro,
            "mlim": limits.month_micro,
        }
        hook = self.audit_hook

        def op(conn: psycopg.Connection[Any], retrying: bool) -> WindowTotals:
            if retrying:
                return self._reserve_retry(conn, row, limits, now_us)
            # One round trip: BEGIN, lock the month row, check-and-insert, (audit), COMMIT.
            # (Cursors stay open after the block: their results arrive when the pipeline syncs.)
            lock, cur, audit = conn.cursor(), conn.cursor(), conn.cursor()
            try:
                with conn.pipeline(), conn.transaction():
                    self._lock_month(lock, w)
                    cur.execute(RESERVE_IF_FITS, params)
                    if hook is not None:  # re-read inside the transaction, still under the lock
                        self._query_totals(audit, w, now_us)
                got = cur.fetchone()
                after = _totals_row(audit) if hook is not None else None
            finally:
                for c in (lock, cur, audit):
                    c.close()
            assert got is not None
            totals = WindowTotals(int(got[0]), int(got[1]), int(got[2]), int(got[3]))
            if not got[4]:
                raise check_limits(totals, row.amount_micro, limits, w) or LedgerUnavailable(
                    "budget ledger disagreed with itself about a limit check"
                )
            if hook is not None and after is not None:
                hook(row.id, after)
                return after
            return WindowTotals(
                totals.day_spent,
                totals.day_reserved + row.amount_micro,
                totals.month_spent,
                totals.month_reserved + row.amount_micro,
            )

        return self._run_conn(op, "reserve")

    def _reserve_retry(
        self, conn: psycopg.Connection[Any], row: ReservationRow, limits: Limits, now_us: int
    ) -> WindowTotals:
        """The plain (unpipelined) reserve, used when retrying: the first attempt may have
        committed before its connection broke, so look for the reservation first."""
        w = row.windows
        with conn.transaction(), conn.cursor() as cur:
            self._lock_month(cur, w)
            cur.execute("SELECT 1 FROM budget_reservations WHERE id = %s", (row.id,))
            if cur.fetchone() is not None:
                return self._read_totals(cur, w, now_us)
            totals = self._read_totals(cur, w, now_us)
            refused = check_limits(totals, row.amount_micro, limits, w)
            if refused is not None:
                raise refused
            cur.execute(
                INSERT_RESERVATION,
                (row.id, row.provider, row.model, row.amount_micro, row.created_us, row.expires_us, w.day, w.month),
            )
            after = self._read_totals(cur, w, now_us)
            if self.audit_hook is not None:
                self.audit_hook(row.id, after)
            return after

    def settle(self, spend: SpendRow, reservation_id: str | None) -> int:
        w = spend.windows
        params = {
            "cid": spend.call_id,
            "ts": spend.ts,
            "d": w.day,
            "m": w.month,
            "dk": w.day_key,
            "mk": w.month_key,
            "provider": spend.provider,
            "model": spend.model,
            "tin": spend.tokens_in,
            "tout": spend.tokens_out,
            "cost": spend.cost_micro,
            "est": spend.cost_estimated,
            "reserved": spend.reserved_micro,
            "rid": reservation_id,
        }

        def op(conn: psycopg.Connection[Any], retrying: bool) -> int:
            with conn.cursor() as cur:
                for _ in range(3):
                    cur.execute(SETTLE, params)  # autocommit: the statement is its own transaction
                    got = cur.fetchone()
                    assert got is not None
                    # recorded now, replaced an orphaned charge, or already settled (idempotent)
                    recorded = next((int(v) for v in got if v is not None), None)
                    if recorded is not None:
                        return recorded
                    # a concurrent settle or reclaim of the same call committed after our snapshot: again,
                    # with a snapshot that sees it (an orphaned charge committed meanwhile is then replaced)
                cur.execute("SELECT cost_micro FROM budget_spend WHERE call_id = %s", (spend.call_id,))
                return _one(cur)

        return self._run_conn(op, "settle")

    def release(self, reservation_id: str) -> bool:
        def op(cur: psycopg.Cursor[Any], retrying: bool) -> bool:
            cur.execute("DELETE FROM budget_reservations WHERE id = %s", (reservation_id,))
            return cur.rowcount > 0

        return self._run(op, "release")

    def totals(self, windows: Windows, now_us: int) -> WindowTotals:
        # one statement = one snapshot, even at READ COMMITTED
        return self._run(lambda cur, _r: self._read_totals(cur, windows, now_us), "read totals")

    def stats(self, windows: Windows, now_us: int) -> tuple[WindowStats, WindowStats]:
        def op(cur: psycopg.Cursor[Any], retrying: bool) -> tuple[WindowStats, WindowStats]:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            totals = self._read_totals(cur, windows, now_us)
            out = []
            for key, column, value, spent, reserved in (
                (windows.day_key, "day_key", windows.day, totals.day_spent, totals.day_reserved),
                (windows.month_key, "month_key", windows.month, totals.month_spent, totals.month_reserved),
            ):
                cur.execute("SELECT calls, estimated_calls FROM budget_windows WHERE window_key = %s", (key,))
                counters = cur.fetchone() or (0, 0)
                cur.execute(
                    "SELECT provider, model, SUM(cost_micro), COUNT(*), SUM(tokens_in), SUM(tokens_out),"
                    " COUNT(*) FILTER (WHERE orphaned), COALESCE(SUM(cost_micro) FILTER (WHERE orphaned), 0)"
                    f" FROM budget_spend WHERE month_key = %s AND {column} = %s GROUP BY provider, model",
                    (windows.month, value),
                )
                by_model: dict[str, dict[str, int]] = {}
                orphaned_calls = orphaned_micro = 0
                for provider, model, cost, calls, tin, tout, orphans, orphaned in cur.fetchall():
                    by_model[f"{provider}/{model}"] = {
                        "cost_micro": int(cost), "calls": int(calls), "tokens_in": int(tin), "tokens_out": int(tout)}
                    orphaned_calls += int(orphans)
                    orphaned_micro += int(orphaned)
                cur.execute(
                    f"SELECT COUNT(*) FROM budget_reservations WHERE month_key = %s AND {column} = %s",
                    (windows.month, value),
                )
                out.append(WindowStats(spent, reserved, int(counters[0]), int(counters[1]), _one(cur), by_model,
                                       orphaned_calls, orphaned_micro))
            return out[0], out[1]

        return self._run(op, "summary")

    def reclaim_expired(self, now_us: int) -> Reclaimed:
        def op(cur: psycopg.Cursor[Any], retrying: bool) -> Reclaimed:
            cur.execute(RECLAIM, {"now": now_us, "ts": from_epoch_us(now_us)})
            row = cur.fetchone()
            assert row is not None
            return Reclaimed(int(row[0]), int(row[1]))

        return self._run(op, "reclaim")

    def schema_version(self) -> int:
        def op(cur: psycopg.Cursor[Any], retrying: bool) -> int:
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM budget_schema_version")
            return _one(cur)

        return self._run(op, "schema version")

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            conns = list(self._all)
            self._all.clear()
            self._idle.clear()
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


def _totals_row(cur: psycopg.Cursor[Any]) -> WindowTotals:
    row = cur.fetchone()
    assert row is not None
    return WindowTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _one(cur: psycopg.Cursor[Any]) -> int:
    row = cur.fetchone()
    assert row is not None
    return int(row[0])
