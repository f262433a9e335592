"""Agents through the proxy, over loopback, with the official clients (openai, anthropic, ollama, LangChain) in
front and each upstream protocol as tier 1 behind: tool loops, tool faults, images, and what each upstream
received, field by field."""

from __future__ import annotations

import json

import anthropic
import httpx
import ollama
import openai
import pytest

from sim_support import PNG, WEATHER

WEATHER_ANTHROPIC = {"name": "get_weather", "description": "The current weather in a city.",
                     "input_schema": WEATHER["function"]["parameters"]}
ASK = "What is the weather in Balmora? Use get_weather."

# Tier 1 on each upstream wire protocol: (model setting, the model name the simulator sees, its protocol).
UPSTREAMS = {
    "ollama": ("ollama/llama3.1:8b", "llama3.1:8b"),
    "openai": (None, "llama3.1:8b"),  # an OpenAI-compatible local server: http://SIM/v1#llama3.1:8b
    "anthropic": ("anthropic/claude-haiku-4-5", "claude-haiku-4-5"),
}


@pytest.fixture(params=sorted(UPSTREAMS))
def upstream(request, serve, simulator):
    spec, model = UPSTREAMS[request.param]
    server = serve(local_fast_model=spec or f"{simulator.url}/v1#llama3.1:8b", local_fast_timeout_s=5.0)
    server.protocol, server.tier1_model = request.param, model
    simulator.sim.reset()
    return server


def received(simulator, protocol: str) -> dict:
    return simulator.sim.last_request[protocol].body


def records(server) -> list[dict]:
    server.app.state.records.flush()
    return list(server.router.records)


def oai(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def claude(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0)


def assert_upstream_tool_turns(body: dict, protocol: str, call_id: str, result: str) -> None:
    """The assistant's call and the tool's result reached the upstream in its own shape, the id kept."""
    if protocol == "openai":
        assistant, tool = body["messages"][-2:]
        assert assistant["content"] is None
        assert assistant["tool_calls"][0]["id"] == call_id
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"])["city"]
        assert tool == {"role": "tool", "tool_call_id": call_id, "content": result}
        assert body["tools"] == [WEATHER]
    elif protocol == "ollama":
        assistant, tool = body["messages"][-2:]
        [call] = assistant["tool_calls"]
        assert call == {"function": {"name": "get_weather", "arguments": call["function"]["arguments"]}}
        assert isinstance(call["function"]["arguments"], dict) and call["function"]["arguments"]["city"]
        assert tool == {"role": "tool", "content": result, "tool_name": "get_weather"}
        assert body["tools"] == [WEATHER] and body["options"]["num_ctx"] == 8192
    else:
        assistant, user = body["messages"][-2:]
        [use] = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert use["id"] == call_id and use["name"] == "get_weather" and use["input"]["city"]
        assert user == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": result}]}
        assert body["tools"] == [WEATHER_ANTHROPIC]


# --- the OpenAI front -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_openai_tool_loop_stays_on_tier_1(upstream, simulator, stream) -> None:
    client = oai(upstream)
    messages: list[dict] = [{"role": "user", "content": ASK}]
    if stream:
        with client.chat.completions.stream(model="auto", messages=messages, tools=[WEATHER]) as s:
            first = s.get_final_completion()
    else:
        first = client.chat.completions.create(model="auto", messages=messages, tools=[WEATHER])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and not choice.message.content
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"]

    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"}]
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=messages, tools=[WEATHER])
    final = raw.parse()
    assert "Sunny, 24 C" in final.choices[0].message.content and final.choices[0].finish_reason == "stop"
    assert raw.headers["x-router-tier"] == "1" and raw.headers["x-router-escalated"] == "false"
    assert raw.headers["x-router-quality"] == "ok"
    assert_upstream_tool_turns(received(simulator, upstream.protocol), upstream.protocol, call.id, "Sunny, 24 C")
    assert [r["router.final_tier"] for r in records(upstream)] == [1, 1]


@pytest.mark.parametrize(("fault", "reason"), [("tool-as-text", "tool-as-text"), ("bad-tool-args", "bad-tool-args"),
                                               ("unknown-tool", "unknown-tool")])
def test_openai_tool_faults_escalate_to_tier_2(upstream, fault, reason) -> None:
    raw = oai(upstream).chat.completions.with_raw_response.create(
        model="auto", tools=[WEATHER],
        messages=[{"role": "user", "content": f"{ASK} [[sim:{fault}@{upstream.tier1_model}]]"}])
    completion = raw.parse()
    assert raw.headers["x-router-tier"] == "2" and raw.headers["x-router-escalated"] == "true"
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    [record] = records(upstream)
    assert record["router.escalation_reason"] == f"tier1-quality:{reason}"
    assert record["router.attempts"][0]["router.quality"] == reason


