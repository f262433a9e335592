"""The real router over loopback HTTP against the built-in simulator: no HTTP mocking here."""

from __future__ import annotations

import json

import pytest

from tiered_router.errors import AllTiersFailed, CloudUnavailable, InvalidRequest
from tiered_router.tiers import Tier

FAST, HEAVY, CLOUD = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5"


async def test_action_stays_on_tier_1(router, records):
    r = await router.complete("Walk to the next room")
    assert (r.tier, r.model, r.escalated) == (Tier.LOCAL_FAST, FAST, False)
    assert r.text.strip()
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert [a.outcome for a in r.attempts] == ["accepted"]
    assert r.cost_usd == 0.0
    assert len(records) == 1 and records[0]["request_id"] == r.request_id


async def test_plan_goes_to_tier_2(router):
    r = await router.complete("Plan the optimal path to become Hortator")
    assert (r.tier, r.model, r.escalated) == (Tier.LOCAL_HEAVY, HEAVY, False)
    assert r.classified_tier == Tier.LOCAL_HEAVY


@pytest.mark.parametrize(
    ("marker", "outcome", "detail"),
    [
        ("refuse", "rejected", "refusal"),
        ("empty", "rejected", "empty"),
        ("truncate", "rejected", "truncated"),
        ("repeat", "rejected", "repetition"),
        ("http500", "error", "server_error"),
        ("http429", "error", "rate_limited"),
        ("hang", "error", "timeout"),
        ("cut-stream", "error", "connection"),
        ("context-too-long", "error", "context_too_long"),
    ],
)
async def test_each_tier_1_failure_escalates_to_tier_2(make_router, marker, outcome, detail):
    router = make_router(local_fast_timeout_s=0.5)
    r = await router.complete(f"Open the inventory [[sim:{marker}@{FAST}]]")
    assert r.tier == Tier.LOCAL_HEAVY and r.escalated
    first = r.attempts[0]
    assert (first.tier, first.outcome) == (Tier.LOCAL_FAST, outcome)
    assert detail in (first.quality or "") + (first.error_kind or "")
    assert r.escalation_reason and r.escalation_reason.startswith("tier1-")
    assert r.text.strip()


async def test_bad_json_is_rejected_when_json_was_asked_for(router):
    r = await router.complete(f"List the party members [[sim:bad-json@{FAST}]]",
                              response_format={"type": "json_object"})
    assert r.attempts[0].outcome == "rejected" and "json" in r.attempts[0].quality
    assert r.tier == Tier.LOCAL_HEAVY
    json.loads(r.text)


async def test_tier_2_failure_goes_to_the_cloud(router):
    r = await router.complete(f"Plan the optimal path to become Hortator [[sim:http500@{HEAVY}]]")
    assert (r.tier, r.provider, r.model) == (Tier.CLOUD_API, "anthropic", CLOUD)
    assert [a.tier for a in r.attempts] == [Tier.LOCAL_HEAVY, Tier.CLOUD_API]
    assert r.escalation_reason == "tier2-server_error"


async def test_rejected_tier_2_answer_goes_to_the_cloud(router):
    r = await router.complete(f"Plan the optimal path to become Hortator [[sim:refuse@{HEAVY}]]")
    assert r.tier == Tier.CLOUD_API
    assert r.attempts[0].outcome == "rejected"


async def test_forced_cloud_call(router):
    r = await router.complete("Walk to the next room", {"tier": "cloud"})
    assert (r.tier, r.forced_tier, r.model) == (Tier.CLOUD_API, Tier.CLOUD_API, CLOUD)
    assert len(r.attempts) == 1


async def test_forced_tier_is_pinned(router):
    r = await router.complete("Plan the optimal path to become Hortator", {"tier": 1})
    assert r.tier == Tier.LOCAL_FAST and not r.escalated


async def test_allow_cloud_false_caps_at_tier_2(router):
    with pytest.raises(AllTiersFailed) as info:
        await router.complete(f"Plan a siege [[sim:http500@{HEAVY}]]", {"allow_cloud": False, "tier": None})
    assert all(a.tier <= Tier.LOCAL_HEAVY for a in info.value.attempts)


async def test_every_tier_failing_is_a_clear_error_with_the_attempts(router, records):
    with pytest.raises(AllTiersFailed) as info:
        await router.complete("Plan the optimal path to become Hortator [[sim:http500]]")
    assert [a.tier for a in info.value.attempts] == [Tier.LOCAL_HEAVY, Tier.CLOUD_API]
    assert "server_error" in str(info.value)
    assert records[-1]["router.status"] == "error"
    assert len(records[-1]["router.attempts"]) == 2


