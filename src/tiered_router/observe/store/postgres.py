"""The routing log on PostgreSQL (psycopg 3): autocommit connections, one transaction per batch.

The writer and the readers each hold one connection, each behind its own lock (``writer.py``,
``log_store.py``); there is no pool. Migrations of processes that start together are serialised
by a transaction-scoped advisory lock. Error texts have the password taken out: they end up in
warnings and in ``LogStoreError``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ...budget.money import redact_text, redact_url
from ...migrations import apply_migrations
from .dialect import Dialect, paced
from .schema import INSERT_ATTEMPT, INSERT_REQUEST, MIGRATIONS, SCHEMA_TABLE

log = logging.getLogger("tiered_router.log_store")

_MIGRATION_LOCK_KEY = 0x7452_4C6F_6753  # "tRLogS": serialises migrations of concurrent processes


class PostgresDialect(Dialect):
    kind = "postgres"
    types: ClassVar[dict[str, str]] = {
        "int": "INTEGER", "bigint": "BIGINT", "real": "DOUBLE PRECISION", "bool": "BOOLEAN"}

    def __init__(self, url: str, connect_timeout_s: int = 5) -> None:
        self.description = redact_url(url)
        params: dict[str, Any] = conninfo_to_dict(url)
        self._secret = params.get("password") or None
        params.setdefault("connect_timeout", str(connect_timeout_s))
        params.setdefault("application_name", "tiered-router-log")
        self._conninfo = make_conninfo(**params)

    def connect(self, *, create: bool) -> Any:
        return psycopg.connect(self._conninfo, autocommit=True)

    def error_text(self, exc: BaseException) -> str:
        return redact_text(str(exc).strip() or type(exc).__name__, self._secret)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def migrate(self, conn: Any) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))

            def version() -> int:
                cur.execute(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA_TABLE}")
                row = cur.fetchone()
                return int(row[0]) if row else 0

            apply_migrations(cur.execute, version, MIGRATIONS, table=SCHEMA_TABLE, postgres=True,
                             what="routing log", description=self.description, log=log, render=self.render)

    def write(self, conn: Any, requests: list[tuple[Any, ...]], attempts: list[tuple[Any, ...]]) -> None:
        # psycopg prepares all of one executemany's rows before it lets go of the GIL, unless paced.
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(self._sql(INSERT_REQUEST), paced(requests))
            if attempts:
                cur.executemany(self._sql(INSERT_ATTEMPT), paced(attempts))

    def transaction(self, conn: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(self._sql(sql), tuple(params))

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return cur.fetchall() if cur.description is not None else []

    def prune(self, conn: Any, cutoff_key: str | None, max_rows: int | None) -> int:
        with conn.transaction(), conn.cursor() as cur:
            def run(sql: str, params: Sequence[Any]) -> Any:
                cur.execute(self._sql(sql), tuple(params))
                return cur.fetchall() if sql.startswith("SELECT") else cur.rowcount

            return self._prune_statements(cutoff_key, max_rows, run)

    def missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.UndefinedTable)

    def unavailable(self, exc: BaseException, conn: Any) -> bool:
        # A NUL byte or an out-of-range number is a DataError on a connection that still works.
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or conn is None or conn.broken \
            or conn.closed

    def refused(self, exc: BaseException) -> bool:
        return super().refused(exc) or isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
