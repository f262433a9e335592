"""The routing log: every routing record stored in the router's database, for ``stats`` and ``log``.

One row per request in ``router_requests`` and one per attempt in ``router_attempts``, in the same
database as the budget ledger: a SQLite file by default, PostgreSQL when ``settings.db`` is a
``postgresql://`` URL. The schema is versioned (``router_schema_version``, numbered migrations).

Writing never slows a request: ``sink`` only appends the record to an in-memory queue. A daemon
thread writes batches (every ``flush_interval_s`` or ``batch_size`` records, one transaction each).
If the database is unavailable the writer logs a (rate-limited) warning, keeps the newest
``max_pending`` records in memory and retries later. ``flush()`` writes everything queued so far;
``close()`` flushes and stops the thread (also run at interpreter exit), so a clean shutdown loses
nothing. Retention (``retention_days``, ``max_rows``) is applied by the writer every
``prune_every_batches`` batches and by ``prune()``.

Column names are the record's field names with the ``router.`` prefix dropped and dots written as
underscores (``gen_ai.usage.input_tokens`` → ``gen_ai_usage_input_tokens``); where the stored unit
differs the name says so (``time`` seconds → ``time_us``, ``router.cost_usd`` → ``cost_micro``).
``REQUEST_COLUMNS`` and ``ATTEMPT_COLUMNS`` are the full mapping. Readers (``recent``, ``get``) give
rows back in the record's own shape, so code that reads records reads the log the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..budget.money import redact_text, redact_url, usd_to_micro
from ..migrations import apply_migrations

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("tiered_router.log_store")

SCHEMA_TABLE = "router_schema_version"
_MIGRATION_LOCK_KEY = 0x7452_4C6F_6753  # "tRLogS": serialises migrations of concurrent processes (PostgreSQL)
_WARN_EVERY_S = 60.0
_MAX_BACKOFF_S = 60.0
MAX_READ_LIMIT = 10_000

# (column, record field, kind). kind: text, int, real, bool, json, time (epoch s ↔ µs), money (USD ↔ µ$).
REQUEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("request_id", "request_id", "text"),
    ("time_us", "time", "time"),
    ("entry_point", "router.entry_point", "text"),
    ("classified_tier", "router.classified_tier", "int"),
    ("score", "router.score", "real"),
    ("reasons", "router.reasons", "json"),
    ("forced_tier", "router.forced_tier", "int"),
    ("final_tier", "router.final_tier", "int"),
    ("gen_ai_provider_name", "gen_ai.provider.name", "text"),
    ("gen_ai_response_model", "gen_ai.response.model", "text"),
    ("escalated", "router.escalated", "bool"),
    ("escalation_reason", "router.escalation_reason", "text"),
    ("degraded", "router.degraded", "bool"),
    ("degraded_reason", "router.degraded_reason", "text"),
    ("quality", "router.quality", "text"),
    ("gen_ai_usage_input_tokens", "gen_ai.usage.input_tokens", "int"),
    ("gen_ai_usage_output_tokens", "gen_ai.usage.output_tokens", "int"),
    ("cost_micro", "router.cost_usd", "money"),
    ("cost_estimated", "router.cost_estimated", "bool"),
    ("latency_ms", "router.latency_ms", "real"),
    ("overhead_ms", "router.overhead_ms", "real"),
    ("status", "router.status", "text"),
    ("error_type", "error.type", "text"),
    ("prompt_sha256", "router.prompt_sha256", "text"),
    ("prompt_chars", "router.prompt_chars", "int"),
    ("answer_chars", "router.answer_chars", "int"),
    # Only filled when the user opted in (TIER_LOG_CONTENT): the record carries no text otherwise.
    ("prompt", "router.prompt", "json"),
    ("answer", "router.answer", "text"),
)
ATTEMPT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("tier", "tier", "int"),
    ("gen_ai_provider_name", "gen_ai.provider.name", "text"),
    ("gen_ai_request_model", "gen_ai.request.model", "text"),
    ("outcome", "router.outcome", "text"),
    ("error_type", "error.type", "text"),
    ("error_message", "router.error", "text"),
    ("quality", "router.quality", "text"),
    ("gen_ai_response_finish_reasons", "gen_ai.response.finish_reasons", "json"),
    ("latency_ms", "router.latency_ms", "real"),
    ("gen_ai_usage_input_tokens", "gen_ai.usage.input_tokens", "int"),
    ("gen_ai_usage_output_tokens", "gen_ai.usage.output_tokens", "int"),
    ("cost_micro", "router.cost_usd", "money"),
)
_OPTIONAL_FIELDS = frozenset({"router.prompt", "router.answer"})  # absent from the record unless opted in
_NOT_NULL = frozenset({"request_id", "time_us", "escalated", "degraded", "cost_micro", "cost_estimated", "status",
                       "outcome", "log_id", "attempt_index"})
_TYPES = {"text": "TEXT", "int": "{int}", "real": "{real}", "bool": "{bool}", "json": "TEXT", "time": "{bigint}",
          "money": "{bigint}"}


def _ddl(table: str, key: Sequence[tuple[str, str]], columns: Sequence[tuple[str, str, str]], pk: str) -> str:
    parts = [f"{name} {sql_type}" + (" NOT NULL" if name in _NOT_NULL else "") for name, sql_type in key]
    parts += [f"{c} {_TYPES[kind]}" + (" NOT NULL" if c in _NOT_NULL else "") for c, _, kind in columns]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(parts) + f",\n  PRIMARY KEY ({pk})\n)"


# Numbered migrations, written once for both dialects ({int}, {bigint}, {real}, {bool} are filled in).
# Never edit one that has shipped: append a new number.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # log_id: 16 hex digits of the record's epoch-µs then 8 random hex digits. Time-ordered (so
            # "newest N" and retention are b-tree ranges) and unique even when a client reuses a request id.
            _ddl("router_requests", [("log_id", "TEXT")], REQUEST_COLUMNS, "log_id"),
            "CREATE INDEX IF NOT EXISTS router_requests_time ON router_requests (time_us)",
            "CREATE INDEX IF NOT EXISTS router_requests_request_id ON router_requests (request_id)",
            _ddl("router_attempts", [("log_id", "TEXT"), ("attempt_index", "{int}"), ("request_id", "TEXT"),
                                     ("time_us", "{bigint}")], ATTEMPT_COLUMNS, "log_id, attempt_index"),
            "CREATE INDEX IF NOT EXISTS router_attempts_time ON router_attempts (time_us)",
        ],
    ),
]
LATEST_VERSION = MIGRATIONS[-1][0]

_REQUEST_INSERT_COLS = ("log_id", *(c for c, _, _ in REQUEST_COLUMNS))
_ATTEMPT_INSERT_COLS = ("log_id", "attempt_index", "request_id", "time_us", *(c for c, _, _ in ATTEMPT_COLUMNS))
_INSERT_REQUEST = (f"INSERT INTO router_requests ({', '.join(_REQUEST_INSERT_COLS)}) "
                   f"VALUES ({', '.join('?' * len(_REQUEST_INSERT_COLS))}) ON CONFLICT (log_id) DO NOTHING")
_INSERT_ATTEMPT = (f"INSERT INTO router_attempts ({', '.join(_ATTEMPT_INSERT_COLS)}) "
                   f"VALUES ({', '.join('?' * len(_ATTEMPT_INSERT_COLS))}) "
                   "ON CONFLICT (log_id, attempt_index) DO NOTHING")
_SELECT_REQUEST = f"SELECT {', '.join(_REQUEST_INSERT_COLS)} FROM router_requests"
_SELECT_ATTEMPT = f"SELECT {', '.join(_ATTEMPT_INSERT_COLS)} FROM router_attempts"


class LogStoreError(RuntimeError):
    """The routing log's database cannot be read (readers raise it; the writer never does)."""


