"""Routing records of answered requests, written in small batches on the server's event loop.

Writing a record (building it, then the log store, metrics and tracing sinks) took 60-90 µs per request
in the server, measured between the answer leaving and the connection being ready for the next request:
at concurrency 1 that is added to the next request's latency. Queued here, the records are written
together once ``max_batch`` have gathered or ``max_delay_s`` after the first, whichever comes first, and
at once whenever something reads them (``flush()``: /metrics, the stats endpoints, shutdown). A batch
also runs with warm caches, so it costs less CPU per record than records written one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..result import RoutedResponse

log = logging.getLogger("tiered_router.routing")


class DeferredRecords:
    def __init__(self, max_batch: int = 64, max_delay_s: float = 0.05) -> None:
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self._pending: list[Callable[[], None]] = []
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, response: RoutedResponse) -> None:
        """Queue the record of an answered request (one made with ``context["defer_record"]``)."""
        if response.write_record is None:
            return
        self._pending.append(response.write_record)
        if len(self._pending) >= self.max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_delay_s, self.flush)

    def flush(self) -> None:
        """Write every queued record now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for write in pending:
            try:
                write()
            except Exception:  # one bad record must not lose the others
                log.exception("writing a routing record failed")
