"""Agents through the library router, over loopback against the simulator, with each upstream protocol as
tier 1: tool calls, tool results, images, and the gate's verdicts on tool calls."""

from __future__ import annotations

import json

import pytest

from sim_support import PNG, WEATHER
from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.tiers import Tier

# Tier 1 on each wire protocol; tiers 2 and 3 as in the demo (Ollama, Anthropic).
PROTOCOLS = {
    "ollama": ("ollama/llama3.1:8b", "llama3.1:8b", "ollama"),
    "openai": (None, "llama3.1:8b", "openai"),  # http://SIM/v1#llama3.1:8b, an OpenAI-compatible local server
    "anthropic": ("anthropic/claude-haiku-4-5", "claude-haiku-4-5", "anthropic"),
}


@pytest.fixture(params=sorted(PROTOCOLS))
async def agent_router(request, simulator, records, tmp_path):
    spec, model, protocol = PROTOCOLS[request.param]
    fast = spec or f"{simulator.url}/v1#llama3.1:8b"
    router = TieredModelRouter(demo_settings(simulator.url, local_fast_model=fast, db=str(tmp_path / "a.db"),
                                             local_fast_timeout_s=5.0), sinks=[records.append])
    router.tier1_model, router.tier1_protocol = model, protocol
    yield router
    await router.aclose()
    router.close()


def seen(simulator, protocol: str) -> dict:
    return simulator.sim.last_request[protocol].body


async def test_a_full_tool_loop_stays_on_tier_1(agent_router, simulator) -> None:
    router = agent_router
    messages = [{"role": "user", "content": "What is the weather in Balmora? Use get_weather."}]
    first = await router.complete(messages, {"tier": 1}, tools=[WEATHER])
    assert first.tier == Tier.LOCAL_FAST and not first.escalated
    assert first.finish_reason == "tool_calls" and first.text == ""
    [call] = first.tool_calls
    assert call.name == "get_weather" and json.loads(call.arguments)["city"]
    assert first.attempts[0].quality is None  # forced: the only tier, not gated
    body = seen(simulator, router.tier1_protocol)
    tool_names = [t.get("name") or t["function"]["name"] for t in body["tools"]]
    assert tool_names == ["get_weather"]

    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"}]
    final = await router.complete(messages, {"tier": 1}, tools=[WEATHER])
    assert final.tier == Tier.LOCAL_FAST and final.finish_reason == "stop"
    assert "Sunny, 24 C" in final.text and not final.tool_calls
    body = seen(simulator, router.tier1_protocol)
    _assert_tool_turns_arrived(body, router.tier1_protocol, call.id)


