"""The recorder seam: where the router hands each finished request, to be written down.

The router calls ``recorder.record(outcome)`` once per request, whatever happened, and nothing else.
``SinkRecorder``, the default, builds the routing record at once and gives it to each sink (a JSON log
line, the routing log, tracing). The server wraps it in a batching recorder of its own that builds and
writes records after the answers have gone out (``server/records.py``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import RouterError
from ..learn.stored import request_features
from ..observe.record import RecordSink, content_digest
from .call import Call
from .results import AttemptOutcome, RecordStatus, RoutedResponse

log = logging.getLogger("tiered_router")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished request: its call, and either the response or the error. ``finished_at`` is epoch
    seconds, taken when the request ended (a recorder may write it later)."""

    call: Call
    response: RoutedResponse | None
    error: RouterError | None
    latency_ms: float
    finished_at: float


class Recorder(Protocol):
    def record(self, outcome: Outcome) -> None:
        """Take one finished request. Must not raise, and should not block: it runs on the request path."""

    def flush(self) -> None:
        """Write whatever is waiting, now."""


class FanOut:
    """Hands each outcome to several recorders, in order."""

    def __init__(self, *recorders: Recorder) -> None:
        self.recorders = recorders

    def record(self, outcome: Outcome) -> None:
        for recorder in self.recorders:
            recorder.record(outcome)

    def flush(self) -> None:
        for recorder in self.recorders:
            recorder.flush()


class SinkRecorder:
    """Builds each record at once and hands it to every sink; keeps the last ``keep`` in ``records``.

    ``store_content`` keeps prompt and answer text in the record (off: a hash and a length);
    ``store_features`` keeps the request's learning features (``learn.stored``), not its text."""

    def __init__(self, sinks: Iterable[RecordSink] = (), *, store_content: bool = False,
                 store_features: bool = False, keep: int = 1000) -> None:
        self.sinks: list[RecordSink] = list(sinks)
        self.store_content = store_content
        self.store_features = store_features
        self.records: deque[dict[str, Any]] = deque(maxlen=keep)

    def adding(self, *sinks: RecordSink) -> SinkRecorder:
        """A recorder that writes to these sinks as well, sharing ``records`` with this one."""
        other = SinkRecorder([*self.sinks, *sinks], store_content=self.store_content,
                             store_features=self.store_features)
        other.records = self.records
        return other

    def record(self, outcome: Outcome) -> None:
        self.write(outcome_record(outcome, self.store_content, self.store_features))

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        for sink in self.sinks:
            try:
                sink(record)
            except Exception:  # a broken sink must never fail the request it describes
                log.exception("routing record sink failed")

    def flush(self) -> None:
        return None


def outcome_record(outcome: Outcome, store_content: bool, store_features: bool = False) -> dict[str, Any]:
    """The routing record of one request, whatever happened.

    Field names follow the OpenTelemetry GenAI conventions where one exists (``gen_ai.*``) and use a
    ``router.`` prefix otherwise. Prompt and answer text are stored only when the user opted in
    (``store_content``); otherwise a SHA-256 and a length stand in for them. ``store_features`` adds the
    request's learning features (``router.features``: hashed, not the text; ``learn.stored``).
    """
    call, response, error = outcome.call, outcome.response, outcome.error
    decision, forced, attempts, messages = call.decision, call.forced, call.attempts, call.messages
    answer = response.text if response else None
    digest, length = content_digest(messages)
    record: dict[str, Any] = {
        "request_id": call.request_id,
        "time": outcome.finished_at,
        "router.entry_point": call.options.entry_point,
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
        "gen_ai.usage.input_tokens": sum(a.usage.input_tokens for a in attempts),
        "gen_ai.usage.output_tokens": sum(a.usage.output_tokens for a in attempts),
        "router.cost_usd": round(sum(a.cost_usd for a in attempts), 8),
        "router.cost_estimated": any(a.usage.estimated for a in attempts if a.outcome != AttemptOutcome.SKIPPED),
        "router.latency_ms": round(outcome.latency_ms, 3),
        "router.overhead_ms": round(max(0.0, outcome.latency_ms - sum(a.latency_ms for a in attempts)), 3),
        "router.status": str(RecordStatus.OK if error is None else RecordStatus.ERROR),
        "error.type": getattr(error, "code", None) if error else None,
        "router.prompt_sha256": digest,
        "router.prompt_chars": length,
        "router.answer_chars": len(answer) if answer is not None else None,
        "router.attempts": [a.as_dict() for a in attempts],
    }
    if store_content:
        record["router.prompt"] = [{"role": m.role, "content": m.text} for m in messages]
        record["router.answer"] = answer
    if store_features and messages:
        record["router.features"] = _features(call)
    return record


def _features(call: Call) -> str | None:
    try:
        return request_features(call.messages, call.options)
    except Exception:  # a record is written whatever happens; a request the features cannot read has none
        log.exception("computing the learning features of request %s failed", call.request_id)
        return None
