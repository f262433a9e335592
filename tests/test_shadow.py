"""Shadow samples (``TIER_SHADOW_RATE``, ``TIER_SHADOW_CLOUD``): the real router over loopback HTTP against the
simulator, the judgements read back from the routing log.

How the simulator's answers compare (``learn.agree``): a greeting gets the same line from every model, so
tier 1 and tier 2 agree on "Hello" (text, similarity 1.0); ``[[sim:bad-json@hermes3:70b]]`` makes only tier
2 answer with broken JSON, which the gate lets through on a request that did not ask for JSON and which
disagrees with the greeting. A plan ends "(Simulated answer from MODEL.)", so tier 2's and the cloud's plans
disagree by number.

Downward samples (``TIER_SHADOW_DOWN_RATE``) need requests the classifier starts on tier 2 whose answers tier 1
can match: with the heavy threshold at ``LOW`` (0.05) a greeting (scored 0.2 to 0.35) starts on tier 2, and
every model greets the same way.
"""

from __future__ import annotations

import json
import logging
import random

import openai
import pytest
from click.testing import CliRunner

from sim_support import CLOUD, FAST, HEAVY, calls, since
from tiered_router.chat import ChatRequest, ChatResult, Message, ToolCall, Usage
from tiered_router.cli import main
from tiered_router.config import load_settings
from tiered_router.errors import ConfigError
from tiered_router.learn import Agreement
from tiered_router.learn.from_log import label_of, labelled_requests
from tiered_router.options import RouteOptions
from tiered_router.routing.compare import compare
from tiered_router.tiers import Tier

DIFFERENT = f"Hello [[sim:bad-json@{HEAVY}]]"
PLAN = "Plan the optimal path to become Hortator"  # classified tier 2
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}



def shadow_of(router, request_id: str) -> dict | None:
    router.recorder.flush()
    router.log_store.flush()
    record = router.log_store.get(request_id)
    assert record is not None, "the request's own record is in the log"
    return record.get("router.shadow")


async def test_a_tier_1_answer_is_checked_by_tier_2(make_router, simulator, records) -> None:
    router = make_router(shadow_rate=1.0)
    before = calls(simulator)
    r = await router.complete("Hello")
    # The client's answer is tier 1's alone: one attempt, one record.
    assert (r.tier, r.model, len(r.attempts), r.escalated) == (Tier.LOCAL_FAST, FAST, 1, False)
    assert r.text.startswith("Hello!")
    await router.shadows.drain()
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}
    assert shadow_of(router, r.request_id) == {"agree": True, "tier": 2, "model": HEAVY, "method": "text",
                                               "cost_usd": 0.0, "time": pytest.approx(records[-1]["time"], abs=60)}
    assert len(records) == 1 and len(records[0]["router.attempts"]) == 1
    assert (router.shadows.stats.sampled, router.shadows.stats.agreed) == (1, 1)


async def test_a_different_tier_2_answer_is_a_disagreement(make_router) -> None:
    router = make_router(shadow_rate=1.0)
    r = await router.complete(DIFFERENT)
    assert r.tier == Tier.LOCAL_FAST and r.text.startswith("Hello!")
    await router.shadows.drain()
    shadow = shadow_of(router, r.request_id)
    assert (shadow["agree"], shadow["tier"], shadow["method"]) == (False, 2, "text")
    assert router.shadows.stats.disagreed == 1


async def test_the_learner_reads_the_judgements_as_labels(make_router) -> None:
    """learn/from_log.py: a tier-2 shadow of a tier-1 answer labels the request (disagreement 1, agreement 0)."""
    router = make_router(shadow_rate=1.0)
    same, other = await router.complete("Hello"), await router.complete(DIFFERENT)
    await router.shadows.drain()
    shadow_of(router, same.request_id)  # flushes
    assert label_of(router.log_store.get(same.request_id)) == (0.0, "shadow")
    assert label_of(router.log_store.get(other.request_id)) == (1.0, "shadow")


async def test_rate_0_sends_nothing(make_router, simulator) -> None:
    router = make_router()  # the default
    before = calls(simulator)
    r = await router.complete("Hello")
    await router.shadows.drain()
    assert since(simulator, before) == {"fast": 1, "heavy": 0, "cloud": 0}
    assert shadow_of(router, r.request_id) is None and router.shadows.stats.sampled == 0


