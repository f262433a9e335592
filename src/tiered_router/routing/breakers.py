"""Per-backend cool-down: stop sending to a backend that keeps failing, for a while.

Three rules, each from a failure class: a rate limit waits out ``Retry-After``; an auth error
disables the backend for the life of the process (a retry with the same key cannot succeed);
any other failure counts, and ``threshold`` failures in a row cool the backend down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..backends.errors import BackendError, ErrorKind


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    reason: str = ""


class Breakers:
    def __init__(self, threshold: int = 3, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._states: dict[str, _State] = {}

    def blocked(self, name: str) -> str | None:
        """Why ``name`` must be skipped now, or None when it may be called."""
        state = self._states.get(name)
        if state is None or state.open_until <= self._clock():
            return None
        return state.reason

    def success(self, name: str) -> None:
        self._states.pop(name, None)

    def failure(self, name: str, error: BackendError) -> None:
        state = self._states.setdefault(name, _State())
        now = self._clock()
        if error.kind is ErrorKind.AUTH:
            state.open_until, state.reason = math.inf, "auth-failed"
            return
        if error.kind is ErrorKind.CONTEXT_TOO_LONG or error.kind is ErrorKind.BAD_REQUEST:
            return  # the request's fault, not the backend's
        state.failures += 1
        if error.kind is ErrorKind.RATE_LIMITED and error.retry_after_s:
            state.open_until, state.reason = now + error.retry_after_s, "rate-limited"
        elif state.failures >= self.threshold:
            state.open_until, state.reason = now + self.cooldown_s, f"cooling-down after {state.failures} failures"
