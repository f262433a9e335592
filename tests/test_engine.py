"""The engine and the breakers on their own: scripted in-process backends, no server, no HTTP.

The same behaviour is also tested end to end over loopback against the simulator
(test_router_integration.py, test_router_streaming_budget.py); these tests pin the engine's own rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tiered_router.backends import ChatRequest, ChatResult, FunctionBackend, StreamChunk, Usage
from tiered_router.backends.errors import (
    AuthError,
    BackendConnectError,
    BackendTimeout,
    BadRequest,
    ContextTooLong,
    RateLimited,
    UpstreamServerError,
)
from tiered_router.budget import BudgetTracker
from tiered_router.chat import Message
from tiered_router.classify import Decision
from tiered_router.config import load_settings
from tiered_router.errors import AllTiersFailed, CloudBudgetExceeded, StreamBroken
from tiered_router.options import RouteOptions
from tiered_router.routing import AttemptOutcome, Buffered, Call, Engine, EngineSettings, Live
from tiered_router.routing.breakers import Breakers
from tiered_router.routing.spend import Spend
from tiered_router.tiers import Tier

GOOD = "The door to the next room is open; you walk through it."
REFUSAL = "I'm sorry, but I can't help with that request."
PRICE = {"cloud/paid": (1000.0, 1000.0)}  # USD per million tokens: a cent a dozen tokens, easy to exhaust


def answer(text: str):
    return lambda req: text


def failing(error: Exception):
    def fn(req: ChatRequest) -> str:
        raise error

    return fn


def ledger(daily: float = 100, monthly: float = 100) -> BudgetTracker:
    return BudgetTracker(db="memory://", prices=PRICE, daily_limit_usd=daily, monthly_limit_usd=monthly)


def make_engine(fns: dict[Tier, object], *, tracker: BudgetTracker | None = None,
                windows: dict[Tier, int] | None = None, breakers: Breakers | None = None, **settings) -> Engine:
    backends = {}
    for tier, fn in fns.items():
        paid = tier is Tier.CLOUD_API
        backends[tier] = FunctionBackend(fn, provider="cloud" if paid else "local",
                                         model="paid" if paid else f"t{int(tier)}", is_local=not paid,
                                         context_window=(windows or {}).get(tier, 8192))
    spend = Spend(load_settings(db="memory://"), tracker)
    return Engine(backends, breakers or Breakers(), spend, EngineSettings(**settings))


def call_for(chain: list[Tier], prompt: str = "Walk to the next room", forced: Tier | None = None,
             max_tokens: int | None = None) -> Call:
    request = ChatRequest([Message("user", prompt)], max_tokens=max_tokens)
    return Call("rid", request, Decision(chain[0], 0.1, ()), RouteOptions(tier=forced), 0.0, chain, forced)


async def test_an_accepted_answer_is_the_only_attempt() -> None:
    engine = make_engine({Tier.LOCAL_FAST: answer(GOOD), Tier.LOCAL_HEAVY: answer("heavy")})
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered) and choice.result.text == GOOD
    assert [(a.tier, a.outcome) for a in call.attempts] == [(Tier.LOCAL_FAST, AttemptOutcome.ACCEPTED)]
    assert choice.attempt.quality == "ok" and call.escalation_reason is None


async def test_a_rejected_answer_escalates_and_the_last_tiers_verdict_is_only_reported() -> None:
    engine = make_engine({Tier.LOCAL_FAST: answer(REFUSAL), Tier.LOCAL_HEAVY: answer(REFUSAL)})
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered) and choice.attempt.tier == Tier.LOCAL_HEAVY
    assert [a.outcome for a in call.attempts] == [AttemptOutcome.REJECTED, AttemptOutcome.ACCEPTED]
    assert call.attempts[0].quality == "refusal" and call.attempts[1].quality == "refusal"  # reported, not acted on
    assert call.escalation_reason == "tier1-quality:refusal"


async def test_tiers_outside_gate_tiers_are_not_gated() -> None:
    engine = make_engine({Tier.LOCAL_FAST: answer(REFUSAL), Tier.LOCAL_HEAVY: answer(GOOD)}, gate_tiers=frozenset({2}))
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered) and choice.attempt.tier == Tier.LOCAL_FAST and choice.verdict is None


async def test_errors_escalate_with_their_kind_and_all_failing_raises() -> None:
    engine = make_engine({Tier.LOCAL_FAST: failing(UpstreamServerError("boom")),
                          Tier.LOCAL_HEAVY: failing(BackendConnectError("refused"))})
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    with pytest.raises(AllTiersFailed) as failed:
        await engine.run(call, streaming=False)
    assert [a.error_kind for a in failed.value.attempts] == ["server_error", "connection"]
    assert call.escalation_reason == "tier1-server_error"


async def test_a_context_overflow_skips_every_tier_no_larger() -> None:
    engine = make_engine({Tier.LOCAL_FAST: failing(ContextTooLong("too long")), Tier.LOCAL_HEAVY: answer("no"),
                          Tier.CLOUD_API: answer(GOOD)},
                         windows={Tier.LOCAL_FAST: 8192, Tier.LOCAL_HEAVY: 8192, Tier.CLOUD_API: 100_000},
                         tracker=ledger())
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY, Tier.CLOUD_API])
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered) and choice.attempt.tier == Tier.CLOUD_API
    assert [a.outcome for a in call.attempts] == [AttemptOutcome.ERROR, AttemptOutcome.SKIPPED, AttemptOutcome.ACCEPTED]
    assert call.attempts[1].error == "context-too-small"


async def test_a_paid_call_reserves_then_settles_what_it_used() -> None:
    tracker = ledger()
    used = Usage(20, 5)
    engine = make_engine({Tier.CLOUD_API: lambda req: ChatResult(GOOD, "stop", used, "paid")}, tracker=tracker)
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API)
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered)
    assert choice.attempt.cost_usd == pytest.approx(25 * 1000 / 1e6)
    summary = tracker.get_summary()
    assert summary["daily"]["spent_usd"] == pytest.approx(0.025) and summary["daily"]["reserved_usd"] == 0
    # A paid call with no max_tokens is given the configured bound, so its worst case was finite.
    assert engine.backends[Tier.CLOUD_API].requests[0].max_tokens == EngineSettings().paid_max_tokens


async def test_a_spent_budget_degrades_to_the_best_local_answer_or_refuses_a_forced_call() -> None:
    tracker = ledger(daily=0.0001, monthly=1)
    engine = make_engine({Tier.LOCAL_HEAVY: answer(REFUSAL), Tier.CLOUD_API: answer(GOOD)}, tracker=tracker)
    call = call_for([Tier.LOCAL_HEAVY, Tier.CLOUD_API], max_tokens=500)
    choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered) and choice.attempt.tier == Tier.LOCAL_HEAVY
    assert call.degraded_reason and call.degraded_reason.startswith("budget_exceeded")
    assert call.attempts[-1].error_kind == "budget_exceeded"
    with pytest.raises(CloudBudgetExceeded):
        await engine.run(call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API, max_tokens=500), streaming=False)
    strict = make_engine({Tier.LOCAL_HEAVY: answer(REFUSAL), Tier.CLOUD_API: answer(GOOD)}, tracker=tracker,
                         degrade_on_budget=False)
    with pytest.raises(CloudBudgetExceeded):
        await strict.run(call_for([Tier.LOCAL_HEAVY, Tier.CLOUD_API], max_tokens=500), streaming=False)


@pytest.mark.parametrize("error", [UpstreamServerError("boom", status=500), BackendConnectError("refused", sent=False)],
                         ids=["the provider answered with an error", "never sent"])
async def test_a_paid_call_that_cost_nothing_is_released(error) -> None:
    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: failing(error)}, tracker=tracker)
    with pytest.raises(AllTiersFailed):
        await engine.run(call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API), streaming=False)
    daily = tracker.get_summary()["daily"]
    assert daily["spent_usd"] == 0 and daily["reserved_usd"] == 0


@pytest.mark.parametrize("error", [BackendTimeout("no answer in 5s"), BackendConnectError("cut mid-answer")],
                         ids=["timed out", "cut"])
async def test_a_paid_call_sent_then_lost_is_charged_the_worst_case(error) -> None:
    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: failing(error)}, tracker=tracker)
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API, max_tokens=100)
    with pytest.raises(AllTiersFailed):
        await engine.run(call, streaming=False)
    daily = tracker.get_summary()["daily"]
    # The provider may have billed it: never released as free, charged at what was reserved.
    assert call.attempts[0].cost_usd > 0
    assert daily["reserved_usd"] == 0 and daily["spent_usd"] == pytest.approx(call.attempts[0].cost_usd)
    assert call.attempts[0].usage.output_tokens == 100 and call.attempts[0].usage.estimated


async def test_a_provider_that_counts_more_than_was_reserved_is_charged_in_full_with_a_warning(caplog) -> None:
    # A provider that reports 10,000 output tokens for a call capped at 50: the bound makes this unreachable
    # for an honest provider, but if one ever does, the spend is what it reported, and someone is told.
    def overcounting(req: ChatRequest) -> ChatResult:
        return ChatResult(GOOD, "stop", Usage(5, 10_000), "paid")

    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: overcounting}, tracker=tracker)
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API, max_tokens=50)
    with caplog.at_level("WARNING", logger="tiered_router"):
        choice = await engine.run(call, streaming=False)
    assert isinstance(choice, Buffered)
    spent = tracker.get_summary()["daily"]["spent_usd"]
    assert spent == pytest.approx(10_005 * 1000 / 1e6)  # what the provider reported, not the reservation
    assert any("rid" in r.getMessage() and "more than" in r.getMessage() for r in caplog.records)


async def test_the_last_tier_streams_live_and_settles_at_the_end() -> None:
    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: answer(GOOD)}, tracker=tracker)
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API)
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live) and choice.attempt.outcome == AttemptOutcome.STREAMING
    chunks = [c async for c in choice.chunks]
    assert "".join(c.text for c in chunks) == GOOD
    assert chunks[-1].usage is not None and choice.attempt.outcome == AttemptOutcome.ACCEPTED
    assert choice.attempt.cost_usd > 0
    assert tracker.get_summary()["daily"]["spent_usd"] == pytest.approx(choice.attempt.cost_usd)


async def test_a_gated_tier_is_buffered_when_streaming() -> None:
    engine = make_engine({Tier.LOCAL_FAST: answer(REFUSAL), Tier.LOCAL_HEAVY: answer(GOOD)})
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)
    # Tier 1 may escalate, so it was called whole and gated; tier 2, the last, streams live.
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_HEAVY
    assert call.attempts[0].outcome == AttemptOutcome.REJECTED


async def _breaking(req: ChatRequest) -> AsyncIterator[StreamChunk]:
    yield StreamChunk(text="The door ")
    yield StreamChunk(text="is ")
    raise BackendConnectError("connection broken mid-response")


async def test_a_stream_that_breaks_is_charged_and_raises_stream_broken() -> None:
    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: answer(GOOD)}, tracker=tracker)
    engine.backends[Tier.CLOUD_API].stream_fn = _breaking
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API)
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live)
    seen = []
    with pytest.raises(StreamBroken):
        async for chunk in choice.chunks:
            seen.append(chunk.text)
    assert "".join(seen) == "The door is "
    assert choice.attempt.outcome == AttemptOutcome.ERROR and choice.attempt.error_kind == "connection"
    assert choice.attempt.cost_usd > 0  # bytes went out: what was produced is charged, never released as free
    assert tracker.get_summary()["daily"]["spent_usd"] == pytest.approx(choice.attempt.cost_usd)


async def test_a_stream_the_consumer_abandons_is_settled_as_cancelled() -> None:
    tracker = ledger()
    engine = make_engine({Tier.CLOUD_API: answer(GOOD * 5)}, tracker=tracker)
    call = call_for([Tier.CLOUD_API], forced=Tier.CLOUD_API)
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live)
    await anext(choice.chunks)
    await choice.chunks.aclose()
    assert choice.attempt.outcome == AttemptOutcome.CANCELLED and choice.attempt.cost_usd > 0
    assert tracker.get_summary()["daily"]["reserved_usd"] == 0


async def test_a_backend_that_keeps_failing_cools_down_and_is_skipped() -> None:
    breakers = Breakers(threshold=2, cooldown_s=60)
    engine = make_engine({Tier.LOCAL_FAST: failing(UpstreamServerError("boom")), Tier.LOCAL_HEAVY: answer(GOOD)},
                         breakers=breakers)
    for _ in range(2):
        await engine.run(call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY]), streaming=False)
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    await engine.run(call, streaming=False)
    assert call.attempts[0].outcome == AttemptOutcome.SKIPPED and "cooling-down" in (call.attempts[0].error or "")
    assert len(engine.backends[Tier.LOCAL_FAST].requests) == 2  # the third request did not call it


# --- breakers -----------------------------------------------------------------------------------------


def test_breakers_count_failures_in_a_row_and_cool_down():
    now = [0.0]
    b = Breakers(threshold=2, cooldown_s=10, clock=lambda: now[0])
    b.failure("x", UpstreamServerError("boom"))
    assert b.blocked("x") is None
    b.success("x")  # a success resets the count
    b.failure("x", UpstreamServerError("boom"))
    assert b.blocked("x") is None
    b.failure("x", UpstreamServerError("boom"))
    assert b.blocked("x") and "cooling" in b.blocked("x")
    now[0] = 10.5
    assert b.blocked("x") is None


def test_breakers_wait_out_retry_after_and_ignore_the_requests_own_faults():
    now = [0.0]
    b = Breakers(threshold=1, cooldown_s=10, clock=lambda: now[0])
    b.failure("y", RateLimited("slow", retry_after_s=2))
    assert b.blocked("y") == "rate-limited"
    now[0] = 2.5
    assert b.blocked("y") is None
    b.failure("z", ContextTooLong("too long"))
    b.failure("z", BadRequest("bad"))
    assert b.blocked("z") is None


def test_an_auth_failure_cools_the_backend_down_for_long_but_not_for_ever():
    now = [0.0]
    b = Breakers(threshold=3, cooldown_s=10, auth_cooldown_s=300, clock=lambda: now[0])
    b.failure("z", AuthError("bad key"))
    now[0] = 299
    assert b.blocked("z") == "auth-failed"
    assert b.state("z").state == "auth-failed" and b.state("z").seconds_left == 1
    now[0] = 301  # the key was fixed, the model pulled: it is tried again
    assert b.blocked("z") is None and b.state("z").state == "ok"


def test_rate_limits_say_when_to_come_back():
    now = [0.0]
    b = Breakers(threshold=3, clock=lambda: now[0])
    b.failure("y", RateLimited("slow", retry_after_s=7))
    now[0] = 2
    assert b.retry_after("y") == 5 and b.state("y").state == "rate-limited"


# --- streams that don't wait: the head of a tier that may escalate is held and gated -------------------------

LONG = " ".join(f"word{i}" for i in range(80)) + "."


def words(text: str):
    async def stream(req: ChatRequest):
        for i, word in enumerate(text.split(" ")):
            yield StreamChunk(text=word if i == 0 else " " + word)
        yield StreamChunk(finish_reason="stop", usage=Usage(10, len(text.split(" "))))

    return stream


def streaming_engine(tier1_stream, tier2_text: str = GOOD, **settings) -> Engine:
    engine = make_engine({Tier.LOCAL_FAST: answer("unused"), Tier.LOCAL_HEAVY: answer(tier2_text)}, **settings)
    engine.backends[Tier.LOCAL_FAST].stream_fn = tier1_stream
    return engine


async def test_a_passing_head_goes_out_before_the_stream_ends() -> None:
    engine = streaming_engine(words(LONG))
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_FAST
    first = await anext(choice.chunks)
    # The first chunk is out while tier 1 is still streaming: only the head was held.
    assert first.text == "word0" and choice.attempt.outcome == AttemptOutcome.STREAMING
    rest = [c async for c in choice.chunks]
    assert first.text + "".join(c.text for c in rest) == LONG
    assert choice.attempt.outcome == AttemptOutcome.ACCEPTED and choice.attempt.quality == "ok"  # judged whole


async def test_a_rejected_head_escalates_before_any_byte_and_is_kept_as_a_last_resort() -> None:
    refusal = "I'm sorry, but I can't help with that. " + LONG
    engine = streaming_engine(words(refusal))
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_HEAVY  # the client saw no refusal
    assert (call.attempts[0].outcome, call.attempts[0].quality) == (AttemptOutcome.REJECTED, "refusal")
    assert "".join([c.text async for c in choice.chunks]) == GOOD

    broken = streaming_engine(words(refusal))
    broken.backends[Tier.LOCAL_HEAVY].fn = failing(UpstreamServerError("boom"))
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await broken.run(call, streaming=True)
    # Tier 2 failed: the rejected tier-1 answer, read to its end meanwhile, is the answer of last resort.
    assert isinstance(choice, Buffered) and choice.result.text == refusal
    assert choice.attempt.outcome == AttemptOutcome.REJECTED and choice.attempt.usage.output_tokens > 0


async def test_a_short_stream_ending_inside_the_window_is_gated_whole() -> None:
    engine = streaming_engine(words("I'm sorry, but I can't help with that."))
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_HEAVY
    assert call.attempts[0].outcome == AttemptOutcome.REJECTED


async def test_no_hold_window_streams_at_once_and_json_is_answered_whole() -> None:
    engine = streaming_engine(words("I'm sorry, but I can't help with that."), hold_tokens=0)
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)
    # No hold: the stream goes out at once, and the gate cannot act on it.
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_FAST

    engine = streaming_engine(words(LONG))
    engine.backends[Tier.LOCAL_FAST].fn = answer('{"door": "open"}')
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    call.request.response_format = {"type": "json_object"}
    choice = await engine.run(call, streaming=True)
    # JSON is a whole-answer property: tier 1 is asked for a whole answer (not its stream) and gated whole.
    assert isinstance(choice, Buffered) and choice.result.text == '{"door": "open"}'
    assert choice.attempt.quality == "ok"


async def test_the_hold_ends_after_hold_s_when_tokens_come_slowly() -> None:
    import asyncio

    release = asyncio.Event()

    async def slow(req: ChatRequest):
        yield StreamChunk(text="The door")
        await release.wait()  # nothing more until the test says so
        yield StreamChunk(text=" opens.")
        yield StreamChunk(finish_reason="stop")

    engine = streaming_engine(slow, hold_s=0.05)
    call = call_for([Tier.LOCAL_FAST, Tier.LOCAL_HEAVY])
    choice = await engine.run(call, streaming=True)  # returns once hold_s passed after the first token
    assert isinstance(choice, Live) and choice.attempt.tier == Tier.LOCAL_FAST
    first = await anext(choice.chunks)
    assert first.text == "The door"
    release.set()
    assert "".join([c.text async for c in choice.chunks]) == " opens."
