"""Streaming through the router, and the cloud budget on the request path, against the simulator."""

from __future__ import annotations

import pytest

from tiered_router.budget import BudgetTracker
from tiered_router.errors import AllTiersFailed, CloudBudgetExceeded, StreamBroken
from tiered_router.tiers import Tier

FAST, HEAVY, CLOUD = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5"


async def collect(stream):
    text, usage, finish = "", None, None
    async for chunk in stream:
        text += chunk.text
        usage = chunk.usage or usage
        finish = chunk.finish_reason or finish
    return text, usage, finish


async def test_tier_1_stream_is_gated_then_replayed(make_router):
    router = make_router()
    stream = await router.stream("Walk to the next room")
    assert stream.tier == Tier.LOCAL_FAST
    text, usage, finish = await collect(stream)
    assert text and text == stream.response.text
    assert finish == "stop" and usage.output_tokens > 0


async def test_rejected_tier_1_escalates_before_the_first_byte(make_router, records):
    router = make_router()
    stream = await router.stream(f"Open the inventory [[sim:refuse@{FAST}]]")
    # The tier is decided before any chunk is read: the refusal never reaches the client.
    assert stream.tier == Tier.LOCAL_HEAVY and stream.escalated
    assert stream.attempts[0].outcome == "rejected"
    text, _, _ = await collect(stream)
    assert "sorry" not in text.lower()
    assert records[-1]["router.final_tier"] == 2


async def test_streamed_cloud_answer_is_charged_from_its_usage(make_router):
    router = make_router()
    stream = await router.stream("Summarise the quest log", {"tier": "cloud"})
    _, usage, _ = await collect(stream)
    assert stream.tier == Tier.CLOUD_API and not usage.estimated
    expected = router.budget.prices.cost("anthropic", CLOUD, usage.input_tokens, usage.output_tokens)
    assert expected > 0
    assert stream.response.cost_usd == pytest.approx(expected)
    summary = router.budget.get_summary()
    assert summary["daily"]["spent_usd"] == pytest.approx(expected)
    assert summary["daily"]["reserved_usd"] == 0


async def test_cut_cloud_stream_is_charged_for_the_partial_output(make_router, records):
    router = make_router()
    stream = await router.stream("Summarise the quest log [[sim:cut-stream]]", {"tier": "cloud"})
    received = ""
    with pytest.raises(StreamBroken):
        async for chunk in stream:
            received += chunk.text
    assert received  # some bytes reached the client before the break
    attempt = stream.attempts[-1]
    assert attempt.outcome == "error" and attempt.usage.estimated
    assert attempt.usage.output_tokens > 0
    summary = router.budget.get_summary()
    assert summary["daily"]["reserved_usd"] == 0
    assert summary["daily"]["spent_usd"] == pytest.approx(attempt.cost_usd) and attempt.cost_usd > 0
    assert records[-1]["router.status"] == "error" and records[-1]["router.cost_estimated"]


async def test_non_streamed_cloud_call_settles_and_frees_its_reservation(make_router):
    router = make_router()
    r = await router.complete("Walk to the next room", {"tier": 3})
    summary = router.budget.get_summary()
    assert r.cost_usd > 0 and summary["daily"]["spent_usd"] == pytest.approx(r.cost_usd)
    assert summary["daily"]["reserved_usd"] == 0 and summary["calls"] == 1


async def test_exhausted_budget_degrades_to_the_best_local_answer(make_router, tmp_path):
    router = make_router(cloud_daily_budget_usd=0.0)
    r = await router.complete(f"Plan the optimal path to become Hortator [[sim:refuse@{HEAVY}]]")
    assert r.degraded and "budget_exceeded" in r.degraded_reason
    assert r.tier == Tier.LOCAL_HEAVY
    assert r.attempts[-1].error_kind == "budget_exceeded"


async def test_exhausted_budget_refuses_a_forced_cloud_call(make_router):
    router = make_router(cloud_daily_budget_usd=0.0)
    with pytest.raises(CloudBudgetExceeded, match="daily"):
        await router.complete("Walk to the next room", {"tier": "cloud"})


async def test_budget_exhausted_error_mode(make_router):
    router = make_router(cloud_daily_budget_usd=0.0, budget_exhausted="error")
    with pytest.raises(CloudBudgetExceeded):
        await router.complete(f"Plan the optimal path to become Hortator [[sim:refuse@{HEAVY}]]")


async def test_unreadable_ledger_fails_closed_but_local_tiers_work(make_router, tmp_path):
    router = make_router(db="postgresql://nobody@127.0.0.1:9/ledger")  # a database that does not answer
    assert (await router.complete("Walk to the next room")).tier == Tier.LOCAL_FAST
    with pytest.raises(AllTiersFailed, match="budget_unavailable"):
        await router.complete("Walk to the next room", {"tier": "cloud"})


async def test_unknown_cloud_price_is_refused_unless_overridden(make_router):
    router = make_router(cloud_model="anthropic/claude-imaginary-9")
    with pytest.raises(AllTiersFailed, match="unknown_price"):
        await router.complete("Walk to the next room", {"tier": "cloud"})
    router = make_router(cloud_model="anthropic/claude-imaginary-9",
                         price_overrides={"anthropic/claude-imaginary-9": (1.0, 5.0)})
    r = await router.complete("Walk to the next room", {"tier": "cloud"})
    u = r.usage
    assert r.cost_usd == pytest.approx((u.input_tokens * 1.0 + u.output_tokens * 5.0) / 1e6, abs=1e-6)


async def test_injected_tracker_is_used(make_router, tmp_path):
    tracker = BudgetTracker(db=str(tmp_path / "own.db"), daily_limit_usd=1.0, monthly_limit_usd=2.0)
    router = make_router(budget=tracker)
    await router.complete("Walk to the next room", {"tier": "cloud"})
    assert tracker.get_summary()["calls"] == 1


async def test_optional_local_price_shows_in_costs_but_not_in_the_cloud_budget(make_router):
    router = make_router(local_price_per_mtok=(2.0, 10.0))
    r = await router.complete("Walk to the next room")
    u = r.usage
    assert r.tier == Tier.LOCAL_FAST
    assert r.cost_usd == pytest.approx((u.input_tokens * 2.0 + u.output_tokens * 10.0) / 1e6)
    assert router.budget.get_summary()["daily"]["spent_usd"] == 0


async def test_consumer_leaving_mid_stream_is_charged_for_what_was_produced(make_router, records):
    router = make_router()
    stream = await router.stream("Tell a long story about the Ashlands", {"tier": "cloud"})
    chunks = aiter(stream)
    first = await anext(chunks)
    assert first.text
    await chunks.aclose()  # the client went away after the first chunk
    attempt = stream.attempts[-1]
    assert attempt.outcome == "cancelled" and attempt.usage.estimated and attempt.cost_usd > 0
    summary = router.budget.get_summary()
    assert summary["daily"]["reserved_usd"] == 0
    assert summary["daily"]["spent_usd"] == pytest.approx(attempt.cost_usd)
    assert records[-1]["router.status"] == "error"