async def test_no_sample_of_pinned_tiers_escalations_to_the_top_or_failures(make_router, simulator) -> None:
    router = make_router(shadow_rate=1.0)
    before = calls(simulator)
    pinned = await router.complete("Hello", {"tier": "tier-1"})
    await router.shadows.drain()
    assert since(simulator, before)["heavy"] == 0 and shadow_of(router, pinned.request_id) is None
    # Tier 1 refused, tier 2 answered: its shadow would be the cloud, which is off by default.
    escalated = await router.complete(f"Hello [[sim:refuse@{FAST}]]")
    await router.shadows.drain()
    assert escalated.tier == Tier.LOCAL_HEAVY and shadow_of(router, escalated.request_id) is None
    assert since(simulator, before)["cloud"] == 0 and router.shadows.stats.sampled == 0


async def test_the_cloud_only_with_shadow_cloud_and_paid_from_the_budget(make_router, simulator) -> None:
    local_only = make_router(shadow_rate=1.0)
    before = calls(simulator)
    r = await local_only.complete(PLAN)
    await local_only.shadows.drain()
    assert r.tier == Tier.LOCAL_HEAVY and shadow_of(local_only, r.request_id) is None
    assert since(simulator, before)["cloud"] == 0

    router = make_router(shadow_rate=1.0, shadow_cloud=True)
    r = await router.complete(PLAN)
    assert r.tier == Tier.LOCAL_HEAVY and r.cost_usd == 0 and len(r.attempts) == 1
    await router.shadows.drain()
    assert since(simulator, before)["cloud"] == 1
    shadow = shadow_of(router, r.request_id)
    assert (shadow["agree"], shadow["tier"], shadow["model"], shadow["method"]) == (False, 3, CLOUD, "number")
    assert shadow["cost_usd"] > 0
    daily = router.budget.get_summary()["daily"]
    assert daily["spent_usd"] == pytest.approx(shadow["cost_usd"]) and daily["reserved_usd"] == 0
    # A request that keeps off the cloud keeps its shadow off it too.
    private = await router.complete(PLAN, {"allow_cloud": False})
    await router.shadows.drain()
    assert shadow_of(router, private.request_id) is None and since(simulator, before)["cloud"] == 1


async def test_the_budget_refuses_a_cloud_shadow(make_router, simulator) -> None:
    router = make_router(shadow_rate=1.0, shadow_cloud=True, cloud_daily_budget_usd=0)
    before = calls(simulator)
    r = await router.complete(PLAN)
    await router.shadows.drain()
    assert r.tier == Tier.LOCAL_HEAVY and not r.degraded
    assert shadow_of(router, r.request_id) is None
    assert since(simulator, before)["cloud"] == 0 and router.shadows.stats.over_budget == 1


async def test_the_answer_does_not_wait_for_its_shadow(make_router) -> None:
    router = make_router(shadow_rate=1.0)
    r = await router.complete(f"Hello [[sim:hang@{HEAVY}]]")  # tier 2 would take its whole timeout (5 s)
    assert r.tier == Tier.LOCAL_FAST and r.text.startswith("Hello!")
    assert router.shadows.pending == 1  # still running: the answer came back without it
    assert await router.shadows.drain(timeout=0) is False  # cancelled
    assert router.shadows.pending == 0 and shadow_of(router, r.request_id) is None


async def test_a_failed_shadow_call_stays_out_of_the_request(make_router, records) -> None:
    router = make_router(shadow_rate=1.0)
    r = await router.complete(f"Hello [[sim:http500@{HEAVY}]]")
    await router.shadows.drain()
    assert r.tier == Tier.LOCAL_FAST and len(r.attempts) == 1 and records[-1]["router.status"] == "ok"
    assert shadow_of(router, r.request_id) is None and router.shadows.stats.failed == 1
    refused = await router.complete(f"Hello [[sim:refuse@{HEAVY}]]")  # the gate would reject it: not compared
    await router.shadows.drain()
    assert shadow_of(router, refused.request_id) is None and router.shadows.stats.rejected == 1


async def test_at_most_max_in_flight_at_once(make_router) -> None:
    router = make_router(shadow_rate=1.0)
    router.shadows.max_in_flight = 1
    await router.complete(f"Hello [[sim:hang@{HEAVY}]]")
    await router.complete(f"Hello [[sim:hang@{HEAVY}]]")
    assert (router.shadows.pending, router.shadows.stats.sampled, router.shadows.stats.dropped) == (1, 1, 1)
    await router.shadows.drain(timeout=0)


