"""What the routing log needs from a database (``Dialect``), and ``open_dialect`` to pick one.

A dialect opens connections, applies the migrations, writes a batch in one transaction, runs reads and
deletes old rows, and tells a database that cannot be used (``unavailable``) from values it refuses
(``refused``). It never decides *when*: the writer (``writer.py``) and the readers (``log_store.py``)
do, and they hold the connections. ``sqlite.py`` and ``postgres.py`` are the two dialects, in the way
``budget/sqlite.py`` and ``budget/postgres.py`` implement the budget ``Ledger``.

The writer runs beside the server's event loop, in the same process: while it holds the GIL, the loop
cannot answer. So its work comes in chunks of ``CHUNK`` rows (about 0.2 ms each), and ``pause()`` hands
the GIL over between two chunks.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

from ...budget.money import redact_text

T = TypeVar("T")

CHUNK = 32  # records converted, or rows sent, between two pauses
_PAUSE_S = 0.0001


def pause() -> None:
    """Let another thread take the GIL. A real sleep, however short: ``sleep(0)`` gives the GIL up for so
    short a time that a waiting thread rarely wakes in time to take it, and then waits a whole switch
    interval (5 ms) more."""
    time.sleep(_PAUSE_S)


def paced(rows: Sequence[T]) -> Iterator[T]:
    """``rows`` one by one, with a ``pause()`` after every ``CHUNK``: handed to ``executemany``, which takes
    them as it goes, so one call (one cursor, one prepared statement) still lets the loop in."""
    for index, row in enumerate(rows):
        if index and index % CHUNK == 0:
            pause()
        yield row


class Dialect:
    """One database kind. Connections are opaque to the callers (``Any``): each dialect knows its own."""

    kind = "abstract"
    description = ""
    types: ClassVar[dict[str, str]] = {}

    def exists(self) -> bool:
        """Whether there may be a database to read (a missing SQLite file is not created by readers)."""
        return True

    def connect(self, *, create: bool) -> Any:
        raise NotImplementedError

    def migrate(self, conn: Any) -> None:
        raise NotImplementedError

    def write(self, conn: Any, requests: list[tuple[Any, ...]], attempts: list[tuple[Any, ...]]) -> None:
        """Insert the rows in one transaction, ``paced()``; on any error, nothing is written."""
        raise NotImplementedError

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def prune(self, conn: Any, cutoff_key: str | None, max_rows: int | None) -> int:
        raise NotImplementedError

    def transaction(self, conn: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Execute ``statements`` (``?`` placeholders) in one transaction: all of them or none."""
        raise NotImplementedError

    def missing_table(self, exc: BaseException) -> bool:
        return False

    def unavailable(self, exc: BaseException, conn: Any) -> bool:
        """Whether ``exc`` says the database cannot be used now (down, locked, full, the connection lost),
        so that no row is to blame and retrying them one by one would only wait again."""
        return True

    def refused(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the database refused the values themselves (out of range, not encodable)."""
        return isinstance(exc, ValueError | TypeError | OverflowError)  # UnicodeEncodeError is a ValueError

    def close(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.close()

    def render(self, sql: str) -> str:
        return sql.format(**self.types)

    def error_text(self, exc: BaseException) -> str:
        return redact_text(str(exc).strip() or type(exc).__name__)

    def _prune_statements(self, cutoff_key: str | None, max_rows: int | None,
                          run: Callable[[str, Sequence[Any]], Any]) -> int:
        """The retention deletes, shared by both dialects; ``run`` executes one statement inside the
        caller's transaction and returns the rows of a SELECT or the row count of a DELETE."""
        removed = 0
        cutoffs = []
        if cutoff_key is not None:
            cutoffs.append(cutoff_key)
        if max_rows is not None:
            rows = run("SELECT log_id FROM router_requests ORDER BY log_id DESC LIMIT 1 OFFSET ?", (max_rows - 1,))
            if rows:
                cutoffs.append(rows[0][0])  # the oldest row to keep
        for cutoff in cutoffs:
            run("DELETE FROM router_attempts WHERE log_id < ?", (cutoff,))
            run("DELETE FROM router_judgements WHERE log_id < ?", (cutoff,))
            removed += int(run("DELETE FROM router_requests WHERE log_id < ?", (cutoff,)))
        return removed


def open_dialect(db: str, busy_timeout_s: float) -> Dialect:
    """The dialect for ``db``: a ``postgresql://`` URL or a SQLite path. No I/O happens here."""
    # The dialect modules are imported on use, so a SQLite-only router never loads psycopg.
    if db.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresDialect

        return PostgresDialect(db)
    if db.startswith("memory:"):
        raise ValueError("the routing log needs a SQLite path or a postgresql:// URL, not memory://")
    from .sqlite import SqliteDialect

    return SqliteDialect(db, busy_timeout_s)
