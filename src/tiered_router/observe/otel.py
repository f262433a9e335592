"""Optional OpenTelemetry: each request a span ``chat {model}``, each attempt a child span.

Active only when ``opentelemetry-sdk`` is installed (``pip install 'tiered-router[otel]'``) and the
application has configured a tracer provider (one configured after the router was built is noticed
within a second); otherwise ``otel_sink()`` returns None and nothing is imported. Spans are made from
the routing record after the request, with the record's own timings, so tracing adds no work to the
request path beyond this sink. Attribute names follow the OpenTelemetry GenAI semantic conventions.
"""

from __future__ import annotations

import time
from typing import Any

from .record import RecordSink

_NS = 1_000_000


def otel_sink() -> RecordSink | None:
    try:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode
    except ImportError:
        return None
    tracer = trace.get_tracer("tiered_router")
    # Whether the application has configured a tracer provider. Asking costs an os.environ lookup, several
    # µs on every request, so while the answer is no it is asked again at most once a second. Once yes, it
    # stays yes: OpenTelemetry sets the global provider only once.
    configured = [False]
    checked = [-1.0]

    def tracing_configured() -> bool:
        now = time.monotonic()
        if not configured[0] and now - checked[0] >= 1.0:
            checked[0] = now
            configured[0] = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        return configured[0]

    tracing_configured()

    def sink(record: dict[str, Any]) -> None:
        if not tracing_configured():
            return  # nobody configured tracing: skip building spans that would go nowhere
        end_ns = int(record["time"] * 1e9)
        start_ns = end_ns - int(record["router.latency_ms"] * _NS)
        model = record.get("gen_ai.response.model") or "auto"
        span = tracer.start_span(f"chat {model}", start_time=start_ns, kind=trace.SpanKind.CLIENT,
                                 attributes=_request_attributes(record))
        if record["router.status"] != "ok":
            span.set_status(Status(StatusCode.ERROR, record.get("error.type") or "error"))
        context = trace.set_span_in_context(span)
        cursor = start_ns
        for index, attempt in enumerate(record["router.attempts"]):
            duration = int(attempt["router.latency_ms"] * _NS)
            child = tracer.start_span(f"chat {attempt['gen_ai.request.model']}", context=context, start_time=cursor,
                                      kind=trace.SpanKind.CLIENT, attributes=_attempt_attributes(attempt, index))
            if attempt["router.outcome"] == "error":
                child.set_status(Status(StatusCode.ERROR, attempt.get("error.type") or "error"))
            child.end(end_time=min(cursor + duration, end_ns))
            cursor = min(cursor + duration, end_ns)
        span.end(end_time=end_ns)

    return sink


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def _request_attributes(r: dict[str, Any]) -> dict[str, Any]:
    return _clean({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": r.get("gen_ai.provider.name"),
        "gen_ai.response.model": r.get("gen_ai.response.model"),
        "gen_ai.usage.input_tokens": r.get("gen_ai.usage.input_tokens"),
        "gen_ai.usage.output_tokens": r.get("gen_ai.usage.output_tokens"),
        "error.type": r.get("error.type"),
        "router.request_id": r["request_id"],
        "router.entry_point": r.get("router.entry_point"),
        "router.classified_tier": r.get("router.classified_tier"),
        "router.forced_tier": r.get("router.forced_tier"),
        "router.final_tier": r.get("router.final_tier"),
        "router.score": r.get("router.score"),
        "router.escalated": r.get("router.escalated"),
        "router.escalation_reason": r.get("router.escalation_reason"),
        "router.degraded": r.get("router.degraded"),
        "router.cost_usd": r.get("router.cost_usd"),
    })


def _attempt_attributes(a: dict[str, Any], index: int) -> dict[str, Any]:
    return _clean({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": a.get("gen_ai.provider.name"),
        "gen_ai.request.model": a.get("gen_ai.request.model"),
        "gen_ai.usage.input_tokens": a.get("gen_ai.usage.input_tokens"),
        "gen_ai.usage.output_tokens": a.get("gen_ai.usage.output_tokens"),
        "gen_ai.response.finish_reasons": tuple(a.get("gen_ai.response.finish_reasons") or ()) or None,
        "error.type": a.get("error.type"),
        "router.attempt": index,
        "router.tier": a.get("tier"),
        "router.outcome": a.get("router.outcome"),
        "router.quality": a.get("router.quality"),
        "router.cost_usd": a.get("router.cost_usd"),
    })