async def test_sampling_follows_its_random_generator(make_router) -> None:
    router = make_router(shadow_rate=0.5)
    router.shadows.rng = random.Random(12)
    router.shadows.max_in_flight = 8  # none dropped
    draws = random.Random(12)
    expected = [draws.random() < 0.5 for _ in range(8)]
    assert 0 < sum(expected) < 8
    ids = [(await router.complete("Hello")).request_id for _ in expected]
    await router.shadows.drain()
    assert [shadow_of(router, i) is not None for i in ids] == expected


async def test_a_stream_is_sampled_when_it_ends(make_router) -> None:
    router = make_router(shadow_rate=1.0)
    stream = await router.stream("Hello")
    assert router.shadows.pending == 0  # nothing before the answer is whole
    text = "".join([chunk.text async for chunk in stream])
    assert text.startswith("Hello!")
    await router.shadows.drain()
    assert shadow_of(router, stream.request_id)["agree"] is True


async def test_off_without_the_routing_log(make_router, simulator, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="tiered_router"):
        router = make_router(shadow_rate=1.0, log_enabled=False)
    assert router.log_store is None and router.shadows.rate == 0
    assert "shadow samples are off" in caplog.text
    before = calls(simulator)
    await router.complete("Hello")
    await router.shadows.drain()
    assert since(simulator, before)["heavy"] == 0


async def test_tool_calls_are_compared_as_calls(make_router) -> None:
    router = make_router(shadow_rate=1.0)
    same = await router.complete("Check the weather with get_weather", tools=[WEATHER])
    # Only tier 1 calls the tool; tier 2 answers in words.
    words = await router.complete(f"Tell me about the weather [[sim:tool@{FAST}]]", tools=[WEATHER])
    bad = await router.complete(f"Check the weather with get_weather [[sim:bad-tool-args@{HEAVY}]]", tools=[WEATHER])
    assert [r.tier for r in (same, words, bad)] == [Tier.LOCAL_FAST] * 3
    assert all(r.tool_calls and r.tool_calls[0].name == "get_weather" for r in (same, words, bad))
    await router.shadows.drain()
    found = [shadow_of(router, r.request_id) for r in (same, words, bad)]
    assert (found[0]["agree"], found[0]["method"]) == (True, "tool-calls")
    assert (found[1]["agree"], found[1]["method"]) == (False, "tool-calls")
    assert found[2] is None and router.shadows.stats.rejected == 1  # the gate would reject tier 2's call


def test_the_settings_from_the_environment(monkeypatch) -> None:
    assert (load_settings().shadow_rate, load_settings().shadow_cloud, load_settings().verify) == (0.0, False, None)
    monkeypatch.setenv("TIER_SHADOW_RATE", "0.25")
    monkeypatch.setenv("TIER_SHADOW_CLOUD", "true")
    monkeypatch.setenv("TIER_VERIFY", "0.1")
    settings = load_settings()
    assert (settings.shadow_rate, settings.shadow_cloud, settings.verify) == (0.25, True, 0.1)
    monkeypatch.setenv("TIER_SHADOW_RATE", "1.5")
    with pytest.raises(ConfigError, match="TIER_SHADOW_RATE"):
        load_settings()


def test_compare_tool_calls_and_text() -> None:
    def result(text: str = "", *calls: ToolCall) -> ChatResult:
        return ChatResult(text, "stop", Usage(), "m", tuple(calls))

    request, options = ChatRequest([Message("user", "x")]), RouteOptions()
    a = ToolCall("call_1", "get_weather", '{"city": "Balmora", "days": 3}')
    same = ToolCall("call_9", "get_weather", '{"days":3,"city":"Balmora"}')  # other id, spacing and key order
    other = ToolCall("call_1", "get_weather", '{"city": "Vivec", "days": 3}')
    assert compare(result("", a), result("", same), request, options) == Agreement(True, "tool-calls", 1.0)
    assert not compare(result("", a), result("", other), request, options).agrees
    assert not compare(result("", a, same), result("", same), request, options).agrees
    assert compare(result("", a), result("It is sunny in Balmora."), request, options) == \
        Agreement(False, "tool-calls", 0.0)
    assert compare(result("B"), result("b"), request, RouteOptions(answer_format="choice")).method == "choice"
    as_json = ChatRequest([Message("user", "x")], response_format={"type": "json_object"})
    assert compare(result('{"a": 1}'), result('{ "a" : 1 }'), as_json, options) == Agreement(True, "json", 1.0)