# ------------------------------------------------------------------------------------------------
# record ↔ row
# ------------------------------------------------------------------------------------------------

_json_encode = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False).encode


def _json(value: Any) -> str:
    return "[]" if isinstance(value, list) and not value else _json_encode(value)


def _money(value: Any) -> int:
    return 0 if not value else usd_to_micro(value)  # exact decimal rounding, half up


def _epoch_us(value: Any) -> int:
    return max(0, round(float(value) * 1_000_000))


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": str, "int": int, "real": float, "bool": bool, "json": _json, "time": _epoch_us, "money": _money,
}
# (record field, converter, value when the field is missing or None) — precomputed: the writer converts
# every record, so this loop is the writer's hot path.
_REQUEST_CONVERT = tuple((f, _CONVERT[k], 0 if k in ("bool", "money") else None) for _, f, k in REQUEST_COLUMNS)
_ATTEMPT_CONVERT = tuple(
    (f, _CONVERT[k], 0 if k == "money" else "unknown" if f == "router.outcome" else None) for _, f, k in ATTEMPT_COLUMNS
)
_STATUS_INDEX = [c for c, _, _ in REQUEST_COLUMNS].index("status")


def _convert(source: dict[str, Any], plan: tuple[tuple[str, Callable[[Any], Any], Any], ...]) -> list[Any]:
    out = []
    for field, convert, default in plan:
        value = source.get(field)
        if value is None:
            value = default
        out.append(None if value is None else convert(value))
    return out