def test_openai_images_reach_the_upstream(upstream, simulator) -> None:
    url = f"data:image/png;base64,{PNG}"
    oai(upstream).chat.completions.create(model="tier-1", messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe this picture."}, {"type": "image_url", "image_url": {"url": url}}]}])
    user = received(simulator, upstream.protocol)["messages"][-1]
    if upstream.protocol == "openai":
        assert user["content"] == [{"type": "text", "text": "Describe this picture."},
                                   {"type": "image_url", "image_url": {"url": url}}]
    elif upstream.protocol == "ollama":
        assert user == {"role": "user", "content": "Describe this picture.", "images": [PNG]}
    else:
        assert user["content"] == [{"type": "text", "text": "Describe this picture."},
                                   {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                "data": PNG}}]


def test_langchain_bind_tools_gets_the_tool_call(upstream) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=upstream.url + "/v1", api_key="unused", model="auto", max_retries=0)
    bound = llm.bind_tools([WEATHER])
    ai = bound.invoke(ASK)
    [call] = ai.tool_calls
    assert call["name"] == "get_weather" and call["args"]["city"] and call["id"]
    final = bound.invoke([HumanMessage(ASK), ai, ToolMessage("Sunny, 24 C", tool_call_id=call["id"])])
    assert "Sunny, 24 C" in final.content and not final.tool_calls


# --- the Anthropic front (/v1/messages) -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_anthropic_messages_tool_loop_stays_on_tier_1(upstream, simulator, stream) -> None:
    client = claude(upstream)
    messages: list[dict] = [{"role": "user", "content": ASK}]
    kwargs = {"model": "auto", "max_tokens": 400, "tools": [WEATHER_ANTHROPIC], "system": "You are a weather bot."}
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(messages=messages, **kwargs)
    assert first.stop_reason == "tool_use"
    [use] = [b for b in first.content if b.type == "tool_use"]
    assert use.name == "get_weather" and use.input["city"]
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": "Sunny, 24 C"}]}]
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as s:
            final = s.get_final_message()
    else:
        final = client.messages.create(messages=messages, **kwargs)
    assert final.stop_reason == "end_turn"
    assert "Sunny, 24 C" in "".join(b.text for b in final.content if b.type == "text")
    body = received(simulator, upstream.protocol)
    assert_upstream_tool_turns(body, upstream.protocol, use.id, "Sunny, 24 C")
    if upstream.protocol == "anthropic":
        assert body["system"] == "You are a weather bot."
    else:
        assert body["messages"][0] == {"role": "system", "content": "You are a weather bot."}
    assert [r["router.final_tier"] for r in records(upstream)] == [1, 1]
    assert {r["router.entry_point"] for r in records(upstream)} == {"anthropic"}


@pytest.mark.parametrize("fault", ["tool-as-text", "bad-tool-args", "unknown-tool"])
def test_anthropic_messages_tool_faults_escalate(upstream, fault) -> None:
    response = claude(upstream).messages.with_raw_response.create(
        model="auto", max_tokens=300, tools=[WEATHER_ANTHROPIC],
        messages=[{"role": "user", "content": f"{ASK} [[sim:{fault}@{upstream.tier1_model}]]"}])
    message = response.parse()
    assert response.headers["x-router-tier"] == "2"
    assert [b.name for b in message.content if b.type == "tool_use"] == ["get_weather"]
    assert records(upstream)[0]["router.escalation_reason"] == f"tier1-quality:{fault}"


def test_anthropic_messages_carry_images_stop_sequences_and_metadata(upstream, simulator) -> None:
    claude(upstream).messages.create(
        model="tier-1", max_tokens=50, stop_sequences=["###"], metadata={"user_id": "agent-7"},
        messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "text", "text": "Describe this picture."}]}])
    body = received(simulator, upstream.protocol)
    user = body["messages"][-1]
    if upstream.protocol == "anthropic":
        assert user["content"][0] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": PNG}}
        assert body["stop_sequences"] == ["###"] and body["metadata"] == {"user_id": "agent-7"}
        assert body["max_tokens"] == 50
    elif upstream.protocol == "ollama":
        assert user["images"] == [PNG] and body["options"]["stop"] == ["###"]
        assert body["options"]["num_predict"] == 50
    else:
        assert user["content"][0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
        assert body["stop"] == ["###"] and body["user"] == "agent-7" and body["max_tokens"] == 50


def test_anthropic_count_tokens_and_claude_model_names(serve) -> None:
    server = serve()
    client = claude(server)
    count = client.messages.count_tokens(model="claude-sonnet-4-6", messages=[{"role": "user", "content": ASK}],
                                         tools=[WEATHER_ANTHROPIC])
    assert count.input_tokens > 10
    haiku = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=50,
                                                     messages=[{"role": "user", "content": "Plan a siege"}])
    assert haiku.headers["x-router-tier"] == "1"  # *haiku* → tier 1 by default
    sonnet = client.messages.with_raw_response.create(model="claude-sonnet-4-6", max_tokens=400, messages=[
        {"role": "user", "content": "Plan the optimal path to become Hortator"}])
    assert sonnet.headers["x-router-tier"] == "2"  # *sonnet* → auto, which classified it