def test_through_the_server_with_the_openai_client(serve, simulator) -> None:
    """The server writes records in batches after the answers: the judgement must still find its request."""
    server = serve(shadow_rate=1.0)
    router = server.router
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="auto",
                                                           messages=[{"role": "user", "content": DIFFERENT}])
    assert raw.headers["x-router-tier"] == "1" and raw.headers["x-router-attempts"] == "1"
    assert raw.parse().choices[0].message.content.startswith("Hello!")
    server.stop()  # waits for the shadow samples still running
    assert router.shadows.pending == 0 and router.shadows.stats.unlogged == 0
    shadow = shadow_of(router, raw.headers["x-request-id"])
    assert (shadow["agree"], shadow["tier"], shadow["model"]) == (False, 2, HEAVY)


# ---- downward: tier 1 tries what tier 2 answered (TIER_SHADOW_DOWN_RATE) -------------------------------------

LOW = 0.05  # the heavy threshold that starts a greeting on tier 2


def down_of(router, request_id: str) -> dict | None:
    shadow_of(router, request_id)  # flushes
    return router.log_store.get(request_id).get("router.shadow_down")


async def test_tier_1_tries_a_tier_2_request_and_would_have_done(make_router, simulator, records) -> None:
    router = make_router(shadow_down_rate=1.0, heavy_threshold=LOW)
    before = calls(simulator)
    r = await router.complete("Hello")
    # The client's answer is tier 2's alone, where the classifier started it.
    assert (r.classified_tier, r.tier, r.model, len(r.attempts), r.escalated) == (
        Tier.LOCAL_HEAVY, Tier.LOCAL_HEAVY, HEAVY, 1, False)
    await router.shadows.drain()
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}
    down = down_of(router, r.request_id)
    assert {k: down[k] for k in ("agree", "tier", "model", "method", "cost_usd")} == {
        "agree": True, "tier": 1, "model": FAST, "method": "text", "cost_usd": 0.0}
    assert shadow_of(router, r.request_id) is None  # no upward sample: its own kind, its own rate
    assert label_of(router.log_store.get(r.request_id)) == (0.0, "shadow_down")  # tier 1 would have done
    assert len(records) == 1 and len(records[0]["router.attempts"]) == 1
    assert router.shadows.stats.by_tier == {(1, "agree"): 1}


async def test_tier_1_would_not_have_done(make_router) -> None:
    router = make_router(shadow_down_rate=1.0, heavy_threshold=LOW)
    different = await router.complete(f"Hello [[sim:bad-json@{FAST}]]")  # passes the gate, disagrees
    refused = await router.complete(f"Hello [[sim:refuse@{FAST}]]")  # the gate would reject it: a "no" too
    failed = await router.complete(f"Hello [[sim:http500@{FAST}]]")  # says nothing: nothing stored
    assert [r.tier for r in (different, refused, failed)] == [Tier.LOCAL_HEAVY] * 3
    assert all(r.text.startswith("Hello!") for r in (different, refused, failed))
    await router.shadows.drain()
    assert (down_of(router, different.request_id)["agree"], down_of(router, different.request_id)["method"]) == (
        False, "text")
    assert (down_of(router, refused.request_id)["agree"], down_of(router, refused.request_id)["method"]) == (
        False, "gate:refusal")
    assert down_of(router, failed.request_id) is None
    assert [label_of(router.log_store.get(r.request_id)) for r in (different, refused, failed)] == [
        (1.0, "shadow_down"), (1.0, "shadow_down"), None]
    assert router.shadows.stats.by_tier == {(1, "disagree"): 1, (1, "rejected"): 1, (1, "failed"): 1}


