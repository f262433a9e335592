"""A connection of its own for the routing log's small side tables (judgements, learned models).

Their writes are rare and small: one statement each, committed at once (the dialects' connections are in
autocommit mode), never queued behind the writer's batches. The first use connects and applies the
migrations, so an older log gains the side tables there. A failed statement drops the connection (the
next use reconnects) and raises ``LogStoreError`` with the database's reason, password removed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .dialect import Dialect
from .errors import LogStoreError

T = TypeVar("T")


class DirectConnection:
    def __init__(self, dialect: Dialect, description: str) -> None:
        self._dialect = dialect
        self._description = description
        self._lock = threading.Lock()
        self._conn: Any = None

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute one statement (``?`` placeholders) and return its rows (none for a write)."""
        return self._with_connection(lambda conn: self._dialect.execute(conn, sql, params))

    def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Execute write statements in one transaction: all of them or none."""
        self._with_connection(lambda conn: self._dialect.transaction(conn, statements))

    def _with_connection(self, work: Callable[[Any], T]) -> T:
        with self._lock:
            try:
                if self._conn is None:
                    conn = self._dialect.connect(create=True)
                    try:
                        self._dialect.migrate(conn)
                    except BaseException:
                        self._dialect.close(conn)
                        raise
                    self._conn = conn
                return work(self._conn)
            except Exception as exc:
                if self._conn is not None:
                    self._dialect.close(self._conn)
                    self._conn = None
                raise LogStoreError(f"routing log {self._description} unavailable: "
                                    f"{self._dialect.error_text(exc)}") from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._dialect.close(self._conn)
                self._conn = None