def _assert_tool_turns_arrived(body: dict, protocol: str, call_id: str) -> None:
    """The assistant's call and the tool's result reached the upstream in its own shape, ids kept."""
    if protocol == "openai":
        assistant, result = body["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == call_id
        assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
        assert result == {"role": "tool", "tool_call_id": call_id, "content": "Sunny, 24 C"}
    elif protocol == "ollama":
        assistant, result = body["messages"][-2:]
        assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
        assert isinstance(assistant["tool_calls"][0]["function"]["arguments"], dict)
        assert result == {"role": "tool", "content": "Sunny, 24 C", "tool_name": "get_weather"}
    else:
        assistant, user = body["messages"][-2:]
        assert assistant["role"] == "assistant"
        [use] = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert use["id"] == call_id and use["name"] == "get_weather" and isinstance(use["input"], dict)
        assert user["role"] == "user"
        assert user["content"][0] == {"type": "tool_result", "tool_use_id": call_id, "content": "Sunny, 24 C"}


async def test_auto_tool_call_is_accepted_on_tier_1(agent_router) -> None:
    r = await agent_router.complete("Check get_weather for Balmora", tools=[WEATHER])
    assert r.tier == Tier.LOCAL_FAST and not r.escalated and r.tool_calls
    assert r.attempts[0].quality == "ok"  # judged by its call, not called "empty"


@pytest.mark.parametrize(("fault", "reason"), [("tool-as-text", "tool-as-text"), ("bad-tool-args", "bad-tool-args"),
                                               ("unknown-tool", "unknown-tool")])
async def test_a_bad_tool_call_escalates_to_tier_2_with_its_reason(agent_router, fault, reason) -> None:
    router = agent_router
    r = await router.complete(f"Check get_weather for Balmora [[sim:{fault}@{router.tier1_model}]]",
                              tools=[WEATHER])
    assert r.tier == Tier.LOCAL_HEAVY and r.escalated
    assert (r.attempts[0].outcome, r.attempts[0].quality) == ("rejected", reason)
    assert r.escalation_reason == f"tier1-quality:{reason}"
    assert r.tool_calls and r.tool_calls[0].name == "get_weather"  # tier 2 made the call right


async def test_images_reach_the_upstream(agent_router, simulator) -> None:
    router = agent_router
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "Describe this picture."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]
    r = await router.complete(messages, {"tier": 1})
    body = seen(simulator, router.tier1_protocol)
    user = body["messages"][-1]
    if router.tier1_protocol == "openai":
        assert user["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    elif router.tier1_protocol == "ollama":
        assert user["images"] == [PNG] and user["content"] == "Describe this picture."
    else:
        assert user["content"][1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": PNG}}
    text_only = await router.complete("Describe this picture.", {"tier": 1})
    assert r.usage.input_tokens > text_only.usage.input_tokens  # the image was counted as prompt


async def test_ollama_gets_the_tiers_window_unless_the_client_sets_its_own(simulator, tmp_path) -> None:
    settings = demo_settings(simulator.url, db=str(tmp_path / "w.db"), local_fast_context=16384)
    async with TieredModelRouter(settings, sinks=[]) as router:
        simulator.sim.reset()
        long_prompt = "Summarise the following notes. " + "The caravan left Balmora at dawn. " * 900
        r = await router.complete(long_prompt, {"tier": 1})
        assert seen(simulator, "ollama")["options"]["num_ctx"] == 16384
        assert simulator.sim.truncations == 0  # the simulator truncates silently, as Ollama does, without it
        assert r.usage.input_tokens > 4096
        await router.complete("Walk to the next room", {"tier": 1}, num_ctx=2048)
        assert seen(simulator, "ollama")["options"]["num_ctx"] == 2048


async def test_a_client_limit_is_not_truncation(make_router) -> None:
    router = make_router()
    r = await router.complete("Plan the optimal path to become Hortator", max_tokens=16)
    assert r.finish_reason == "length" and r.usage.output_tokens == 16
    assert len(r.attempts) == 1 and r.tier == Tier.LOCAL_HEAVY and not r.escalated


# --- the classifier sees agents, and a tool result goes back to the tier that made the call -------------------


def test_the_classifier_reads_tools_images_tool_results_and_context() -> None:
    from tiered_router.classify import HeuristicClassifier
    from tiered_router.formats.openai import as_messages
    from tiered_router.options import RouteOptions

    decide = HeuristicClassifier().decide
    ask = as_messages("Check the weather in Balmora")
    plain = decide(ask, RouteOptions())
    few, many = decide(ask, RouteOptions(tool_count=2)), decide(ask, RouteOptions(tool_count=20))
    assert "tools" in few.reasons and "many-tools" in many.reasons
    assert plain.score < few.score < many.score
    image = decide(as_messages([{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]), RouteOptions())
    assert "images" in image.reasons
    loop = as_messages([
        {"role": "user", "content": "Check the weather in Balmora"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "B"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"}])
    assert "tool-result" in decide(loop, RouteOptions(tool_count=1)).reasons
    history = as_messages([{"role": "user", "content": "Summarise the notes so far. " * 20},
                           {"role": "assistant", "content": "The notes say the caravan left at dawn. " * 600},
                           {"role": "user", "content": "And then?"}])
    assert "long-context" in decide(history, RouteOptions()).reasons
    assert plain.reasons == decide(ask, RouteOptions()).reasons  # a plain prompt reads as it always did


async def test_a_tool_result_goes_back_to_the_tier_that_made_the_call(make_router, records) -> None:
    router = make_router()
    ask = "Check get_weather for Balmora [[sim:bad-tool-args@llama3.1:8b]]"
    first = await router.complete(ask, tools=[WEATHER])
    assert first.tier == Tier.LOCAL_HEAVY and first.escalated  # tier 1's call was bad: tier 2 made it
    [call] = first.tool_calls
    turn = [{"role": "user", "content": ask},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"}]
    second = await router.complete(turn, tools=[WEATHER])
    assert second.tier == Tier.LOCAL_HEAVY and not second.escalated and len(second.attempts) == 1
    assert "tool-caller:tier-2" in records[-1]["router.reasons"]
    # A client that drops the ids (ollama-python does) is matched by the call's name and arguments.
    turn[1]["tool_calls"][0]["id"] = "call_made_up_by_the_client"
    turn[2]["tool_call_id"] = "call_made_up_by_the_client"
    assert (await router.complete(turn, tools=[WEATHER])).tier == Tier.LOCAL_HEAVY