def test_anthropic_errors_have_anthropics_shape(serve) -> None:
    server = serve()
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude(server).messages.create(model="no-such-model", max_tokens=10,
                                       messages=[{"role": "user", "content": "hi"}])
    assert missing.value.body["type"] == "error" and missing.value.body["error"]["type"] == "not_found_error"
    r = httpx.post(server.url + "/v1/messages", json={"model": "auto", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_x_api_key_is_accepted_as_a_key(serve) -> None:
    server = serve(api_keys="sekret")
    ok = httpx.post(server.url + "/v1/messages", headers={"x-api-key": "sekret"},
                    json={"model": "tier-1", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]})
    assert ok.status_code == 200
    bad = httpx.post(server.url + "/v1/messages", headers={"x-api-key": "wrong"},
                     json={"model": "tier-1", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]})
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "authentication_error"


# --- the Ollama front -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_ollama_tool_loop_stays_on_tier_1(upstream, simulator, stream) -> None:
    client = ollama.Client(host=upstream.url)
    messages: list = [{"role": "user", "content": ASK}]

    def chat(msgs: list) -> ollama.ChatResponse:
        if not stream:
            return client.chat(model="auto", messages=msgs, tools=[WEATHER])
        parts = list(client.chat(model="auto", messages=msgs, tools=[WEATHER], stream=True))
        calls = [c for p in parts for c in p.message.tool_calls or ()]
        last = parts[-1]
        last.message.content = "".join(p.message.content or "" for p in parts)
        last.message.tool_calls = calls or None
        return last

    first = chat(messages)
    [call] = first.message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments["city"]
    messages += [first.message, {"role": "tool", "content": "Sunny, 24 C", "tool_name": "get_weather"}]
    final = chat(messages)
    assert "Sunny, 24 C" in final.message.content and not final.message.tool_calls
    body = received(simulator, upstream.protocol)
    if upstream.protocol == "ollama":
        assert body["messages"][-1] == {"role": "tool", "content": "Sunny, 24 C", "tool_name": "get_weather"}
        assert body["messages"][-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    elif upstream.protocol == "openai":
        assistant, tool = body["messages"][-2:]
        assert tool["tool_call_id"] == assistant["tool_calls"][0]["id"]  # the made-up id ties them together
    else:
        assistant, user = body["messages"][-2:]
        assert user["content"][0]["tool_use_id"] == assistant["content"][0]["id"]
    assert [r["router.final_tier"] for r in records(upstream)] == [1, 1]


def test_ollama_generate_show_ps_and_version(serve, simulator) -> None:
    server = serve()
    client = ollama.Client(host=server.url)
    generated = client.generate(model="tier-1", prompt="Walk to the next room", system="Narrate.",
                                options={"num_ctx": 4096, "seed": 7, "temperature": 0.1})
    assert generated.response and generated.done
    body = received(simulator, "ollama")
    assert body["messages"] == [{"role": "system", "content": "Narrate."},
                                {"role": "user", "content": "Walk to the next room"}]
    assert body["options"] == {"num_ctx": 4096, "seed": 7, "temperature": 0.1}
    streamed = "".join(p.response for p in client.generate(model="tier-1", prompt="Walk to the next room",
                                                             stream=True))
    assert streamed
    shown = client.show("auto")
    assert "tools" in shown.capabilities and shown.modelinfo is not None
    assert {m.model for m in client.ps().models} >= {"auto", "tier-1"}
    version = httpx.get(server.url + "/api/version").json()["version"]
    assert [int(x) for x in version.split(".")] >= [0, 12, 0]


def test_ollama_front_passes_every_field(serve, simulator) -> None:
    server = serve()
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    ollama.Client(host=server.url).chat(
        model="tier-1", messages=[{"role": "user", "content": "Give the answer as JSON", "images": [PNG]}],
        format=schema, keep_alive="10m", think=True,
        options={"num_ctx": 2048, "seed": 3, "num_predict": 64, "top_k": 20, "repeat_penalty": 1.1})
    body = received(simulator, "ollama")
    assert body["format"] == schema and body["keep_alive"] == "10m" and body["think"] is True
    assert body["options"] == {"num_ctx": 2048, "num_predict": 64, "top_k": 20, "seed": 3, "repeat_penalty": 1.1}
    assert body["messages"][-1]["images"] == [PNG]


# --- refusals and visibility ----------------------------------------------------------------------------------


def test_a_field_a_tier_cannot_take_is_a_400_naming_it(serve) -> None:
    server = serve()
    with pytest.raises(openai.BadRequestError) as n:
        oai(server).chat.completions.create(model="auto", n=2, messages=[{"role": "user", "content": "hi"}])
    assert "n" in n.value.message
    # seed has no equivalent on the Anthropic cloud tier: refused, naming the field and the tier, before any call
    with pytest.raises(openai.BadRequestError) as seed:
        oai(server).chat.completions.create(model="auto", seed=4, messages=[{"role": "user", "content": "hi"}])
    assert "seed" in seed.value.message and "tier 3" in seed.value.message
    ok = oai(server).chat.completions.create(model="tier-1", seed=4, messages=[{"role": "user", "content": "hi"}])
    assert ok.choices[0].message.content


def test_unserved_paths_get_the_fronts_error_listing_what_is_served(serve) -> None:
    server = serve()
    r = httpx.get(server.url + "/api/pull")
    assert r.status_code == 404 and "POST /api/chat" in r.json()["error"]
    r = httpx.post(server.url + "/v1/embeddings", json={})
    assert r.status_code == 404 and "POST /v1/chat/completions" in r.json()["error"]["message"]
    r = httpx.get(server.url + "/v1/messages")
    assert r.status_code == 405 and r.json()["type"] == "error"


def test_degraded_and_quality_are_visible(serve) -> None:
    server = serve(cloud_daily_budget_usd=0.0)
    raw = oai(server).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Plan the optimal path to become Hortator "
                                 "[[sim:refuse@hermes3:70b]]"}])
    completion = raw.parse()
    assert raw.headers["x-router-degraded"].startswith("budget_exceeded")
    assert raw.headers["x-router-quality"] == "refusal"
    info = completion.model_extra["router"]
    assert info["degraded"] == raw.headers["x-router-degraded"] and info["quality"] == "refusal"