async def test_prompt_too_long_for_tier_1_skips_it_without_a_call(make_router, simulator):
    router = make_router(local_fast_context=300, heavy_threshold=0.999)  # start on tier 1 however long
    before = simulator.sim.requests.copy()
    r = await router.complete("Open the inventory " + "and check each pouch " * 200)
    assert r.attempts[0].outcome == "skipped" and r.attempts[0].error == "context-too-small"
    assert r.tier == Tier.LOCAL_HEAVY
    calls_to_fast = sum(n for key, n in simulator.sim.requests.items() if FAST in str(key))
    assert calls_to_fast == sum(n for key, n in before.items() if FAST in str(key))


async def test_context_error_skips_every_tier_with_a_window_no_larger(make_router):
    # Tier 2 is configured with the same window as tier 1, so a context overflow on tier 1 skips it too.
    router = make_router(local_fast_context=8192, local_heavy_context=8192)
    r = await router.complete(f"Open the inventory [[sim:context-too-long@{FAST}]]")
    assert [a.outcome for a in r.attempts] == ["error", "skipped", "accepted"]
    assert r.tier == Tier.CLOUD_API


async def test_repeated_failures_cool_a_backend_down(make_router, simulator):
    router = make_router(cooldown_failures=2, cooldown_s=60)
    for _ in range(2):
        await router.complete(f"Open the inventory [[sim:http500@{FAST}]]")
    r = await router.complete("Open the inventory")
    assert r.attempts[0].outcome == "skipped" and "cooling" in r.attempts[0].error
    assert r.tier == Tier.LOCAL_HEAVY


async def test_rate_limit_honours_retry_after(router):
    await router.complete(f"Open the inventory [[sim:http429@{FAST}]]")
    r = await router.complete("Open the inventory")
    assert r.attempts[0].outcome == "skipped" and r.attempts[0].error == "rate-limited"


async def test_cloud_without_key_is_disabled_not_crashing(make_router, caplog):
    router = make_router(cloud_api_key=None)
    assert not router.cloud_enabled
    assert any("cloud tier disabled" in m for m in caplog.messages)
    with pytest.raises(CloudUnavailable):
        await router.complete("Walk to the next room", {"tier": 3})
    with pytest.raises(AllTiersFailed) as info:
        await router.complete(f"Plan the optimal path to become Hortator [[sim:http500@{HEAVY}]]")
    assert [a.tier for a in info.value.attempts] == [Tier.LOCAL_HEAVY]


@pytest.mark.parametrize("marker", ["http401", "http403", "http404"])
async def test_auth_error_is_never_retried_on_that_backend(router, marker):
    r = await router.complete(f"Open the inventory [[sim:{marker}@{FAST}]]")
    assert (r.attempts[0].outcome, r.attempts[0].error_kind) == ("error", "auth")
    r = await router.complete("Open the inventory")
    assert r.tier == Tier.LOCAL_HEAVY
    assert r.attempts[0].outcome == "skipped" and r.attempts[0].error == "auth-failed"


async def test_invalid_requests_are_clear_errors(router):
    with pytest.raises(InvalidRequest):
        await router.complete([])
    with pytest.raises(InvalidRequest, match="role"):
        await router.complete([{"role": "wizard", "content": "hi"}])
    with pytest.raises(InvalidRequest, match="tier"):
        await router.complete("hi", {"tier": "tier-7"})
    with pytest.raises(InvalidRequest, match="max_tokens"):
        await router.complete("hi", max_tokens=0)


async def test_records_hold_no_prompt_text_unless_opted_in(make_router, records):
    secret = "Whisper the password swordfish-42 to the guard"
    await make_router().complete(secret)
    assert "swordfish" not in json.dumps(records[-1])
    assert records[-1]["router.prompt_chars"] > 0 and len(records[-1]["router.prompt_sha256"]) == 64
    await make_router(log_content=True).complete(secret)
    assert "swordfish" in json.dumps(records[-1])


def test_sync_wrapper_reuses_its_loop(router, records):
    first = router.complete_sync("Walk to the next room")
    second = router.complete_sync([{"role": "user", "content": "Wave at the villager"}])
    assert first.tier == second.tier == Tier.LOCAL_FAST
    assert len(records) == 2


async def test_health_reports_each_tier(router):
    health = await router.health()
    assert set(health) == {"local-fast", "local-heavy", "cloud"}
    assert all(v["healthy"] for v in health.values())
