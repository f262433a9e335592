"""The routing record: one per request, whatever happened.

Field names follow the OpenTelemetry GenAI conventions where one exists (``gen_ai.*``) and use a
``router.`` prefix otherwise. Prompt and answer text are stored only when the user opted in;
otherwise a SHA-256 and a length stand in for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..messages import Message, content_text

if TYPE_CHECKING:
    from ..classify import Decision
    from ..errors import RouterError
    from ..result import Attempt, RoutedResponse
    from ..tiers import Tier

RecordSink = Callable[[dict[str, Any]], None]
routing_log = logging.getLogger("tiered_router.routing")


def log_sink(record: dict[str, Any]) -> None:
    """Emit the record as one JSON line through the standard logging module."""
    if routing_log.isEnabledFor(logging.INFO):
        routing_log.info(json.dumps(record, separators=(",", ":"), default=str))


def content_digest(messages: Sequence[Message]) -> tuple[str, int]:
    text = "\n".join(f"{m.get('role')}:{content_text(m.get('content'))}" for m in messages)
    return hashlib.sha256(text.encode()).hexdigest(), len(text)


def build_record(
    *, response: RoutedResponse | None, error: RouterError | None, decision: Decision, forced: Tier | None,
    attempts: Sequence[Attempt], request_id: str, latency_ms: float, entry_point: str,
    messages: Sequence[Message], answer: str | None, store_content: bool, finished_at: float | None = None,
) -> dict[str, Any]:
    """The record of one request. ``finished_at`` (epoch seconds) is when it ended; now by default."""
    digest, length = content_digest(messages)
    tokens_in = sum(a.usage.input_tokens for a in attempts)
    tokens_out = sum(a.usage.output_tokens for a in attempts)
    upstream_ms = sum(a.latency_ms for a in attempts)
    record: dict[str, Any] = {
        "request_id": request_id,
        "time": time.time() if finished_at is None else finished_at,
        "router.entry_point": entry_point,
        "router.classified_tier": int(decision.tier) if forced is None else None,
        "router.score": round(decision.score, 4) if forced is None else None,  # a forced tier is not scored
        "router.reasons": list(decision.reasons),
        "router.forced_tier": int(forced) if forced is not None else None,
        "router.final_tier": int(response.tier) if response else None,
        "gen_ai.provider.name": response.provider if response else None,
        "gen_ai.response.model": response.model if response else None,
        "router.escalated": bool(response and response.escalated),
        "router.escalation_reason": response.escalation_reason if response else None,
        "router.degraded": bool(response and response.degraded),
        "router.degraded_reason": response.degraded_reason if response else None,
        "router.quality": response.quality if response else None,
        "gen_ai.usage.input_tokens": tokens_in,
        "gen_ai.usage.output_tokens": tokens_out,
        "router.cost_usd": round(sum(a.cost_usd for a in attempts), 8),
        "router.cost_estimated": any(a.usage.estimated for a in attempts if a.outcome != "skipped"),
        "router.latency_ms": round(latency_ms, 3),
        "router.overhead_ms": round(max(0.0, latency_ms - upstream_ms), 3),
        "router.status": "ok" if error is None else "error",
        "error.type": getattr(error, "code", None) if error else None,
        "router.prompt_sha256": digest,
        "router.prompt_chars": length,
        "router.answer_chars": len(answer) if answer is not None else None,
        "router.attempts": [a.as_dict() for a in attempts],
    }
    if store_content:
        record["router.prompt"] = [{"role": m.get("role"), "content": content_text(m.get("content"))}
                                   for m in messages]
        record["router.answer"] = answer
    return record