def test_refusals_come_before_any_upstream_call(serve, simulator) -> None:
    server = serve()
    simulator.sim.reset()
    with pytest.raises(openai.BadRequestError) as url:  # Ollama needs image bytes; the router fetches nothing
        oai(server).chat.completions.create(model="tier-1", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert "image_url" in url.value.message and "tier 1" in url.value.message
    with pytest.raises(anthropic.BadRequestError) as thinking:
        claude(server).messages.create(model="tier-3", max_tokens=5000, extra_body={"temperature": 0.5},
                                       thinking={"type": "enabled", "budget_tokens": 2000},
                                       messages=[{"role": "user", "content": "hi"}])
    assert "temperature" in thinking.value.message
    assert not simulator.sim.requests  # nothing reached an upstream
    # logprobs: false asks for nothing, so no tier refuses it
    assert oai(server).chat.completions.create(model="auto", logprobs=False,
                                               messages=[{"role": "user", "content": "hi"}]).choices


def test_anthropic_output_format_is_json_for_every_tier(serve, simulator) -> None:
    server = serve()
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    r = httpx.post(server.url + "/v1/messages", json={
        "model": "tier-1", "max_tokens": 200, "output_format": {"type": "json_schema", "schema": schema},
        "messages": [{"role": "user", "content": "Say hello"}]})
    assert r.status_code == 200, r.text
    assert received(simulator, "ollama")["format"] == schema  # Ollama's own structured output
    json.loads(r.json()["content"][0]["text"])


def test_a_held_streams_verdict_is_in_its_last_chunk(serve) -> None:
    server = serve()
    lines = []
    with httpx.stream("POST", server.url + "/v1/chat/completions", json={
            "model": "auto", "stream": True, "messages": [{"role": "user", "content": "Walk to the next room"}]}) as r:
        lines = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    last = lines[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["router"]["tier"] == 1 and last["router"]["quality"] == "ok"


def test_ollama_tool_call_id_ties_a_result_to_its_call(serve, simulator) -> None:
    server = serve(local_fast_model=f"{simulator.url}/v1#llama3.1:8b")
    r = httpx.post(server.url + "/api/chat", json={"model": "tier-1", "stream": False, "tools": [WEATHER], "messages": [
        {"role": "user", "content": ASK},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_abc", "function": {"name": "get_weather", "arguments": {"city": "Balmora"}}}]},
        {"role": "tool", "content": "Sunny", "tool_call_id": "call_abc"}]})
    assert r.status_code == 200, r.text
    assistant, tool = received(simulator, "openai")["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_abc" and tool["tool_call_id"] == "call_abc"
