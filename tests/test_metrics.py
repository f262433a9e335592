"""The router's own metric aggregation against prometheus_client's Histogram and Counter.

``observe/metrics.py`` aggregates observations itself and exposes them through a custom collector (it
is cheaper per request). These tests feed the same values to prometheus_client's own metrics and
require identical exposition samples, bucket edges included. The counters of the shadow samples and the
second opinion, which no routing record carries, are scraped from a real server.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from faults.waiting import polled
from sim_support import FAST, HEAVY
from tiered_router.observe.metrics import _DURATION_BUCKETS, _TOKEN_BUCKETS, Metrics


def samples(text: bytes, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for f in text_string_to_metric_families(text.decode()):
        if f.name == family:
            for s in f.samples:
                if not s.name.endswith("_created"):
                    out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def attempt(latency_ms: float, tokens_in: int, tokens_out: int, cost: float = 0.0, model: str = "m",
            outcome: str = "accepted", error: str | None = None) -> dict[str, Any]:
    return {"router.outcome": outcome, "gen_ai.provider.name": "ollama", "gen_ai.request.model": model,
            "error.type": error, "router.latency_ms": latency_ms, "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out, "router.cost_usd": cost}


def record(attempts: list[dict[str, Any]], *, tier: int | None = 1, status: str = "ok", escalation: str | None = None,
           degraded: bool = False, overhead_ms: float = 0.3) -> dict[str, Any]:
    return {"router.final_tier": tier, "router.entry_point": "openai", "router.status": status,
            "router.escalated": escalation is not None, "router.escalation_reason": escalation,
            "router.degraded": degraded, "router.overhead_ms": overhead_ms, "router.attempts": attempts}


# Bucket edges exactly, values between them, and beyond the last one.
latencies = st.one_of(st.sampled_from([b * 1000 for b in _DURATION_BUCKETS]),
                      st.floats(0, 200_000, allow_nan=False, allow_infinity=False))
token_counts = st.one_of(st.sampled_from(_TOKEN_BUCKETS), st.integers(0, 10_000_000))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(latencies, token_counts, token_counts, st.sampled_from(["a", "b"])), min_size=1,
                max_size=20))
def test_histograms_match_prometheus_client(observations: list[tuple[float, int, int, str]]) -> None:
    ours = Metrics()
    registry = CollectorRegistry()
    labels = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type")
    duration = Histogram("gen_ai_client_operation_duration_seconds", "d", labels, buckets=_DURATION_BUCKETS,
                         registry=registry)
    tokens = Histogram("gen_ai_client_token_usage", "t", (*labels[:3], "gen_ai_token_type"), buckets=_TOKEN_BUCKETS,
                       registry=registry)
    for latency, t_in, t_out, model in observations:
        ours.observe(record([attempt(latency, t_in, t_out, model=model)]))
        duration.labels("chat", "ollama", model, "").observe(latency / 1000)
        for kind, n in (("input", t_in), ("output", t_out)):
            if n:
                tokens.labels("chat", "ollama", model, kind).observe(n)
    theirs = generate_latest(registry)
    for family in ("gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage"):
        mine, reference = samples(ours.render(), family), samples(theirs, family)
        assert mine.keys() == reference.keys()
        for key, value in reference.items():
            assert abs(mine[key] - value) <= 1e-9 * max(1.0, abs(value)), key


def test_counters_match_prometheus_client() -> None:
    ours = Metrics()
    registry = CollectorRegistry()
    requests = Counter("router_requests", "r", ("tier", "entry_point", "status"), registry=registry)
    escalations = Counter("router_escalations", "e", ("reason",), registry=registry)
    cost = Counter("router_cost_usd", "c", ("gen_ai_provider_name", "gen_ai_request_model"), registry=registry)
    runs = [
        record([attempt(10, 5, 7)]),
        record([attempt(10, 5, 0, outcome="rejected"), attempt(40, 5, 9, cost=0.0021, model="cloud")], tier=3,
               escalation="tier1-quality:refusal:said sorry"),
        record([attempt(3, 0, 0, outcome="skipped"), attempt(12, 4, 4)], tier=2),
        record([attempt(8, 0, 0, outcome="error", error="timeout")], tier=None, status="error"),
        record([attempt(40, 5, 9, cost=0.0009, model="cloud")], tier=3),
    ]
    for r in runs:
        ours.observe(r)
    requests.labels("1", "openai", "ok").inc()
    requests.labels("3", "openai", "ok").inc(2)
    requests.labels("2", "openai", "ok").inc()
    requests.labels("none", "openai", "error").inc()
    escalations.labels("tier1-quality:refusal").inc()
    cost.labels("ollama", "cloud").inc(0.003)
    theirs = generate_latest(registry)
    for family in ("router_requests", "router_escalations"):
        assert samples(ours.render(), family) == samples(theirs, family)
    (key, value), = samples(ours.render(), "router_cost_usd").items()
    assert key == ("router_cost_usd_total", (("gen_ai_provider_name", "ollama"), ("gen_ai_request_model", "cloud")))
    assert abs(value - 0.003) < 1e-12
    # The skipped attempt is not an operation; the failed one is, with its error type.
    ops = samples(ours.render(), "gen_ai_client_operation_duration_seconds")
    counts = {(dict(labels)["gen_ai_request_model"], dict(labels)["error_type"]): v
              for (name, labels), v in ops.items() if name.endswith("_count")}
    assert counts == {("m", ""): 3.0, ("cloud", ""): 2.0, ("m", "timeout"): 1.0}


def test_degraded_counter_and_budget_gauge() -> None:
    ours = Metrics(budget_remaining=lambda: {"daily": 4.5, "monthly": 49.0})
    assert samples(ours.render(), "router_degraded") == {("router_degraded_total", ()): 0.0}
    ours.observe(record([attempt(5, 1, 1)], degraded=True))
    assert samples(ours.render(), "router_degraded") == {("router_degraded_total", ()): 1.0}
    assert samples(ours.render(), "router_budget_remaining_usd") == {
        ("router_budget_remaining_usd", (("window", "daily"),)): 4.5,
        ("router_budget_remaining_usd", (("window", "monthly"),)): 49.0,
    }


def test_an_unreadable_ledger_does_not_break_the_scrape() -> None:
    def broken() -> dict[str, float]:
        raise OSError("disk gone")

    ours = Metrics(budget_remaining=broken)
    ours.observe(record([attempt(5, 1, 1)]))
    text = ours.render()
    assert samples(text, "router_budget_remaining_usd") == {}
    assert samples(text, "router_requests")


def test_nan_and_negative_values_follow_prometheus_rules() -> None:
    """NaN falls only in +Inf; a counter never goes down; unlabelled series are shown from zero."""
    ours = Metrics()
    overhead = samples(ours.render(), "router_overhead_seconds")
    assert overhead[("router_overhead_seconds_count", ())] == 0.0
    ours.observe(record([attempt(float("nan"), 1, 1, cost=0.002), attempt(5, 1, 1, cost=-0.001)]))
    ops = samples(ours.render(), "gen_ai_client_operation_duration_seconds")
    labels = (("error_type", ""), ("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", "ollama"),
              ("gen_ai_request_model", "m"))
    buckets = {dict(k[1])["le"]: v for k, v in ops.items() if k[0].endswith("_bucket")}
    assert buckets["0.01"] == 1.0 and buckets["+Inf"] == 2.0  # the 5 ms attempt only; NaN in +Inf alone
    assert ops[("gen_ai_client_operation_duration_seconds_count", labels)] == 2.0
    (_, cost), = samples(ours.render(), "router_cost_usd").items()
    assert abs(cost - 0.002) < 1e-12


def test_broken_shadow_or_verify_counts_do_not_break_the_scrape() -> None:
    def broken() -> dict:
        raise RuntimeError("gone")

    ours = Metrics(shadows=broken, verify=broken)
    ours.observe(record([attempt(5, 1, 1)]))
    text = ours.render()
    assert samples(text, "router_shadow_samples") == {} and samples(text, "router_verify") == {}
    assert samples(text, "router_requests")


# ---- the learning signals, scraped from a real server ----------------------------------------------------------
# Requests go through the server with the openai client, against the simulator (tests/test_shadow.py and
# tests/test_verify.py say how its answers agree or not).


LABELS = {"router_shadow_samples": ("tier", "outcome"), "router_verify": ("outcome",)}


def scrape(server, family: str) -> dict[tuple[str, ...], float]:
    """One family's ``_total`` samples from the server's /metrics, keyed by their label values."""
    text = httpx.get(server.url + "/metrics").text
    [found] = [f for f in text_string_to_metric_families(text) if f.name == family]
    assert found.type == "counter"
    out = {}
    for s in found.samples:
        assert s.name == family + "_total" and set(s.labels) == set(LABELS[family])
        out[tuple(s.labels[name] for name in LABELS[family])] = s.value
    return out


def ask(server, *prompts: str) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    for prompt in prompts:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": prompt}])


def test_shadow_samples_on_metrics(serve) -> None:
    server = serve(shadow_rate=1.0, shadow_cloud=True)
    server.router.shadows.max_in_flight = 8  # none dropped, however the samples overlap
    assert scrape(server, "router_shadow_samples") == {
        ("2", "agree"): 0, ("2", "disagree"): 0, ("3", "agree"): 0, ("3", "disagree"): 0}
    ask(server, "Hello", f"Hello [[sim:bad-json@{HEAVY}]]", f"Hello [[sim:refuse@{HEAVY}]]",
        f"Hello [[sim:http500@{HEAVY}]]",
        "Plan the optimal path to become Hortator")  # tier 2 answers it; the cloud's shadow disagrees

    def all_five_ended() -> dict | None:  # the samples end after the answers
        found = scrape(server, "router_shadow_samples")
        return found if sum(found.values()) == 5 else None

    assert polled(all_five_ended, timeout=10) == {
        ("2", "agree"): 1, ("2", "disagree"): 1, ("2", "rejected"): 1, ("2", "failed"): 1,
        ("3", "agree"): 0, ("3", "disagree"): 1}


def test_downward_shadow_samples_on_metrics(serve) -> None:
    server = serve(shadow_down_rate=1.0, heavy_threshold=0.05)  # greetings start on tier 2
    server.router.shadows.max_in_flight = 8
    assert scrape(server, "router_shadow_samples") == {("1", "agree"): 0, ("1", "disagree"): 0}
    ask(server, "Hello", f"Hello [[sim:bad-json@{FAST}]]", f"Hello [[sim:refuse@{FAST}]]")

    def all_three_ended() -> dict | None:
        found = scrape(server, "router_shadow_samples")
        return found if sum(found.values()) == 3 else None

    assert polled(all_three_ended, timeout=10) == {("1", "agree"): 1, ("1", "disagree"): 1, ("1", "rejected"): 1}


def test_second_opinions_on_metrics(serve) -> None:
    server = serve(verify=0.3)
    assert scrape(server, "router_verify") == {("agree",): 0, ("disagree",): 0, ("one-passed",): 0,
                                               ("neither",): 0}
    ask(server, "Hello", f"Hello [[sim:bad-json@{HEAVY}]]", f"Hello [[sim:refuse@{FAST}]]",
        f"Hello [[sim:refuse@{FAST}]] [[sim:empty@{HEAVY}]]", "Walk to the next room")  # the last: out of the band
    assert scrape(server, "router_verify") == {("agree",): 1, ("disagree",): 1, ("one-passed",): 1,
                                               ("neither",): 1}
    assert scrape(server, "router_shadow_samples") == {}  # no shadow samples: TIER_SHADOW_RATE is 0


def test_no_series_when_both_are_off(serve) -> None:
    server = serve()
    ask(server, "Hello")
    assert scrape(server, "router_verify") == {} and scrape(server, "router_shadow_samples") == {}
