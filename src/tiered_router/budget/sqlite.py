"""SQLite ledger: WAL, ``synchronous=NORMAL``, one reused connection per tracker, ``BEGIN IMMEDIATE``.

``BEGIN IMMEDIATE`` takes SQLite's single write lock before the limit is read, so the check and the
insert of a reservation are one atomic step across every thread and process using the file. Other
writers wait up to ``busy_timeout_s`` and then fail closed (``LedgerUnavailable``). Readers never
block writers in WAL mode.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

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

log = logging.getLogger("tiered_router.budget")


def use_wal(conn: sqlite3.Connection, timeout_s: float) -> str:
    """Put ``conn``'s database in WAL mode; the journal mode it is in after (``memory`` for ``:memory:``).

    Switching a new file to WAL needs the file to itself, and when another connection has it open SQLite
    answers "database is locked" at once, without waiting out the busy timeout. Two connections opening a new
    file together (the budget ledger and the routing log share one by default) saw one of them fail, one time
    in six; the switch is retried here for up to ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)  # on the connecting thread, never an event loop's
        delay = min(delay * 2, 0.05)

# Numbered migrations. Never edit one that has shipped: append a new number.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # WITHOUT ROWID tables keyed by their natural key: one b-tree, so one page written per
            # change (WAL writes are what a commit costs).
            """CREATE TABLE IF NOT EXISTS budget_windows (
                window_key      TEXT PRIMARY KEY,
                spent_micro     INTEGER NOT NULL DEFAULT 0,
                calls           INTEGER NOT NULL DEFAULT 0,
                estimated_calls INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID""",
            # Only open reservations live here (settle, release and reclaim delete them), so it stays
            # small and is scanned without secondary indexes.
            """CREATE TABLE IF NOT EXISTS budget_reservations (
                id           TEXT PRIMARY KEY,
                provider     TEXT NOT NULL,
                model        TEXT NOT NULL,
                amount_micro INTEGER NOT NULL CHECK (amount_micro >= 0),
                created_us   INTEGER NOT NULL,
                expires_us   INTEGER NOT NULL,
                day_key      TEXT NOT NULL,
                month_key    TEXT NOT NULL
            ) WITHOUT ROWID""",
            # One row per settled call. call_id (time-ordered) is the reservation id, or a fresh id
            # for record_spend; its uniqueness makes settle idempotent.
            """CREATE TABLE IF NOT EXISTS budget_spend (
                call_id        TEXT PRIMARY KEY,
                ts             TEXT NOT NULL,
                day_key        TEXT NOT NULL,
                month_key      TEXT NOT NULL,
                provider       TEXT NOT NULL,
                model          TEXT NOT NULL,
                tokens_in      INTEGER NOT NULL,
                tokens_out     INTEGER NOT NULL,
                cost_micro     INTEGER NOT NULL,
                cost_estimated INTEGER NOT NULL DEFAULT 0,
                reserved_micro INTEGER
            ) WITHOUT ROWID""",
            "CREATE INDEX IF NOT EXISTS budget_spend_window ON budget_spend (month_key, day_key)",
        ],
    ),
    # A spend row charged by reclaim_expired for a reservation nobody settled within its TTL. A late settle of
    # that call replaces it (and clears the flag).
    (2, ["ALTER TABLE budget_spend ADD COLUMN orphaned INTEGER NOT NULL DEFAULT 0"]),
]
LATEST_VERSION = MIGRATIONS[-1][0]

# Every reservation counts, expired or not: an expired one holds its money until reclaim_expired charges it.
_TOTALS_SQL = """
SELECT
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = ?1), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations WHERE month_key = ?3 AND day_key = ?4), 0),
  COALESCE((SELECT spent_micro FROM budget_windows WHERE window_key = ?2), 0),
  COALESCE((SELECT SUM(amount_micro) FROM budget_reservations WHERE month_key = ?3), 0)
"""
_INSERT_RESERVATION = """
INSERT INTO budget_reservations (id, provider, model, amount_micro, created_us, expires_us, day_key, month_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_SPEND = """
INSERT INTO budget_spend (call_id, ts, day_key, month_key, provider, model, tokens_in, tokens_out,
                          cost_micro, cost_estimated, reserved_micro)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (call_id) DO NOTHING
"""
_ADD_TO_WINDOW = """
INSERT INTO budget_windows (window_key, spent_micro, calls, estimated_calls) VALUES (?, ?, ?, ?)
ON CONFLICT (window_key) DO UPDATE SET
  spent_micro = spent_micro + excluded.spent_micro,
  calls = calls + excluded.calls,
  estimated_calls = estimated_calls + excluded.estimated_calls
