"""``RoutingLogStore``, the routing log's one public object, and ``open_log_store`` for the router.

The store is the writer of ``writer.py`` plus the readers (``recent``, ``get``, ``count``, ``query``),
which use a connection and a lock of their own, so reads do not queue behind the writer's batches.
Readers give rows back in the record's own shape (``rows.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...budget.money import redact_text, redact_url
from .dialect import open_dialect
from .direct import DirectConnection
from .errors import LogStoreError
from .judgements import Judgement, JudgementLog
from .models import ModelStore
from .rows import row_attempt, row_record
from .schema import SCHEMA_TABLE, SELECT_ATTEMPT, SELECT_REQUEST
from .writer import LogWriter

if TYPE_CHECKING:
    from ...config import Settings

log = logging.getLogger("tiered_router.log_store")

MAX_READ_LIMIT = 10_000


class RoutingLogStore(LogWriter):
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
        flush_interval_s: float = 0.25,
        max_pending: int = 10_000,
        prune_every_batches: int = 50,
        retry_s: float = 5.0,
        busy_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        target = os.fspath(db)
        db_description = redact_url(target)
        dialect = open_dialect(target, busy_timeout_s)
        self.kind = dialect.kind
        # Set before the writer registers itself for closing at exit: close() reads them.
        self._read_lock = threading.Lock()
        self._reader: Any = None
        self._side = DirectConnection(dialect, db_description)  # judgements and models: rare, small writes
        self.judgements = JudgementLog(self._side)
        self.models = ModelStore(self._side)
        super().__init__(
            dialect, db_description=db_description, retention_days=retention_days, max_rows=max_rows,
            batch_size=batch_size, flush_interval_s=flush_interval_s, max_pending=max_pending,
            prune_every_batches=prune_every_batches, retry_s=retry_s, clock=clock,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RoutingLogStore:
        """The store for ``settings.db`` with the configured retention."""
        kwargs.setdefault("retention_days", getattr(settings, "log_retention_days", 30))
        kwargs.setdefault("max_rows", getattr(settings, "log_max_rows", 100_000))
        return cls(settings.db, **kwargs)

    def __repr__(self) -> str:
        return f"RoutingLogStore({self.db_description!r}, pending={self.pending})"

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, stop the writer thread and close the connections. A later record starts it again."""
        super().close(timeout)
        self._side.close()
        with self._read_lock:
            if self._reader is not None:
                self._dialect.close(self._reader)
                self._reader = None

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
        sql = f"{SELECT_REQUEST} WHERE {' AND '.join(where)} ORDER BY log_id DESC LIMIT ?"
        return self._with_attempts(sql, [*params, limit])

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest record with this request id, with its attempts, or None."""
        found = self._with_attempts(f"{SELECT_REQUEST} WHERE request_id = ? ORDER BY log_id DESC LIMIT 1",
                                    [request_id])
        return found[0] if found else None

    def add_judgement(self, judgement: Judgement) -> bool:
        """Store what was learned about a logged request (feedback, a shadow answer, ...); replaces one of the
        same kind. False when no request with that id is in the log (records still queued are written
        first). Raises LogStoreError when the database cannot be used."""
        self.flush(timeout=5.0)
        rows = self.query("SELECT log_id FROM router_requests WHERE request_id = ? ORDER BY log_id DESC LIMIT 1",
                          [judgement.request_id])
        if not rows:
            return False
        self.judgements.put(rows[0][0], judgement)
        return True

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
        records = {row[0]: row_record(row) for row in rows}
        ids = list(records)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.query(f"{SELECT_ATTEMPT} WHERE log_id IN ({marks}) ORDER BY log_id, attempt_index",
                                  chunk):
                records[row[0]]["router.attempts"].append(row_attempt(row))
        if records:
            for log_id, judgements in self.judgements.for_logs(ids).items():
                for judgement in judgements:
                    records[log_id][f"router.{judgement.kind}"] = judgement.as_field()
        return list(records.values())


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
