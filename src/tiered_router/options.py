"""What a caller may say about one request, besides the messages: a typed options object.

The library's seed API took an untyped ``context`` dict (``{"tier": "cloud", "allow_cloud": False}``);
dicts are still accepted everywhere and read once, here, into ``RouteOptions``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .errors import InvalidRequest
from .tiers import Tier


@dataclass(frozen=True, slots=True)
class RouteOptions:
    """``tier`` forces a tier (it is the only one tried, and it is not scored); ``allow_cloud=False``
    caps the plan at tier 2; ``request_id`` names the request in its record (a random one otherwise);
    ``answer_format`` tells the gate what shape a right answer has (``"choice"``, ``"number"``, ...);
    ``entry_point`` says which front the request came through."""
    # (tool_count is not the caller's to set: the router fills it in from the request.)

    tier: Tier | None = None
    allow_cloud: bool = True
    request_id: str | None = None
    answer_format: str | None = None
    entry_point: str = "library"
    tool_count: int = 0  # how many tools the request offers: set by the router, read by the classifier

    @classmethod
    def coerce(cls, value: RouteOptions | Mapping[str, Any] | None) -> RouteOptions:
        """Options from a ``RouteOptions``, a context dict (unknown keys are ignored, as they always were),
        or None. A tier that does not parse is an ``InvalidRequest``."""
        if value is None:
            return _DEFAULT
        if isinstance(value, RouteOptions):
            return value
        if not isinstance(value, Mapping):
            raise InvalidRequest(f"context must be a mapping or RouteOptions, got {type(value).__name__}")
        known = {k: value[k] for k in _FIELDS if value.get(k) is not None}
        if "tier" in known:
            try:
                known["tier"] = Tier.parse(known["tier"])
            except ValueError as exc:
                raise InvalidRequest(f"context['tier'] is invalid: {exc}") from None
        if "allow_cloud" in known:
            known["allow_cloud"] = known["allow_cloud"] is not False
        for key in ("request_id", "answer_format", "entry_point"):
            if key in known:
                known[key] = str(known[key])
        return cls(**known)


_FIELDS = tuple(f.name for f in fields(RouteOptions))
_DEFAULT = RouteOptions()


def new_request_id() -> str:
    """128 random bits as hex. Not a secret, so the fast generator will do (uuid4 makes a syscall)."""
    return f"{random.getrandbits(128):032x}"
