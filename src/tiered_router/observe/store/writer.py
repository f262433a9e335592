"""The routing log's write side: the queue ``sink`` appends to and the daemon thread that empties it.

``sink`` never touches the database, so writing never slows a request. The thread writes what is queued
once the oldest record has waited ``flush_interval_s`` (0.25 s by default) or ``batch_size`` records
are waiting, whichever comes first, one transaction per ``batch_size`` records, on its own connection. So
with a working database every record is written within about ``flush_interval_s`` of reaching the queue,
whether traffic is heavy or the router sits idle; a ``kill -9`` loses only what waited then.

The thread shares the GIL with the server's event loop: it converts and sends rows ``dialect.CHUNK`` at a
time and ``pause()``-s between chunks, so the loop never waits long for it (``dialect.py``).

A record the database refuses (a value out of range, say) is dropped with a logged reason; the others
of its batch are then written in halves, down to the record that fails alone, so it never holds them
up. If the database itself is unavailable the writer logs a (rate-limited) warning, keeps the newest
``max_pending`` records in memory and retries with a growing back-off. Retention runs on the same
connection every ``prune_every_batches`` batches. Every open writer is closed (so flushed) at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from .dialect import CHUNK, Dialect, pause
from .errors import LogStoreError
from .rows import record_rows

log = logging.getLogger("tiered_router.log_store")

_WARN_EVERY_S = 60.0
_MAX_BACKOFF_S = 60.0

_OPEN_WRITERS: weakref.WeakSet[LogWriter] = weakref.WeakSet()

_Entry = tuple[float, dict[str, Any]]  # (monotonic time queued, record)
_Rows = tuple[_Entry, tuple[Any, ...], list[tuple[Any, ...]]]  # a record's entry, request row, attempt rows


@atexit.register
def _close_open_writers() -> None:  # pragma: no cover - runs at interpreter exit
    for writer in list(_OPEN_WRITERS):
        with contextlib.suppress(Exception):
            writer.close(timeout=5.0)


class LogWriter:
    """Queues routing records and writes them in batches from a daemon thread (started by the first
    record). ``RoutingLogStore`` (``log_store.py``) is this plus the readers."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        db_description: str,
        retention_days: float | None,
        max_rows: int | None,
        batch_size: int,
        flush_interval_s: float,
        max_pending: int,
        prune_every_batches: int,
        retry_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.db_description = db_description
        self._dialect = dialect
        self.retention_days = retention_days or None
        self.max_rows = max_rows or None
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self.max_pending = max(self.batch_size, max_pending)
        self.prune_every_batches = max(1, prune_every_batches)
        self.retry_s = retry_s
        self._clock = clock

        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[_Entry] = deque()  # (monotonic time queued, record), oldest first
        self._thread: threading.Thread | None = None
        self._stop = False
        self._retry_at = 0.0
        self._backoff = retry_s

        self._io_lock = threading.Lock()  # the writer connection; held while a batch is taken and written
        self._writer: Any = None
        self._migrated = False
        self._batches = 0
        self._last_prune: float | None = None  # None: prune with the first batch after start

        self._warn_lock = threading.Lock()
        self._last_warn: dict[str, float] = {}  # per kind of warning
        self._suppressed: dict[str, int] = {}
        self.written = 0
        self.dropped = 0
        self.write_failures = 0
        self.last_error: str | None = None
        _OPEN_WRITERS.add(self)

    def sink(self, record: dict[str, Any]) -> None:
        """A record sink for ``TieredModelRouter.sinks``: queue the record and return at once."""
        dropped = False
        with self._cond:
            pending = self._pending
            pending.append((time.monotonic(), record))
            n = len(pending)
            if n > self.max_pending:
                pending.popleft()
                self.dropped += 1
                dropped = True
            if n == 1 or n == self.batch_size:  # the thread sleeps without a deadline while the queue is empty
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
        """Write every record queued so far, now. True when they are written (or dropped as malformed or
        refused); False when the database is unavailable (they stay queued for a later retry) or ``timeout``
        passed."""
        if not self._io_lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            return self._drain(len(self._pending))
        finally:
            self._io_lock.release()

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, stop the writer thread and close its connection. A later record starts it again."""
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

    def prune(self) -> int:
        """Apply retention now; returns how many requests were deleted. Raises LogStoreError."""
        with self._io_lock:
            try:
                conn = self._writer_conn()
                return self._prune(conn)
            except Exception as exc:
                self._drop_writer()
                raise LogStoreError(f"routing log {self.db_description}: {self._dialect.error_text(exc)}") from None

    # -- the thread -----------------------------------------------------------------------------------

    def _start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="tiered-router-log-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return  # close() flushes what is left, on its own thread
                    now = time.monotonic()
                    if not self._pending:
                        self._cond.wait()  # sink() wakes it
                    elif now < self._retry_at:
                        self._cond.wait(self._retry_at - now)
                    elif len(self._pending) >= self.batch_size or now >= self._pending[0][0] + self.flush_interval_s:
                        break
                    else:
                        self._cond.wait(self._pending[0][0] + self.flush_interval_s - now)
                count = len(self._pending)  # what came later waits for its own deadline, in a batch of its own
            try:
                with self._io_lock:
                    self._drain(count)
            except Exception:  # never let the writer die
                log.exception("routing log writer failed")

    def _drain(self, count: int) -> bool:
        """Write the oldest ``count`` queued records, ``batch_size`` at a time (caller holds _io_lock).
        False when the database is unavailable: the rest stay queued."""
        while count > 0:
            with self._cond:
                n = min(self.batch_size, count, len(self._pending))
                batch = [self._pending.popleft() for _ in range(n)]
            if not batch:
                break
            count -= n
            if not self._write(batch):
                return False
        return True

    def _write(self, batch: list[_Entry]) -> bool:
        """Write one batch in one transaction (caller holds _io_lock). A record that cannot be converted is
        dropped; if the database refuses the batch, its records are written one by one and the ones it
        refuses are dropped. False when the database is unavailable: the batch goes back to the queue."""
        rows: list[_Rows] = []
        for index, entry in enumerate(batch):
            if index and index % CHUNK == 0:
                pause()
            try:
                request, attempts = record_rows(entry[1])
            except Exception as exc:
                self._drop(entry[1], "malformed", f"skipping a malformed record ({type(exc).__name__}: {exc})")
                continue
            rows.append((entry, request, attempts))
        if not rows:
            return True
        conn = None
        try:
            conn = self._writer_conn()
            self._dialect.write(conn, [request for _, request, _ in rows],
                                [row for _, _, attempts in rows for row in attempts])
        except Exception as exc:
            if conn is None or self._dialect.unavailable(exc, conn):
                return self._unavailable([entry for entry, _, _ in rows], exc)
            return self._write_apart(conn, rows)
        self._wrote(len(rows), conn)
        return True

    def _write_apart(self, conn: Any, rows: list[_Rows]) -> bool:
        """The records of a refused batch, in halves, then halves of the halves that fail, down to the
        records that fail alone (a few transactions for a bad record in 500, not 500). A record is to
        blame when the database says its values are wrong, or when others were written beside it; if
        none could be written and the error does not name the values, the database is the likelier
        culprit and they all wait."""
        written = 0
        blamed: list[tuple[_Entry, BaseException]] = []
        waiting: list[tuple[_Entry, BaseException]] = []
        half = len(rows) // 2
        parts = [rows[half:], rows[:half]]  # a stack: the older half first
        while parts:
            part = parts.pop()
            if waiting:  # the database went away: what is left waits too
                waiting += [(entry, waiting[0][1]) for entry, _, _ in part]
                continue
            try:
                self._dialect.write(conn, [request for _, request, _ in part],
                                    [row for _, _, attempts in part for row in attempts])
            except Exception as exc:
                if self._dialect.unavailable(exc, conn):
                    waiting += [(entry, exc) for entry, _, _ in part]
                elif len(part) == 1:
                    blamed.append((part[0][0], exc))
                else:
                    half = len(part) // 2
                    parts += [part[half:], part[:half]]
            else:
                written += len(part)
        for entry, error in blamed:
            if written or self._dialect.refused(error):
                why = self._dialect.error_text(error)
                self._drop(entry[1], "refused", f"dropping the record of request {entry[1].get('request_id')!r}: "
                           f"the database refused it ({why})")
            else:
                waiting.append((entry, error))
        if written:
            self._wrote(written, conn)
        if waiting:
            waiting.sort(key=lambda item: item[0][0])
            return self._unavailable([entry for entry, _ in waiting], waiting[0][1])
        return True

    def _drop(self, record: dict[str, Any], kind: str, message: str) -> None:
        self.dropped += 1
        self._warn(kind, f"routing log {self.db_description}: {message}")

    def _wrote(self, count: int, conn: Any) -> None:
        with self._cond:
            self._retry_at = 0.0
            self._backoff = self.retry_s
        self.written += count
        self._batches += 1
        if self._prune_due():
            try:
                self._prune(conn)
            except Exception as exc:
                self._drop_writer()
                why = self._dialect.error_text(exc)
                self._warn("retention", f"routing log {self.db_description}: retention failed ({why})")

    def _unavailable(self, entries: list[_Entry], exc: BaseException) -> bool:
        """The database cannot take ``entries`` now: back to the head of the queue, retried after a back-off."""
        self._drop_writer()
        self.write_failures += 1
        self.last_error = self._dialect.error_text(exc)
        with self._cond:
            self._pending.extendleft(reversed(entries))
            while len(self._pending) > self.max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(_MAX_BACKOFF_S, self._backoff * 2)
        self._warn("unavailable", f"routing log {self.db_description} unavailable ({self.last_error}); keeping "
                   f"{len(self._pending)} record(s) in memory and retrying later")
        return False

    # -- the connection and retention -----------------------------------------------------------------

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