"""
_CHARGE_ORPHAN = """
INSERT INTO budget_spend (call_id, ts, day_key, month_key, provider, model, tokens_in, tokens_out,
                          cost_micro, cost_estimated, reserved_micro, orphaned)
VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, 1, ?, 1)
ON CONFLICT (call_id) DO NOTHING
"""
_REPLACE_ORPHAN = """
UPDATE budget_spend SET ts = ?, tokens_in = ?, tokens_out = ?, cost_micro = ?, cost_estimated = ?, orphaned = 0
WHERE call_id = ?
"""


class SqliteLedger(Ledger):
    kind = "sqlite"

    def __init__(self, path: str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = path
        self.description = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            if path != ":memory:" and not path.startswith("file:"):
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(Path(path).expanduser()) if path != ":memory:" else path,
                timeout=busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
                cached_statements=256,
            )
        except (sqlite3.Error, OSError) as exc:
            raise LedgerUnavailable(f"cannot open the SQLite budget ledger at {path}: {exc}") from exc
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            mode = use_wal(conn, busy_timeout_s)
            if str(mode).lower() != "wal" and path != ":memory:":
                log.warning("SQLite budget ledger %s is in journal_mode=%s, not WAL", path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise LedgerUnavailable(f"cannot open the SQLite budget ledger at {path}: {exc}") from exc

    # -- plumbing --------------------------------------------------------------------------------
    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply_migrations(
                conn.execute,
                lambda: conn.execute("SELECT COALESCE(MAX(version), 0) FROM budget_schema_version").fetchone()[0],
                MIGRATIONS, table="budget_schema_version", postgres=False, what="budget ledger",
                description=self.path, log=log,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _tx(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise LedgerUnavailable(f"the SQLite budget ledger {self.path} is closed")
            try:
                conn.execute(begin)
            except sqlite3.Error as exc:
                raise LedgerUnavailable(f"SQLite budget ledger {self.path} unavailable: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BudgetError:
                _rollback(conn)
                raise
            except sqlite3.Error as exc:
                _rollback(conn)
                raise LedgerUnavailable(f"SQLite budget ledger {self.path} unavailable: {exc}") from exc
            except BaseException:
                _rollback(conn)
                raise

    @staticmethod
    def _read_totals(conn: sqlite3.Connection, windows: Windows, now_us: int) -> WindowTotals:
        row = conn.execute(
            _TOTALS_SQL, (windows.day_key, windows.month_key, windows.month, windows.day)
        ).fetchone()
        return WindowTotals(row[0], row[1], row[2], row[3])

    # -- Ledger ----------------------------------------------------------------------------------
    def reserve(self, row: ReservationRow, limits: Limits, now_us: int) -> WindowTotals:
        w = row.windows
        with self._tx() as conn:
            totals = self._read_totals(conn, w, now_us)
            refused = check_limits(totals, row.amount_micro, limits, w)
            if refused is not None:
                raise refused
            conn.execute(
                _INSERT_RESERVATION,
                (row.id, row.provider, row.model, row.amount_micro, row.created_us, row.expires_us, w.day, w.month),
            )
            if self.audit_hook is not None:
                after = self._read_totals(conn, w, now_us)
                self.audit_hook(row.id, after)
                return after
        return WindowTotals(
            totals.day_spent,
            totals.day_reserved + row.amount_micro,
            totals.month_spent,
            totals.month_reserved + row.amount_micro,
        )

    def settle(self, spend: SpendRow, reservation_id: str | None) -> int:
        w = spend.windows
        with self._tx() as conn:
            cur = conn.execute(
                _INSERT_SPEND,
                (
                    spend.call_id,
                    spend.ts.isoformat(),
                    w.day,
                    w.month,
                    spend.provider,
                    spend.model,
                    spend.tokens_in,
                    spend.tokens_out,
                    spend.cost_micro,
                    int(spend.cost_estimated),
                    spend.reserved_micro,
                ),
            )
            est = int(spend.cost_estimated)
            if cur.rowcount == 0:
                cost, orphaned, day, month = conn.execute(
                    "SELECT cost_micro, orphaned, day_key, month_key FROM budget_spend WHERE call_id = ?",
                    (spend.call_id,)).fetchone()
                if not orphaned:  # already settled: idempotent
                    return int(cost)
                # the real figure of a call whose reservation was charged as orphaned replaces that charge
                conn.execute(_REPLACE_ORPHAN, (spend.ts.isoformat(), spend.tokens_in, spend.tokens_out,
                                               spend.cost_micro, est, spend.call_id))
                charged = Windows(day, month)
                for key in (charged.month_key, charged.day_key):
                    conn.execute(_ADD_TO_WINDOW, (key, spend.cost_micro - cost, 0, est - 1))
                return spend.cost_micro
            if reservation_id is not None:
                conn.execute("DELETE FROM budget_reservations WHERE id = ?", (reservation_id,))
            conn.execute(_ADD_TO_WINDOW, (w.month_key, spend.cost_micro, 1, est))
            conn.execute(_ADD_TO_WINDOW, (w.day_key, spend.cost_micro, 1, est))
        return spend.cost_micro

    def release(self, reservation_id: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute("DELETE FROM budget_reservations WHERE id = ?", (reservation_id,))
            return cur.rowcount > 0

    def totals(self, windows: Windows, now_us: int) -> WindowTotals:
        with self._tx("BEGIN") as conn:  # a deferred read transaction: one consistent snapshot
            return self._read_totals(conn, windows, now_us)

    def stats(self, windows: Windows, now_us: int) -> tuple[WindowStats, WindowStats]:
        with self._tx("BEGIN") as conn:
            totals = self._read_totals(conn, windows, now_us)
            out = []
            for key, column, value, spent, reserved in (
                (windows.day_key, "day_key", windows.day, totals.day_spent, totals.day_reserved),
                (windows.month_key, "month_key", windows.month, totals.month_spent, totals.month_reserved),
            ):
                counters = conn.execute(
                    "SELECT calls, estimated_calls FROM budget_windows WHERE window_key = ?", (key,)
                ).fetchone() or (0, 0)
                by_model: dict[str, dict[str, int]] = {}
                orphaned_calls = orphaned_micro = 0
                for provider, model, cost, calls, tin, tout, orphans, orphaned in conn.execute(
                    "SELECT provider, model, SUM(cost_micro), COUNT(*), SUM(tokens_in), SUM(tokens_out),"
                    " SUM(orphaned), SUM(CASE WHEN orphaned THEN cost_micro ELSE 0 END)"
                    f" FROM budget_spend WHERE month_key = ? AND {column} = ? GROUP BY provider, model",
                    (windows.month, value),
                ):
                    by_model[f"{provider}/{model}"] = {
                        "cost_micro": cost, "calls": calls, "tokens_in": tin, "tokens_out": tout}
                    orphaned_calls += orphans
                    orphaned_micro += orphaned
                open_count = conn.execute(
                    f"SELECT COUNT(*) FROM budget_reservations WHERE month_key = ? AND {column} = ?",
                    (windows.month, value),
                ).fetchone()[0]
                out.append(WindowStats(spent, reserved, counters[0], counters[1], open_count, by_model,
                                       orphaned_calls, orphaned_micro))
            return out[0], out[1]

    def reclaim_expired(self, now_us: int) -> Reclaimed:
        # One IMMEDIATE transaction: no other process settles, reclaims or reserves in between.
        ts = from_epoch_us(now_us).isoformat()
        charged = Reclaimed()
        by_window: dict[str, tuple[int, int]] = {}  # window key -> (amount, calls) charged there
        with self._tx() as conn:
            expired = conn.execute(
                "SELECT id, provider, model, amount_micro, day_key, month_key FROM budget_reservations"
                " WHERE expires_us <= ?", (now_us,)).fetchall()
            for rid, provider, model, amount, day, month in expired:
                if conn.execute(_CHARGE_ORPHAN, (rid, ts, day, month, provider, model, amount, amount)).rowcount:
                    charged = Reclaimed(charged.count + 1, charged.amount_micro + amount)
                    w = Windows(day, month)
                    for key in (w.month_key, w.day_key):
                        total, calls = by_window.get(key, (0, 0))
                        by_window[key] = (total + amount, calls + 1)
            for key, (total, calls) in by_window.items():
                conn.execute(_ADD_TO_WINDOW, (key, total, calls, calls))
            conn.execute("DELETE FROM budget_reservations WHERE expires_us <= ?", (now_us,))
        return charged

    def schema_version(self) -> int:
        with self._tx("BEGIN") as conn:
            return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM budget_schema_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _rollback(conn: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):
        conn.execute("ROLLBACK")
