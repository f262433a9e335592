"""Per-backend cool-down: stop sending to a backend that keeps failing, for a while.

Three rules, each from a failure class: a rate limit waits out ``Retry-After`` (the request is not
retried on that backend; it moves to the next tier); an auth or not-found error (a bad key, a model not
pulled yet) cools the backend down for ``auth_cooldown_s`` (default 300 s: long, since retrying at once
cannot help, but not for ever: a key gets fixed, a model gets pulled); any other failure counts, and
``threshold`` failures in a row cool the backend down for ``cooldown_s``. A success clears it all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..backends.errors import BackendError, ErrorKind


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    reason: str = ""
    retry_after_s: float | None = None  # what a rate-limiting backend asked for


@dataclass(frozen=True, slots=True)
class BackendState:
    """How a backend stands now: ``ok``, or why it is skipped and for how many more seconds."""

    state: str  # "ok", "rate-limited", "auth-failed", "cooling-down"
    seconds_left: float = 0.0
    detail: str = ""


class Breakers:
    def __init__(self, threshold: int = 3, cooldown_s: float = 30.0, auth_cooldown_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.auth_cooldown_s = auth_cooldown_s
        self._clock = clock
        self._states: dict[str, _State] = {}

    def blocked(self, name: str) -> str | None:
        """Why ``name`` must be skipped now, or None when it may be called."""
        state = self._states.get(name)
        if state is None or state.open_until <= self._clock():
            return None
        return state.reason

    def retry_after(self, name: str) -> float | None:
        """Seconds until a rate-limited ``name`` may be called again, if that is why it is skipped."""
        state = self._states.get(name)
        if state is None or state.reason != "rate-limited":
            return None
        return max(0.0, state.open_until - self._clock())

    def state(self, name: str) -> BackendState:
        s = self._states.get(name)
        now = self._clock()
        if s is None or s.open_until <= now:
            return BackendState("ok")
        kind = s.reason.split(" ", 1)[0]
        return BackendState(kind, round(s.open_until - now, 1), s.reason)

    def success(self, name: str) -> None:
        self._states.pop(name, None)

    def failure(self, name: str, error: BackendError) -> None:
        state = self._states.setdefault(name, _State())
        now = self._clock()
        if error.kind is ErrorKind.AUTH:
            state.open_until, state.reason = now + self.auth_cooldown_s, "auth-failed"
            return
        if error.kind is ErrorKind.CONTEXT_TOO_LONG or error.kind is ErrorKind.BAD_REQUEST:
            return  # the request's fault, not the backend's
        state.failures += 1
        if error.kind is ErrorKind.RATE_LIMITED and error.retry_after_s:
            state.open_until, state.reason = now + error.retry_after_s, "rate-limited"
        elif state.failures >= self.threshold:
            state.open_until, state.reason = now + self.cooldown_s, f"cooling-down after {state.failures} failures"
