"""The second opinion (``TIER_VERIFY``): the real router over loopback HTTP against the simulator.

How the simulator's answers compare (``learn.agree``): a greeting gets the same line from every model, so
tier 1 and tier 2 agree on "Hello" (text, similarity 1.0); ``[[sim:bad-json@hermes3:70b]]`` makes only tier
2 answer with broken JSON, which the gate lets through on a request that did not ask for JSON and which
disagrees with the greeting. A plan ("Compare the two swords") ends "(Simulated answer from MODEL.)", so the
two models' plans disagree by number (8 against 70). With the default heavy threshold 0.5 and a band of 0.3,
"Hello" (score 0.22) and "Compare the two swords" (0.59, tier 2) are in the band and "Walk to the next room"
(0.14) is not.
"""

from __future__ import annotations

import json

import openai
import pytest
from click.testing import CliRunner

from sim_support import CLOUD, FAST, HEAVY, calls, since
from tiered_router.cli import main
from tiered_router.learn.from_log import label_of, labelled_requests
from tiered_router.tiers import Tier

BAND = 0.3
DIFFERENT = f"Hello [[sim:bad-json@{HEAVY}]]"



def outcomes(response) -> list[tuple[int, str, str | None]]:
    return [(int(a.tier), str(a.outcome), a.quality) for a in response.attempts]


def logged(router, request_id: str) -> dict:
    """The request's record as the routing log gives it back, judgements included."""
    router.recorder.flush()
    router.log_store.flush()
    record = router.log_store.get(request_id)
    assert record is not None, "the request's own record is in the log"
    return record


async def test_agreeing_answers_in_the_band_return_tier_1s(make_router, simulator, records) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    r = await router.complete("Hello")
    assert (r.tier, r.model, r.escalated, r.escalation_reason) == (Tier.LOCAL_FAST, FAST, False, None)
    assert outcomes(r) == [(1, "accepted", "ok"), (2, "verified", "ok")]
    assert r.text.startswith("Hello!")
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}
    record = records[-1]
    assert [(a["tier"], a["router.outcome"]) for a in record["router.attempts"]] == [(1, "accepted"), (2, "verified")]
    assert record["router.final_tier"] == 1 and record["router.escalation_reason"] is None
    both = sum(a.usage.output_tokens for a in r.attempts)
    assert record["gen_ai.usage.output_tokens"] == both > r.usage.output_tokens  # both answers count


async def test_disagreeing_answers_go_to_the_cloud_and_are_paid_for(make_router, simulator, records) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    r = await router.complete(DIFFERENT)
    assert (r.tier, r.model, r.escalated, r.escalation_reason) == (Tier.CLOUD_API, CLOUD, True, "verify-disagree")
    assert outcomes(r) == [(1, "rejected", "verify-disagree"), (2, "rejected", "verify-disagree"),
                           (3, "accepted", None)]
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}
    assert r.cost_usd == pytest.approx(r.attempts[2].cost_usd) and r.cost_usd > 0
    assert router.budget.get_summary()["daily"]["spent_usd"] == pytest.approx(r.cost_usd)
    assert records[-1]["router.escalation_reason"] == "verify-disagree"


