"""Every error the server sends, in OpenAI's shape: ``{"error": {"message", "type", "code"}}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from starlette.responses import JSONResponse

from ..errors import AllTiersFailed, CloudBudgetExceeded, CloudUnavailable, ConfigError, LogDisabled, RouterError

log = logging.getLogger("tiered_router.server")
NO_RETRY = {"x-should-retry": "false"}  # what the OpenAI and Anthropic SDKs read before retrying a 429 or a 5xx


class HTTPProblem(Exception):
    """An error with its HTTP status, raised anywhere in a handler."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code
        self.extra = extra or {}
        self.headers = headers


class ClientGone(Exception):
    """The client disconnected before its request body arrived: there is nobody left to answer."""


def error_body(message: str, type_: str, code: str | None, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code, **extra}}


def problem_response(problem: HTTPProblem) -> JSONResponse:
    return JSONResponse(error_body(problem.message, problem.type, problem.code, **problem.extra),
                        status_code=problem.status, headers=problem.headers)


def problem_from(exc: Exception) -> HTTPProblem:
    """Map what the router raises to a status. Unknown exceptions become a 500 with no details."""
    if isinstance(exc, HTTPProblem):
        return exc
    if isinstance(exc, ClientGone):  # nobody reads this answer; it only must not log a traceback
        return HTTPProblem(400, "the client disconnected before sending its request", "invalid_request_error",
                           "client_disconnected")
    if isinstance(exc, CloudBudgetExceeded):
        # A 429, which the official SDKs retry by default; retrying cannot help before the window ends, and
        # each retry would be one more refused request. They all obey x-should-retry.
        return HTTPProblem(429, str(exc), "budget_exceeded", "budget_exceeded", headers=NO_RETRY)
    if isinstance(exc, AllTiersFailed):
        attempts = [a.as_dict() for a in exc.attempts]
        waits = _rate_limits(exc.attempts)
        if waits is not None:
            retry = max(1, math.ceil(min(waits))) if waits else 1
            return HTTPProblem(429, f"every tier is rate-limited; retry after {retry}s. {exc}", "rate_limit_exceeded",
                               "rate_limited", {"attempts": attempts}, {"retry-after": str(retry)})
        last = exc.attempts[-1] if exc.attempts else None
        if last is not None and last.error_kind == "timeout":
            return HTTPProblem(504, str(exc), "upstream_timeout", "upstream_timeout", {"attempts": attempts})
        return HTTPProblem(502, str(exc), "upstream_error", "all_tiers_failed", {"attempts": attempts})
    if isinstance(exc, CloudUnavailable):
        return HTTPProblem(503, str(exc), "cloud_unavailable", "cloud_unavailable")
    if isinstance(exc, LogDisabled):
        return HTTPProblem(503, str(exc), "log_unavailable", "log_disabled")
    if isinstance(exc, (ConfigError, ValueError)) and isinstance(exc, RouterError):
        return HTTPProblem(400, str(exc), "invalid_request_error", getattr(exc, "code", None))
    if isinstance(exc, RouterError):
        return HTTPProblem(502, str(exc), "upstream_error", getattr(exc, "code", None))
    log.exception("unexpected error while handling a request")
    return HTTPProblem(500, "internal error; see the router's log", "server_error", "internal_error")


def _rate_limits(attempts: list[Any]) -> list[float] | None:
    """The Retry-After of each tier when every tier tried was rate-limited (None if any failed otherwise)."""
    if not attempts or not all(a.error_kind == "rate_limited" or a.error == "rate-limited" for a in attempts):
        return None
    return [a.retry_after_s for a in attempts if a.retry_after_s is not None]
