"""Errors the router raises. The classes of backend failures are beside the backends (``backends/errors.py``)."""

from __future__ import annotations

from typing import Any


class RouterError(Exception):
    """Base class of everything tiered-router raises on purpose."""

    code = "router_error"


class ConfigError(RouterError, ValueError):
    """Bad configuration. The message names the setting."""

    code = "config_error"


class InvalidRequest(RouterError, ValueError):
    """The request itself is wrong (no messages, an unknown role, a bad parameter). The message says what."""

    code = "invalid_request"


class UnsupportedField(InvalidRequest):
    """A field the request carries that a tier's protocol cannot express, with no equivalent to convert it to.
    Raised before any tier is called; the message names the field and the tier."""

    code = "unsupported_field"

    def __init__(self, field: str, why: str, where: str = "") -> None:
        self.field, self.why, self.where = field, why, where
        super().__init__(f"{field}: {why}" + (f" ({where})" if where else ""))

    def at(self, where: str) -> UnsupportedField:
        """The same refusal, naming the tier and model that cannot take the field."""
        return UnsupportedField(self.field, self.why, where)


class CloudUnavailable(RouterError):
    """The cloud tier was asked for but is disabled (no API key, or turned off)."""

    code = "cloud_unavailable"


class AllTiersFailed(RouterError):
    """Every tier that was tried failed. ``attempts`` lists what happened on each."""

    code = "all_tiers_failed"

    def __init__(self, message: str, attempts: list[Any], request_id: str = "") -> None:
        super().__init__(message)
        self.attempts = attempts
        self.request_id = request_id


class CloudBudgetExceeded(RouterError):
    """The cloud was required (forced, or no local answer to fall back on) and the budget is spent."""

    code = "budget_exceeded"


class LogDisabled(RouterError):
    """Something that needs the routing log (feedback, learning) was asked for while it is off
    (``TIER_LOG_ENABLED=false``)."""

    code = "log_disabled"


class StreamBroken(RouterError):
    """An upstream stream broke after bytes had reached the client: the answer is incomplete."""

    code = "stream_broken"

    def __init__(self, message: str, request_id: str = "") -> None:
        super().__init__(message)
        self.request_id = request_id
