"""Prometheus metrics, fed by routing records.

The two histograms follow the OpenTelemetry GenAI semantic conventions,
``gen_ai.client.operation.duration`` (seconds) and ``gen_ai.client.token.usage`` (tokens), with
their attributes as labels; Prometheus spells dots as underscores. Router counters sit beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
_GENAI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type")

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, budget_remaining: Callable[[], dict[str, float]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.duration = Histogram(
            "gen_ai_client_operation_duration_seconds", "GenAI operation duration (one upstream attempt).",
            _GENAI_LABELS, buckets=_DURATION_BUCKETS, registry=r,
        )
        self.tokens = Histogram(
            "gen_ai_client_token_usage", "Tokens used per upstream attempt.",
            ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"),
            buckets=_TOKEN_BUCKETS, registry=r,
        )
        self.requests = Counter("router_requests", "Routed requests by final tier and status.",
                                ("tier", "entry_point", "status"), registry=r)
        self.escalations = Counter("router_escalations", "Requests that ended above their starting tier.",
                                   ("reason",), registry=r)
        self.degraded = Counter("router_degraded", "Requests answered locally because the cloud budget was spent.",
                                registry=r)
        self.cost = Counter("router_cost_usd", "Spend in USD by provider and model.",
                            ("gen_ai_provider_name", "gen_ai_request_model"), registry=r)
        self.overhead = Histogram("router_overhead_seconds", "Time spent in the router outside upstream calls.",
                                  buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
                                  registry=r)
        self.budget = Gauge("router_budget_remaining_usd", "Cloud budget left in the current window.",
                            ("window",), registry=r)
        self._budget_remaining = budget_remaining
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: the lookup is most of the cost of an observation."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, record: dict[str, Any]) -> None:
        """A record sink: count one routed request."""
        tier = record["router.final_tier"]
        self._child(self.requests, str(tier or "none"), record["router.entry_point"], record["router.status"]).inc()
        if record["router.escalated"]:
            self._child(self.escalations, _reason_class(record["router.escalation_reason"])).inc()
        if record["router.degraded"]:
            self.degraded.inc()
        self.overhead.observe(record["router.overhead_ms"] / 1000)
        for a in record["router.attempts"]:
            if a["router.outcome"] == "skipped":
                continue
            provider, model = a["gen_ai.provider.name"], a["gen_ai.request.model"]
            self._child(self.duration, "chat", provider, model, a["error.type"] or "").observe(
                a["router.latency_ms"] / 1000)
            for kind, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
                if a[key]:
                    self._child(self.tokens, "chat", provider, model, kind).observe(a[key])
            if a["router.cost_usd"]:
                self._child(self.cost, provider, model).inc(a["router.cost_usd"])

    def render(self) -> bytes:
        if self._budget_remaining is not None:
            try:
                for window, remaining in self._budget_remaining().items():
                    self.budget.labels(window).set(remaining)
            except Exception:  # an unreadable ledger must not break the scrape
                pass
        return generate_latest(self.registry)


def _reason_class(reason: str | None) -> str:
    """'tier1-quality:refusal' → 'tier1-quality:refusal'; drop free text after a second colon."""
    if not reason:
        return "unknown"
    return ":".join(reason.split(":")[:2])[:64]
