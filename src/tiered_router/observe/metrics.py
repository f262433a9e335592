"""Prometheus metrics, fed by routing records.

The two histograms follow the OpenTelemetry GenAI semantic conventions,
``gen_ai.client.operation.duration`` (seconds) and ``gen_ai.client.token.usage`` (tokens), with
their attributes as labels; Prometheus spells dots as underscores. Router counters sit beside them, and
two that no record carries, read from the router at each scrape: ``router_shadow_samples_total{tier,outcome}``
and ``router_verify_total{outcome}`` (docs/observability.md).

Observations are aggregated here, under one lock per record, and handed to ``prometheus_client`` as
metric families when scraped (its documented custom-collector interface). ``prometheus_client``'s own
``Histogram.observe`` takes a lock per value and scans the buckets in Python; with six observations
per request that was 12 % of the proxy's instructions per request (docs/performance.md).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)
_GENAI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type")
_TOKEN_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type")

CONTENT_TYPE = CONTENT_TYPE_LATEST
K = TypeVar("K")


class _Histogram:
    """Bucket counts and sums per label tuple (not thread-safe alone: Metrics holds its lock)."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels, self.bounds = name, doc, labels, buckets
        self.series: dict[tuple[str, ...], list[float]] = {}  # [count per bucket ..., +Inf, sum]
        if not labels:  # an unlabelled histogram is shown from the start, at zero
            self.series[()] = [0.0] * (len(buckets) + 2)

    def observe(self, key: tuple[str, ...], value: float) -> None:
        row = self.series.get(key)
        if row is None:
            row = self.series[key] = [0.0] * (len(self.bounds) + 2)
        # le semantics: a value equal to a bound falls in it; NaN only in +Inf, as prometheus_client does.
        row[bisect_left(self.bounds, value) if value == value else len(self.bounds)] += 1
        row[-1] += value

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for key, row in self.series.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self.bounds, float("inf")), row, strict=False):
                cumulative += count
                buckets.append((_go_float(bound), cumulative))  # the client's own spelling
            family.add_metric(list(key), buckets, row[-1])
        return family


class _Counter:
    def __init__(self, name: str, doc: str, labels: tuple[str, ...]) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.series: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        if not amount >= 0:  # a counter never goes down (NaN and negative amounts are dropped)
            return
        self.series[key] = self.series.get(key, 0.0) + amount

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for key, value in self.series.items():
            family.add_metric(list(key), value)
        return family


class Metrics:
    """The server's metrics. Most are fed by routing records (``observe``); the rest are read at each scrape:
    ``budget_remaining`` (window → USD), ``shadows`` ((tier asked, outcome) → samples) and ``verify``
    (outcome → requests), counts kept by the router's shadow samples and second opinion, which happen
    apart from any one record."""

    def __init__(self, budget_remaining: Callable[[], dict[str, float]] | None = None, *,
                 shadows: Callable[[], Mapping[tuple[int, str], float]] | None = None,
                 verify: Callable[[], Mapping[str, float]] | None = None) -> None:
        self._lock = threading.Lock()
        self.duration = _Histogram("gen_ai_client_operation_duration_seconds",
                                   "GenAI operation duration (one upstream attempt).", _GENAI_LABELS,
                                   _DURATION_BUCKETS)
        self.tokens = _Histogram("gen_ai_client_token_usage", "Tokens used per upstream attempt.", _TOKEN_LABELS,
                                 _TOKEN_BUCKETS)
        self.overhead = _Histogram("router_overhead_seconds", "Time spent in the router outside upstream calls.",
                                   (), _OVERHEAD_BUCKETS)
        self.requests = _Counter("router_requests", "Routed requests by final tier and status.",
                                 ("tier", "entry_point", "status"))
        self.escalations = _Counter("router_escalations", "Requests that ended above their starting tier.",
                                    ("reason",))
        self.degraded = _Counter("router_degraded", "Requests answered locally because the cloud budget was spent.",
                                 ())
        self.cost = _Counter("router_cost_usd", "Spend in USD by provider and model.",
                             ("gen_ai_provider_name", "gen_ai_request_model"))
        self._budget_remaining = budget_remaining
        self._shadows = shadows
        self._verify = verify
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)  # a collector is anything with collect()

    def observe(self, record: dict[str, Any]) -> None:
        """A record sink: count one routed request."""
        tier = record["router.final_tier"]
        with self._lock:
            self.requests.inc((str(tier or "none"), record["router.entry_point"], record["router.status"]))
            if record["router.escalated"]:
                self.escalations.inc((_reason_class(record["router.escalation_reason"]),))
            if record["router.degraded"]:
                self.degraded.inc(())
            self.overhead.observe((), record["router.overhead_ms"] / 1000)
            for a in record["router.attempts"]:
                if a["router.outcome"] == "skipped":
                    continue
                provider, model = a["gen_ai.provider.name"], a["gen_ai.request.model"]
                self.duration.observe(("chat", provider, model, a["error.type"] or ""), a["router.latency_ms"] / 1000)
                if a["gen_ai.usage.input_tokens"]:
                    self.tokens.observe(("chat", provider, model, "input"), a["gen_ai.usage.input_tokens"])
                if a["gen_ai.usage.output_tokens"]:
                    self.tokens.observe(("chat", provider, model, "output"), a["gen_ai.usage.output_tokens"])
                if a["router.cost_usd"]:
                    self.cost.inc((provider, model), a["router.cost_usd"])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families: list[Metric] = [m.family() for m in (self.duration, self.tokens, self.requests,
                                                           self.escalations, self.cost, self.overhead,
                                                           self.degraded)]
        budget = GaugeMetricFamily("router_budget_remaining_usd", "Cloud budget left in the current window.",
                                   labels=("window",))
        if self._budget_remaining is not None:
            try:
                for window, remaining in self._budget_remaining().items():
                    budget.add_metric([window], remaining)
            except Exception:  # an unreadable ledger must not break the scrape
                pass
        families.append(budget)
        shadows = CounterMetricFamily("router_shadow_samples", "Shadow samples by the tier asked and how they "
                                      "ended (TIER_SHADOW_RATE, TIER_SHADOW_DOWN_RATE).", labels=("tier", "outcome"))
        for (tier, outcome), count in _read(self._shadows).items():
            shadows.add_metric([str(tier), outcome], count)
        verify = CounterMetricFamily("router_verify", "Requests given a second opinion, by outcome (TIER_VERIFY).",
                                     labels=("outcome",))
        for outcome, count in _read(self._verify).items():
            verify.add_metric([outcome], count)
        families += [shadows, verify]
        yield from families

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _read(counts: Callable[[], Mapping[K, float]] | None) -> dict[K, float]:
    """A copy of what ``counts`` gives (nothing when it is None or fails: a scrape never breaks on it)."""
    if counts is None:
        return {}
    try:
        return dict(counts())
    except Exception:
        return {}


def _reason_class(reason: str | None) -> str:
    """'tier1-quality:refusal' → 'tier1-quality:refusal'; drop free text after a second colon."""
    if not reason:
        return "unknown"
    return ":".join(reason.split(":")[:2])[:64]


def _go_float(value: float) -> str:
    """A bucket bound spelt the way prometheus_client spells it (``+Inf``, ``0.5``)."""
    spelt: str = floatToGoString(value)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
    return spelt
