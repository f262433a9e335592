"""The routing log on SQLite: WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` for every write.

The file is the same one the budget ledger uses by default (``budget/sqlite.py``). Only the writer
creates it (and its directory); readers of a missing file see an empty log.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ...budget.sqlite import use_wal
from ...migrations import apply_migrations
from .dialect import Dialect, paced
from .schema import INSERT_ATTEMPT, INSERT_REQUEST, MIGRATIONS, SCHEMA_TABLE

log = logging.getLogger("tiered_router.log_store")


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (``BEGIN IMMEDIATE``: a writer waits here, not halfway through):
    committed at the end, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


class SqliteDialect(Dialect):
    kind = "sqlite"
    types: ClassVar[dict[str, str]] = {"int": "INTEGER", "bigint": "INTEGER", "real": "REAL", "bool": "INTEGER"}

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        if path.startswith("sqlite:///"):
            path = path[len("sqlite:///"):]
        self.path = path if path == ":memory:" else str(Path(path).expanduser())
        self.description = self.path
        self.busy_timeout_s = busy_timeout_s

    def exists(self) -> bool:
        return self.path != ":memory:" and Path(self.path).is_file()

    def connect(self, *, create: bool) -> sqlite3.Connection:
        if create and self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            if create:
                use_wal(conn, self.busy_timeout_s)  # retried: a new file's switch to WAL does not wait
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def migrate(self, conn: sqlite3.Connection) -> None:
        with _immediate(conn):
            apply_migrations(
                conn.execute,
                lambda: conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA_TABLE}").fetchone()[0],
                MIGRATIONS, table=SCHEMA_TABLE, postgres=False, what="routing log", description=self.description,
                log=log, render=self.render,
            )

    def write(self, conn: sqlite3.Connection, requests: list[tuple[Any, ...]],
              attempts: list[tuple[Any, ...]]) -> None:
        with _immediate(conn):
            conn.executemany(INSERT_REQUEST, paced(requests))
            if attempts:
                conn.executemany(INSERT_ATTEMPT, paced(attempts))

    def transaction(self, conn: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with _immediate(conn):
            for sql, params in statements:
                conn.execute(sql, tuple(params))

    def execute(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, tuple(params)).fetchall()

    def prune(self, conn: sqlite3.Connection, cutoff_key: str | None, max_rows: int | None) -> int:
        def run(sql: str, params: Sequence[Any]) -> Any:
            cur = conn.execute(sql, tuple(params))
            return cur.fetchall() if sql.startswith("SELECT") else cur.rowcount

        with _immediate(conn):
            removed = self._prune_statements(cutoff_key, max_rows, run)
        return removed

    def missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)

    def unavailable(self, exc: BaseException, conn: Any) -> bool:
        # Locked, busy, read-only, full, I/O error, no such table: OperationalError. A refused value is an
        # IntegrityError (NOT NULL), an OverflowError or a UnicodeEncodeError instead.
        return isinstance(exc, sqlite3.OperationalError)

    def refused(self, exc: BaseException) -> bool:
        return super().refused(exc) or isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError)