def _from_db(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "json":
        return json.loads(value)
    if kind == "time":
        return value / 1_000_000
    if kind == "money":
        return value / 1_000_000
    if kind == "real":
        return float(value)
    return value


def record_rows(record: dict[str, Any]) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The ``router_requests`` row and ``router_attempts`` rows of one routing record."""
    values = _convert(record, _REQUEST_CONVERT)
    request_id, time_us = values[0], values[1]
    if request_id is None or time_us is None:
        raise ValueError("a routing record needs request_id and time")
    if values[_STATUS_INDEX] is None:
        values[_STATUS_INDEX] = "ok" if record.get("router.final_tier") is not None else "error"
    log_id = f"{time_us:016x}{os.urandom(4).hex()}"
    attempts = [(log_id, index, request_id, time_us, *_convert(attempt, _ATTEMPT_CONVERT))
                for index, attempt in enumerate(record.get("router.attempts") or ())]
    return (log_id, *values), attempts


def _row_record(row: Sequence[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for (column, field, kind), value in zip(REQUEST_COLUMNS, row[1:], strict=True):
        if field in _OPTIONAL_FIELDS and value is None:
            continue
        record[field] = _from_db(value, kind)
        if column == "cost_micro":
            record["router.cost_micro"] = value
    record["router.reasons"] = record.get("router.reasons") or []
    record["router.attempts"] = []
    return record


def _row_attempt(row: Sequence[Any]) -> dict[str, Any]:
    attempt = {field: _from_db(value, kind) for (_, field, kind), value in zip(ATTEMPT_COLUMNS, row[4:], strict=True)}
    attempt["gen_ai.response.finish_reasons"] = attempt.get("gen_ai.response.finish_reasons") or []
    return attempt


# ------------------------------------------------------------------------------------------------
# dialects
# ------------------------------------------------------------------------------------------------

class _Dialect:
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
        raise NotImplementedError

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def prune(self, conn: Any, cutoff_key: str | None, max_rows: int | None) -> int:
        raise NotImplementedError

    def missing_table(self, exc: BaseException) -> bool:
        return False

    def close(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.close()

    def render(self, sql: str) -> str:
        return sql.format(**self.types)

    def error_text(self, exc: BaseException) -> str:
        return redact_text(str(exc).strip() or type(exc).__name__)

    def _prune_statements(self, cutoff_key: str | None, max_rows: int | None,
                          run: Callable[[str, Sequence[Any]], Any]) -> int:
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
            removed += int(run("DELETE FROM router_requests WHERE log_id < ?", (cutoff,)))
        return removed


class _Sqlite(_Dialect):
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
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply_migrations(
                conn.execute,
                lambda: conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA_TABLE}").fetchone()[0],
                MIGRATIONS, table=SCHEMA_TABLE, postgres=False, what="routing log", description=self.description,
                log=log, render=self.render,
            )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def write(self, conn: sqlite3.Connection, requests: list[tuple[Any, ...]],
              attempts: list[tuple[Any, ...]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT_REQUEST, requests)
            if attempts:
                conn.executemany(_INSERT_ATTEMPT, attempts)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def execute(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, tuple(params)).fetchall()

    def prune(self, conn: sqlite3.Connection, cutoff_key: str | None, max_rows: int | None) -> int:
        def run(sql: str, params: Sequence[Any]) -> Any:
            cur = conn.execute(sql, tuple(params))
            return cur.fetchall() if sql.startswith("SELECT") else cur.rowcount

        conn.execute("BEGIN IMMEDIATE")
        try:
            removed = self._prune_statements(cutoff_key, max_rows, run)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return removed

    def missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)


class _Postgres(_Dialect):
    kind = "postgres"
    types: ClassVar[dict[str, str]] = {
        "int": "INTEGER", "bigint": "BIGINT", "real": "DOUBLE PRECISION", "bool": "BOOLEAN"}

    def __init__(self, url: str, connect_timeout_s: int = 5) -> None:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.description = redact_url(url)
        params: dict[str, Any] = conninfo_to_dict(url)
        self._secret = params.get("password") or None
        params.setdefault("connect_timeout", str(connect_timeout_s))
        params.setdefault("application_name", "tiered-router-log")
        self._conninfo = make_conninfo(**params)

    def connect(self, *, create: bool) -> Any:
        import psycopg

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
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(self._sql(_INSERT_REQUEST), requests)
            if attempts:
                cur.executemany(self._sql(_INSERT_ATTEMPT), attempts)

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
        import psycopg

        return isinstance(exc, psycopg.errors.UndefinedTable)


def _dialect(db: str, busy_timeout_s: float) -> _Dialect:
    if db.startswith(("postgresql://", "postgres://")):
        return _Postgres(db)
    if db.startswith("memory:"):
        raise ValueError("the routing log needs a SQLite path or a postgresql:// URL, not memory://")
    return _Sqlite(db, busy_timeout_s)


# ------------------------------------------------------------------------------------------------
# the store
# ------------------------------------------------------------------------------------------------

_OPEN_STORES: weakref.WeakSet[RoutingLogStore] = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:  # pragma: no cover - runs at interpreter exit
    for store in list(_OPEN_STORES):
        with contextlib.suppress(Exception):
            store.close(timeout=5.0)


class RoutingLogStore:
    """Routing records in SQLite or PostgreSQL: a non-blocking sink, a batching writer, readers.

    ``db`` is a SQLite path (``sqlite:///path`` works too) or a ``postgresql://`` URL.
    ``retention_days`` / ``max_rows``: ``None`` (or 0) keeps everything. ``clock`` gives epoch seconds
    and decides what "older than retention_days" means (tests inject one).
    """

    def __init__(
        self,
        db: str | os.PathLike[str],
        *,
        retention_days: float | None = 30,
        max_rows: int | None = 100_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        max_pending: int = 10_000,
        prune_every_batches: int = 50,
        retry_s: float = 5.0,
        busy_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        target = os.fspath(db)
        self.db_description = redact_url(target)
        self._dialect = _dialect(target, busy_timeout_s)
        self.kind = self._dialect.kind
        self.retention_days = retention_days or None
        self.max_rows = max_rows or None
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self.max_pending = max(self.batch_size, max_pending)
        self.prune_every_batches = max(1, prune_every_batches)
        self.retry_s = retry_s
        self._clock = clock

        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[dict[str, Any]] = deque()
        self._first_at = 0.0  # monotonic time the oldest pending record was queued
        self._thread: threading.Thread | None = None
        self._stop = False
        self._retry_at = 0.0
        self._backoff = retry_s

        self._io_lock = threading.Lock()  # the writer connection; held while a batch is taken and written
        self._writer: Any = None
        self._migrated = False
        self._batches = 0
        self._last_prune: float | None = None  # None: prune with the first batch after start

        self._read_lock = threading.Lock()
        self._reader: Any = None

        self._warn_lock = threading.Lock()
        self._last_warn: dict[str, float] = {}  # per kind of warning
        self._suppressed: dict[str, int] = {}
        self.written = 0
        self.dropped = 0
        self.write_failures = 0
        self.last_error: str | None = None
        _OPEN_STORES.add(self)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RoutingLogStore:
        """The store for ``settings.db`` with the configured retention."""
        kwargs.setdefault("retention_days", getattr(settings, "log_retention_days", 30))
        kwargs.setdefault("max_rows", getattr(settings, "log_max_rows", 100_000))
        return cls(settings.db, **kwargs)

    def __repr__(self) -> str:
        return f"RoutingLogStore({self.db_description!r}, pending={self.pending})"

    # -- writing --------------------------------------------------------------------------------------

    def sink(self, record: dict[str, Any]) -> None:
        """A record sink for ``TieredModelRouter.sinks``: queue the record and return at once."""
        dropped = False
        with self._cond:
            if not self._pending:
                self._first_at = time.monotonic()
            self._pending.append(record)
            if len(self._pending) > self.max_pending:
                self._pending.popleft()
                self.dropped += 1
                dropped = True
            if len(self._pending) >= self.batch_size:
                self._cond.notify()
            if self._thread is None:
                self._start()
        if dropped:
            self._warn("overflow", f"routing log {self.db_description}: more than {self.max_pending} records "
                       "waiting; dropping the oldest")

    __call__ = sink

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write every record queued so far, now. True when nothing is left waiting; False when the
        database is unavailable (the records stay queued for a later retry) or ``timeout`` passed."""
        if not self._io_lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            while True:
                batch = self._take()
                if not batch:
                    return True
                if not self._write(batch):
                    return False
        finally:
            self._io_lock.release()

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, stop the writer thread and close the connections. A later record starts it again."""
        with self._cond:
            thread = self._thread
            self._stop = True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            if self._thread is thread:
                self._thread = None
                self._stop = False
        if not self.flush(timeout) and self._pending:
            log.error("routing log %s: %d routing record(s) could not be written before close (%s)",
                      self.db_description, len(self._pending), self.last_error)
        with self._io_lock:
            if self._writer is not None:
                self._dialect.close(self._writer)
                self._writer = None
        with self._read_lock:
            if self._reader is not None:
                self._dialect.close(self._reader)
                self._reader = None

    def prune(self) -> int:
        """Apply retention now; returns how many requests were deleted. Raises LogStoreError."""
        with self._io_lock:
            try:
                conn = self._writer_conn()
                return self._prune(conn)
            except Exception as exc:
                self._drop_writer()
                raise LogStoreError(f"routing log {self.db_description}: {self._dialect.error_text(exc)}") from None

    # -- reading --------------------------------------------------------------------------------------

    def recent(self, limit: int = 50, tier: int | None = None, escalated: bool | None = None,
               since: float | None = None) -> list[dict[str, Any]]:
        """The newest records (record-shaped dicts with ``router.attempts``), newest first.

        ``tier`` filters on the final tier, ``escalated`` on whether the request escalated, ``since``
        (epoch seconds) on the time. Records still queued are not included: ``flush()`` first.
        """
        limit = max(0, min(int(limit), MAX_READ_LIMIT))
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("time_us >= ?")
            params.append(round(max(0.0, since) * 1_000_000))
        if tier is not None:
            where.append("final_tier = ?")
            params.append(int(tier))
        if escalated is not None:
            where.append("escalated = ?")
            params.append(bool(escalated))
        sql = f"{_SELECT_REQUEST} WHERE {' AND '.join(where)} ORDER BY log_id DESC LIMIT ?"
        return self._with_attempts(sql, [*params, limit])

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest record with this request id, with its attempts, or None."""
        found = self._with_attempts(f"{_SELECT_REQUEST} WHERE request_id = ? ORDER BY log_id DESC LIMIT 1",
                                    [request_id])
        return found[0] if found else None

    def exists(self) -> bool:
        """False when there is certainly nothing logged (no SQLite file yet); True otherwise."""
        return self._dialect.exists()

    def count(self, since: float | None = None) -> int:
        rows = self.query("SELECT COUNT(*) FROM router_requests WHERE time_us >= ?",
                          [round(max(0.0, since or 0.0) * 1_000_000)])
        return int(rows[0][0]) if rows else 0

    def schema_version(self) -> int:
        rows = self.query(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA_TABLE}")
        return int(rows[0][0]) if rows else 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query (``?`` placeholders, SQL both SQLite and PostgreSQL accept).

        An empty result when nothing was logged yet (no database file, or no routing-log tables);
        raises LogStoreError when the database cannot be read.
        """
        if not self._dialect.exists():
            return []
        with self._read_lock:
            try:
                if self._reader is None:
                    self._reader = self._dialect.connect(create=False)
                return self._dialect.execute(self._reader, sql, params)
            except Exception as exc:
                if self._dialect.missing_table(exc):
                    return []
                if self._reader is not None:
                    self._dialect.close(self._reader)
                    self._reader = None
                raise LogStoreError(f"routing log {self.db_description} unavailable: "
                                    f"{self._dialect.error_text(exc)}") from None

    def _with_attempts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        rows = self.query(sql, params)
        records = {row[0]: _row_record(row) for row in rows}
        ids = list(records)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.query(f"{_SELECT_ATTEMPT} WHERE log_id IN ({marks}) ORDER BY log_id, attempt_index",
                                  chunk):
                records[row[0]]["router.attempts"].append(_row_attempt(row))
        return list(records.values())

    # -- the writer -----------------------------------------------------------------------------------

    def _start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="tiered-router-log-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    n = len(self._pending)
                    if n and now >= self._retry_at:
                        due = self._first_at + self.flush_interval_s
                        if n >= self.batch_size or now >= due:
                            break
                        self._cond.wait(due - now)
                    else:
                        self._cond.wait(self._retry_at - now if n else None)
                if self._stop:
                    return  # close() flushes what is left, on its own thread
            try:
                with self._io_lock:
                    batch = self._take()
                    if batch:
                        self._write(batch)
            except Exception:  # never let the writer die
                log.exception("routing log writer failed")

    def _take(self) -> list[dict[str, Any]]:
        with self._cond:
            n = min(self.batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(n)]
            if self._pending:
                self._first_at = time.monotonic()
            return batch

    def _write(self, batch: list[dict[str, Any]]) -> bool:
        """Write one batch in one transaction (caller holds _io_lock). On failure the batch goes back."""
        requests, attempts = [], []
        for record in batch:
            try:
                request, rows = record_rows(record)
            except Exception as exc:
                self.dropped += 1
                self._warn("malformed", f"routing log: skipping a malformed record ({type(exc).__name__}: {exc})")
                continue
            requests.append(request)
            attempts.extend(rows)
        if not requests:
            return True
        try:
            conn = self._writer_conn()
            self._dialect.write(conn, requests, attempts)
        except Exception as exc:
            self._drop_writer()
            self.write_failures += 1
            self.last_error = self._dialect.error_text(exc)
            with self._cond:
                self._pending.extendleft(reversed(batch))
                while len(self._pending) > self.max_pending:
                    self._pending.popleft()
                    self.dropped += 1
                self._retry_at = time.monotonic() + self._backoff
                self._backoff = min(_MAX_BACKOFF_S, self._backoff * 2)
            self._warn("unavailable", f"routing log {self.db_description} unavailable ({self.last_error}); keeping "
                       f"{len(self._pending)} record(s) in memory and retrying later")
            return False
        with self._cond:
            self._retry_at = 0.0
            self._backoff = self.retry_s
        self.written += len(requests)
        self._batches += 1
        if self._prune_due():
            try:
                self._prune(conn)
            except Exception as exc:
                self._drop_writer()
                why = self._dialect.error_text(exc)
                self._warn("retention", f"routing log {self.db_description}: retention failed ({why})")
        return True

    def _writer_conn(self) -> Any:
        if self._writer is None:
            conn = self._dialect.connect(create=True)
            try:
                if not self._migrated:
                    self._dialect.migrate(conn)
                    self._migrated = True
            except BaseException:
                self._dialect.close(conn)
                raise
            self._writer = conn
        return self._writer

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._dialect.close(self._writer)
            self._writer = None

    def _prune_due(self) -> bool:
        # The first batch after start always prunes. Time since the last prune is measured, never compared
        # with time.monotonic() itself: that is the machine's uptime, only seconds on a fresh machine.
        if self._last_prune is None or self._batches % self.prune_every_batches == 0:
            return True
        return time.monotonic() - self._last_prune > 600

    def _prune(self, conn: Any) -> int:
        self._last_prune = time.monotonic()
        if self.retention_days is None and self.max_rows is None:
            return 0
        cutoff_key = None
        if self.retention_days is not None:
            cutoff_us = max(0, round((self._clock() - self.retention_days * 86400) * 1_000_000))
            cutoff_key = f"{cutoff_us:016x}"
        removed = self._dialect.prune(conn, cutoff_key, self.max_rows)
        if removed:
            log.info("routing log %s: retention removed %d request(s)", self.db_description, removed)
        return removed

    def _warn(self, kind: str, message: str) -> None:
        """Log a warning, at most one per ``kind`` a minute (the others are counted and reported)."""
        with self._warn_lock:
            now = time.monotonic()
            if now - self._last_warn.get(kind, -_WARN_EVERY_S) < _WARN_EVERY_S:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            suppressed = self._suppressed.pop(kind, 0)
            self._last_warn[kind] = now
        log.warning("%s%s", message, f" ({suppressed} similar warning(s) suppressed)" if suppressed else "")


def open_log_store(settings: Settings, **kwargs: Any) -> RoutingLogStore | None:
    """The store for ``settings`` (None when ``log_enabled`` is off or ``settings.db`` cannot hold one).
    Opening is cheap: no I/O happens until the first record is written or the first read."""
    if not getattr(settings, "log_enabled", True):
        return None
    if str(settings.db).startswith("memory:"):
        log.info("routing log disabled: the database is memory:// (nothing would outlive the process)")
        return None
    try:
        return RoutingLogStore.from_settings(settings, **kwargs)
    except Exception as exc:
        log.warning("routing log disabled: cannot use %s (%s)", redact_url(str(settings.db)),
                    redact_text(str(exc)))
        return None


def iter_columns() -> Iterable[tuple[str, str, str, str]]:
    """(table, column, record field, kind) for every stored field: the documented mapping."""
    for column, field, kind in REQUEST_COLUMNS:
        yield "router_requests", column, field, kind
    for column, field, kind in ATTEMPT_COLUMNS:
        yield "router_attempts", column, f"router.attempts[].{field}", kind