async def test_down_only_for_accepted_tier_2_answers_the_classifier_chose(make_router, simulator) -> None:
    router = make_router(shadow_down_rate=1.0, heavy_threshold=LOW)
    verifying = make_router(shadow_down_rate=1.0, heavy_threshold=LOW, verify=0.3)
    started_on_1 = make_router(shadow_down_rate=1.0)  # the default threshold: a greeting starts on tier 1
    before = calls(simulator)
    pinned = await router.complete("Hello", {"tier": "tier-2"})
    tools = await router.complete("Tell me about the weather", tools=[WEATHER])
    flagged = await router.complete(f"Hello [[sim:refuse@{HEAVY}]]", {"allow_cloud": False})  # the last tier
    assert [r.tier for r in (pinned, tools, flagged)] == [Tier.LOCAL_HEAVY] * 3 and flagged.quality == "refusal"
    verified = await verifying.complete("Hello")  # |0.22 − 0.05| ≤ 0.3: tier 1 has answered it already
    assert [int(a.tier) for a in verified.attempts] == [1, 2]
    escalated = await started_on_1.complete(f"Hello [[sim:refuse@{FAST}]]")
    assert (escalated.classified_tier, escalated.tier) == (Tier.LOCAL_FAST, Tier.LOCAL_HEAVY)
    for each in (router, verifying, started_on_1):
        await each.shadows.drain()
    assert since(simulator, before) == {"fast": 2, "heavy": 5, "cloud": 0}  # tier 1: the second opinion, the cascade
    assert all(down_of(router, r.request_id) is None for r in (pinned, tools, flagged))
    assert down_of(verifying, verified.request_id) is None and down_of(started_on_1, escalated.request_id) is None
    assert router.shadows.stats.sampled == verifying.shadows.stats.sampled == started_on_1.shadows.stats.sampled == 0


async def test_off_by_default(make_router, simulator) -> None:
    router = make_router(heavy_threshold=LOW)
    before = calls(simulator)
    r = await router.complete("Hello")
    await router.shadows.drain()
    assert r.tier == Tier.LOCAL_HEAVY and since(simulator, before) == {"fast": 0, "heavy": 1, "cloud": 0}
    assert down_of(router, r.request_id) is None


async def test_both_ways_on_one_tier_2_answer(make_router, simulator) -> None:
    """With TIER_SHADOW_CLOUD the cloud checks a tier-2 answer while tier 1 tries it: two judgements."""
    router = make_router(shadow_rate=1.0, shadow_cloud=True, shadow_down_rate=1.0, heavy_threshold=LOW)
    before = calls(simulator)
    r = await router.complete("Hello")
    await router.shadows.drain()
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}
    assert (shadow_of(router, r.request_id)["tier"], down_of(router, r.request_id)["tier"]) == (3, 1)
    assert label_of(router.log_store.get(r.request_id)) == (0.0, "shadow_down")


async def test_the_answer_does_not_wait_for_tier_1(make_router) -> None:
    router = make_router(shadow_down_rate=1.0, heavy_threshold=LOW)
    r = await router.complete(f"Hello [[sim:hang@{FAST}]]")  # tier 1 would take its whole timeout (2 s)
    assert r.tier == Tier.LOCAL_HEAVY and r.text.startswith("Hello!")
    assert router.shadows.pending == 1
    assert await router.shadows.drain(timeout=0) is False
    assert router.shadows.pending == 0 and down_of(router, r.request_id) is None


def test_the_down_rate_from_the_environment(monkeypatch) -> None:
    assert load_settings().shadow_down_rate == 0.0
    monkeypatch.setenv("TIER_SHADOW_DOWN_RATE", "0.05")
    assert load_settings().shadow_down_rate == 0.05
    monkeypatch.setenv("TIER_SHADOW_DOWN_RATE", "-0.1")
    with pytest.raises(ConfigError, match="TIER_SHADOW_DOWN_RATE"):
        load_settings()


def test_down_through_the_server_teaches_the_learner(serve, tmp_path, monkeypatch) -> None:
    """Requests through the server with the openai client; shutdown waits for tier 1's tries; ``tiered-router
    learn`` reads them as labels."""
    db = str(tmp_path / "down.db")
    server = serve(db=db, shadow_down_rate=1.0, heavy_threshold=LOW, log_content=True)
    router = server.router
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    ids = []
    for text in ("Hello", f"Hello [[sim:bad-json@{FAST}]]"):
        raw = client.chat.completions.with_raw_response.create(model="auto",
                                                               messages=[{"role": "user", "content": text}])
        assert (raw.headers["x-router-tier"], raw.headers["x-router-attempts"]) == ("2", "1")
        ids.append(raw.headers["x-request-id"])
    server.stop()  # waits for the samples still running, then their judgements
    assert router.shadows.pending == 0 and router.shadows.stats.sampled == 2
    found, _ = labelled_requests(router.log_store.recent(10))
    assert {item.request_id: (item.label, item.source) for item in found} == {
        ids[0]: (0.0, "shadow_down"), ids[1]: (1.0, "shadow_down")}
    monkeypatch.setenv("TIER_DB", db)
    result = CliRunner().invoke(main, ["learn", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"] == {"shadow_down": 2}