async def test_disagreement_without_the_cloud_returns_tier_2s_answer(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    r = await router.complete(DIFFERENT, {"allow_cloud": False})
    assert (r.tier, r.escalated, r.escalation_reason, r.degraded) == (Tier.LOCAL_HEAVY, True, "verify-disagree", False)
    assert outcomes(r) == [(1, "rejected", "verify-disagree"), (2, "accepted", "ok")]
    assert r.text.startswith("{answer:")
    assert since(simulator, before)["cloud"] == 0


async def test_disagreement_with_the_budget_spent_returns_tier_2s_answer_degraded(make_router, simulator) -> None:
    router = make_router(verify=BAND, cloud_daily_budget_usd=0)
    before = calls(simulator)
    r = await router.complete(DIFFERENT)
    assert (r.tier, r.escalation_reason) == (Tier.LOCAL_HEAVY, "verify-disagree")
    assert r.degraded and r.degraded_reason.startswith("budget_exceeded")
    assert [(int(a.tier), str(a.outcome), a.error_kind) for a in r.attempts][-1] == (3, "skipped", "budget_exceeded")
    assert since(simulator, before)["cloud"] == 0


async def test_a_tier_2_request_in_the_band_is_verified_too(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    r = await router.complete("Compare the two swords", {"allow_cloud": False})
    assert r.classified_tier == Tier.LOCAL_HEAVY and 0.5 < r.score <= 0.5 + BAND
    # The plans disagree (by number); tier 2 was where this request started, so it is no escalation.
    assert (r.tier, r.escalated) == (Tier.LOCAL_HEAVY, False)
    assert outcomes(r) == [(1, "rejected", "verify-disagree"), (2, "accepted", "ok")]


async def test_out_of_the_band_is_a_single_call(make_router, simulator, records) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    r = await router.complete("Walk to the next room")
    assert abs(r.score - 0.5) > BAND
    assert r.tier == Tier.LOCAL_FAST and outcomes(r) == [(1, "accepted", "ok")]
    assert since(simulator, before) == {"fast": 1, "heavy": 0, "cloud": 0}
    assert len(records[-1]["router.attempts"]) == 1


async def test_off_by_default(make_router, simulator) -> None:
    router = make_router()
    before = calls(simulator)
    r = await router.complete(DIFFERENT)
    assert r.tier == Tier.LOCAL_FAST and len(r.attempts) == 1
    assert since(simulator, before) == {"fast": 1, "heavy": 0, "cloud": 0}


async def test_a_rejected_tier_1_answer_leaves_tier_2s(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    r = await router.complete(f"Hello [[sim:refuse@{FAST}]]")
    assert (r.tier, r.escalation_reason) == (Tier.LOCAL_HEAVY, "tier1-quality:refusal")
    assert outcomes(r) == [(1, "rejected", "refusal"), (2, "accepted", "ok")]
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}


async def test_a_rejected_or_failed_tier_2_answer_leaves_tier_1s(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    r = await router.complete(f"Hello [[sim:refuse@{HEAVY}]]")
    assert (r.tier, r.escalated) == (Tier.LOCAL_FAST, False)
    assert outcomes(r) == [(1, "accepted", "ok"), (2, "rejected", "refusal")]
    failed = await router.complete(f"Hello [[sim:http500@{HEAVY}]]")
    assert failed.tier == Tier.LOCAL_FAST
    assert [(int(a.tier), str(a.outcome), a.error_kind) for a in failed.attempts] == [
        (1, "accepted", None), (2, "error", "server_error")]


async def test_both_rejected_goes_to_the_cloud(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    r = await router.complete(f"Hello [[sim:refuse@{FAST}]] [[sim:empty@{HEAVY}]]")
    assert (r.tier, r.escalation_reason) == (Tier.CLOUD_API, "tier1-quality:refusal")
    assert outcomes(r) == [(1, "rejected", "refusal"), (2, "rejected", "empty"), (3, "accepted", None)]


async def test_both_rejected_without_the_cloud_falls_back_to_an_answer_with_text(make_router) -> None:
    router = make_router(verify=BAND)
    r = await router.complete(f"Hello [[sim:refuse@{FAST}]] [[sim:empty@{HEAVY}]]", {"allow_cloud": False})
    assert r.tier == Tier.LOCAL_FAST and r.text.startswith("I'm sorry")  # the refusal, not the empty answer
    assert [str(a.outcome) for a in r.attempts] == ["rejected", "rejected"]


async def test_a_stream_is_verified_and_gets_the_chosen_answer_replayed(make_router, simulator, records) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    stream = await router.stream("Hello")
    chunks = [chunk.text async for chunk in stream]
    assert "".join(chunks).startswith("Hello!") and len(chunks) > 1  # replayed in pieces, not one blob
    assert [(int(a.tier), str(a.outcome)) for a in stream.attempts] == [(1, "accepted"), (2, "verified")]
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 0}
    different = await router.stream(DIFFERENT)
    text = "".join([chunk.text async for chunk in different])
    assert different.tier == Tier.CLOUD_API and different.model == CLOUD and text.startswith("Hello!")
    assert since(simulator, before) == {"fast": 2, "heavy": 2, "cloud": 1}  # the cloud answered, as a stream
    assert records[-1]["router.escalation_reason"] == "verify-disagree"


async def test_not_for_forced_tiers_or_tools(make_router, simulator) -> None:
    router = make_router(verify=BAND)
    before = calls(simulator)
    forced = await router.complete("Hello", {"tier": "tier-1"})
    assert len(forced.attempts) == 1
    tool = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
    with_tools = await router.complete("Hello", tools=[tool])
    assert len(with_tools.attempts) == 1
    assert since(simulator, before)["heavy"] == 0


def test_through_the_server_with_the_openai_client(serve, simulator) -> None:
    server = serve(verify=BAND)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    same = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Hello"}])
    assert (same.headers["x-router-tier"], same.headers["x-router-attempts"]) == ("1", "2")
    assert same.headers["x-router-escalated"] == "false"
    assert same.parse().choices[0].message.content.startswith("Hello!")
    other = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": DIFFERENT}])
    assert (other.headers["x-router-tier"], other.headers["x-router-attempts"]) == ("3", "3")
    assert other.headers["x-router-model"] == CLOUD and float(other.headers["x-router-cost-usd"]) > 0
    before = calls(simulator)
    streamed = client.chat.completions.create(model="auto", stream=True,
                                              messages=[{"role": "user", "content": DIFFERENT}])
    chunks = [chunk for chunk in streamed if chunk.choices]
    assert chunks[0].model == CLOUD and "".join(c.choices[0].delta.content or "" for c in chunks).startswith("Hello!")
    assert since(simulator, before) == {"fast": 1, "heavy": 1, "cloud": 1}  # verified, disagreed, cloud streamed


# ---- the comparison as a label for the learner (learn/from_log.py) ---------------------------------------------


async def test_the_comparison_is_stored_with_the_request_and_read_as_a_label(make_router) -> None:
    router = make_router(verify=BAND)
    same = await router.complete("Hello")
    other = await router.complete(DIFFERENT)  # disagreeing: the cloud answers
    started_on_2 = await router.complete("Compare the two swords", {"allow_cloud": False})
    assert (same.tier, other.tier, started_on_2.tier) == (Tier.LOCAL_FAST, Tier.CLOUD_API, Tier.LOCAL_HEAVY)
    assert started_on_2.classified_tier == Tier.LOCAL_HEAVY
    await router.shadows.drain()  # the judgements are written after the answers
    verify = logged(router, same.request_id)["router.verify"]
    assert {k: verify[k] for k in ("agree", "tier", "model", "method", "cost_usd")} == {
        "agree": True, "tier": 2, "model": HEAVY, "method": "text", "cost_usd": 0.0}
    assert label_of(logged(router, same.request_id)) == (0.0, "verify")  # tier 1 would have done
    assert logged(router, other.request_id)["router.verify"]["agree"] is False
    # Disagreement marks tier 1's attempt rejected; the label is the second opinion's, not the gate's.
    assert label_of(logged(router, other.request_id)) == (1.0, "verify")
    # A request that started on tier 2 teaches about tier 1 too: the first signal that goes down.
    assert label_of(logged(router, started_on_2.request_id)) == (1.0, "verify")
    assert router.shadows.verified == {"stored": 3}
    assert router.verifier.stats == {"agree": 1, "disagree": 2}


async def test_no_label_when_the_answers_were_not_compared(make_router) -> None:
    router = make_router(verify=BAND)
    refused = await router.complete(f"Hello [[sim:refuse@{FAST}]]")  # tier 1 rejected: one passed
    failed = await router.complete(f"Hello [[sim:http500@{HEAVY}]]")  # tier 2 failed: one passed
    neither = await router.complete(f"Hello [[sim:refuse@{FAST}]] [[sim:empty@{HEAVY}]]")
    outside = await router.complete("Walk to the next room")  # not verified
    await router.shadows.drain()
    records = {r.request_id: logged(router, r.request_id) for r in (refused, failed, neither, outside)}
    assert all("router.verify" not in record for record in records.values())
    # The gate still says tier 1 was not enough when it rejected tier 1's answer.
    assert [label_of(records[r.request_id]) for r in (refused, failed, neither, outside)] == [
        (1.0, "gate"), None, (1.0, "gate"), None]
    assert router.verifier.stats == {"one-passed": 2, "neither": 1}
    assert not router.shadows.verified


async def test_no_judgement_without_the_routing_log(make_router) -> None:
    router = make_router(verify=BAND, log_enabled=False)
    r = await router.complete("Hello")
    assert r.tier == Tier.LOCAL_FAST and len(r.attempts) == 2
    assert router.shadows.pending == 0 and router.verifier.stats == {"agree": 1}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_through_the_server_the_learner_reads_the_second_opinion(serve, tmp_path, monkeypatch) -> None:
    """Requests through the server with the openai client; ``tiered-router learn`` finds their labels."""
    db = str(tmp_path / "verify.db")
    server = serve(db=db, verify=BAND, log_content=True)
    router = server.router
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    ids = {}
    for name, text in (("same", "Hello"), ("other", DIFFERENT), ("outside", "Walk to the next room")):
        raw = client.chat.completions.with_raw_response.create(model="auto",
                                                               messages=[{"role": "user", "content": text}])
        ids[name] = raw.headers["x-request-id"]
    assert raw.headers["x-router-attempts"] == "1"  # the last one was not verified
    server.stop()  # waits for the judgements still being written
    assert router.shadows.verified == {"stored": 2}
    found, without_prompt = labelled_requests(router.log_store.recent(10))
    assert without_prompt == 0
    assert {item.request_id: (item.label, item.source) for item in found} == {
        ids["same"]: (0.0, "verify"), ids["other"]: (1.0, "verify")}
    assert [m.text for m in next(i for i in found if i.request_id == ids["same"]).messages] == ["Hello"]
    monkeypatch.setenv("TIER_DB", db)
    code, out = cli("learn", "--json")
    assert code == 0, out
    run = json.loads(out)
    assert (run["labelled"], run["sources"]) == (2, {"verify": 2})
