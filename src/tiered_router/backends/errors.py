"""The small set of classes every backend maps its failures into.

The router decides what to do next from an error's ``kind``, never from its message, so each
backend's job is only to put a failure in the right class.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import RouterError


class ErrorKind(StrEnum):
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER = "server_error"
    CONTEXT_TOO_LONG = "context_too_long"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    BAD_RESPONSE = "bad_response"


class BackendError(RouterError):
    """A failed call to one backend. ``kind`` is what the router acts on."""

    kind: ErrorKind = ErrorKind.BAD_RESPONSE

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        retry_after_s: float | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after_s = retry_after_s
        self.sent = sent  # False: the request never reached the provider (it could not connect)

    @property
    def billable(self) -> bool:
        """Whether the provider may have charged for the call: it was sent, and no error status came back
        (a timeout, a connection cut mid-answer, an answer that could not be read)."""
        return self.sent and self.status is None

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.kind.value

    def __str__(self) -> str:
        where = f"{self.provider}/{self.model}" if self.provider else self.model
        status = f" HTTP {self.status}" if self.status else ""
        return f"{self.kind.value} from {where}{status}: {self.message}"


class BackendConnectError(BackendError):
    kind = ErrorKind.CONNECTION


class BackendTimeout(BackendError):
    kind = ErrorKind.TIMEOUT


class RateLimited(BackendError):
    kind = ErrorKind.RATE_LIMITED


class UpstreamServerError(BackendError):
    kind = ErrorKind.SERVER


class ContextTooLong(BackendError):
    kind = ErrorKind.CONTEXT_TOO_LONG


class AuthError(BackendError):
    """401/403/404: a bad key or a model the backend does not have. Never retried on that backend."""

    kind = ErrorKind.AUTH


class BadRequest(BackendError):
    kind = ErrorKind.BAD_REQUEST


class BadResponse(BackendError):
    kind = ErrorKind.BAD_RESPONSE
