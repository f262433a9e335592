"""Where routing records go (sinks), and the digest that stands in for a prompt in them.

The record itself is built from a request's outcome in ``routing/recorder.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ..chat import Message

RecordSink = Callable[[dict[str, Any]], None]
routing_log = logging.getLogger("tiered_router.routing")


def log_sink(record: dict[str, Any]) -> None:
    """Emit the record as one JSON line through the standard logging module."""
    if routing_log.isEnabledFor(logging.INFO):
        if "router.features" in record:  # hashed features are for the learner, not for reading in a log line
            record = {k: v for k, v in record.items() if k != "router.features"}
        routing_log.info(json.dumps(record, separators=(",", ":"), default=str))


def content_digest(messages: Sequence[Message]) -> tuple[str, int]:
    text = "\n".join(f"{m.role}:{m.text}" for m in messages)
    return hashlib.sha256(text.encode()).hexdigest(), len(text)
