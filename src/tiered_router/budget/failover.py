"""Which ledger a budget operation runs on: the real one, or with ``fail_open`` an in-memory fallback.

Fail closed is the default: when the real (primary) ledger cannot be opened, read or written,
``Ledgers.run`` raises ``LedgerUnavailable`` and the router makes no cloud call. With
``fail_open=True`` the operation runs on a process-local ``MemoryLedger`` instead (with a warning
on every use), and the primary is tried again after ``retry_primary_s``. A reservation made in the
fallback is settled or released there, whatever the primary's state by then.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..paths import default_db_path
from .errors import LedgerUnavailable
from .ledger import Ledger, open_ledger
from .memory import MemoryLedger
from .money import redact_url

log = logging.getLogger("tiered_router.budget")

T = TypeVar("T")


class Ledgers:
    """The primary ledger for ``db`` (opened now) and, once needed, the in-memory fallback."""

    def __init__(
        self,
        db: str | os.PathLike[str] | None,
        *,
        fail_open: bool,
        busy_timeout_s: float,
        pool_size: int,
        retry_primary_s: float,
    ) -> None:
        self.fail_open = fail_open
        self._db = db
        self._busy_timeout_s = busy_timeout_s
        self._pool_size = pool_size
        self._retry_primary_s = retry_primary_s
        self._lock = threading.Lock()
        self._fallback: Ledger | None = None
        self._primary: Ledger | None = None
        self._primary_retry_at = 0.0
        self._closed = False
        target = os.fspath(db) if db is not None else str(default_db_path())
        self.description = redact_url(target)
        try:
            self._primary = open_ledger(db, busy_timeout_s=busy_timeout_s, pool_size=pool_size)
        except LedgerUnavailable as exc:
            if not fail_open:
                raise
            self._primary_down(exc)

    def run(self, op: Callable[[Ledger], T], prefer: str = "primary") -> tuple[T, str]:
        """``op`` on the ledger to use now; returns its result and ``"primary"`` or ``"fallback"``.
        ``prefer="fallback"``: the operation belongs to a reservation the fallback made."""
        if self._closed:
            raise LedgerUnavailable(f"budget tracker for {self.description} is closed")
        if prefer == "fallback":
            return self._use_fallback(op, "the reservation was made in the fallback ledger")
        if not self.fail_open:
            primary = self._primary
            if primary is None:
                raise LedgerUnavailable(f"budget ledger {self.description} is not open")
            return op(primary), "primary"
        if time.monotonic() < self._primary_retry_at:
            return self._use_fallback(op, f"{self.description} was unavailable recently")
        try:
            return op(self._open_primary()), "primary"
        except LedgerUnavailable as exc:
            self._primary_down(exc)
            return self._use_fallback(op, exc)

    @property
    def primary(self) -> Ledger:
        """The primary ledger (raises ``LedgerUnavailable`` if it is not open)."""
        led = self._primary
        if led is None:
            raise LedgerUnavailable(f"budget ledger {self.description} is not open")
        return led

    def kind(self, backend: str) -> str:
        """The ``kind`` of the ledger ``run`` named (``"primary"`` or ``"fallback"``)."""
        led = self._fallback if backend == "fallback" else self._primary
        return led.kind if led is not None else "unknown"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ledgers = [self._primary, self._fallback]
            self._primary = None
        for led in ledgers:
            if led is not None:
                led.close()

    def _primary_down(self, exc: BaseException) -> None:
        with self._lock:
            self._primary_retry_at = time.monotonic() + self._retry_primary_s
            if self._fallback is None:
                self._fallback = MemoryLedger()
        log.warning(
            "budget ledger %s unavailable (%s); fail_open=True so using an in-memory fallback ledger",
            self.description,
            exc,
        )

    def _use_fallback(self, op: Callable[[Ledger], T], why: object) -> tuple[T, str]:
        fallback = self._fallback
        if fallback is None:
            with self._lock:
                if self._fallback is None:
                    self._fallback = MemoryLedger()
                fallback = self._fallback
        log.warning(
            "budget: using the in-memory FALLBACK ledger (fail_open=True; %s): spend is neither "
            "persisted nor shared with other processes",
            why,
        )
        return op(fallback), "fallback"

    def _open_primary(self) -> Ledger:
        primary = self._primary
        if primary is not None:
            return primary
        primary = open_ledger(self._db, busy_timeout_s=self._busy_timeout_s, pool_size=self._pool_size)
        with self._lock:
            if self._primary is None and not self._closed:
                self._primary = primary
                return primary
            current = self._primary
        primary.close()
        if current is None:
            raise LedgerUnavailable(f"budget tracker for {self.description} is closed")
        return current
