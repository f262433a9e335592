"""Random agent conversations (text, images, tool calls and their results, tools with schemas, sampling fields)
through each front to each upstream protocol: never a 5xx, and every field is either delivered to the
upstream or refused with a 400 that names it. The conversations are written in each front's own format by
this test, independently of the router's format modules."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_support import PNG

UPSTREAMS = {"ollama": "ollama/llama3.1:8b", "anthropic": "anthropic/claude-haiku-4-5", "openai": None}
TOOLS = [
    {"name": "get_weather", "description": "Weather in a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "roll_dice", "description": "Roll dice",
     "parameters": {"type": "object", "properties": {"sides": {"type": "integer"}, "n": {"type": "integer"}}}},
]

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.?!'", min_size=1, max_size=40).map(lambda s: s.strip() or "hi")


@st.composite
def turns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A conversation as neutral turns: user (text, images), assistant (text or tool calls), tool results."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        out.append({"kind": "user", "text": draw(words), "images": draw(st.integers(0, 1 if i == 0 else 0))})
        if draw(st.booleans()):
            tool = draw(st.sampled_from(TOOLS))
            args = {"city": draw(words)} if tool["name"] == "get_weather" else {"sides": draw(st.integers(2, 20))}
            call_id = f"call_{i}"
            out.append({"kind": "call", "id": call_id, "name": tool["name"], "args": args})
            out.append({"kind": "result", "id": call_id, "name": tool["name"], "text": draw(words)})
            if draw(st.booleans()):
                out.append({"kind": "assistant", "text": draw(words)})
                out.append({"kind": "user", "text": draw(words), "images": 0})
        elif i < 2 and draw(st.booleans()):
            out.append({"kind": "assistant", "text": draw(words)})
    return out


fields = st.fixed_dictionaries({}, optional={
    "max_tokens": st.integers(1, 300), "temperature": st.floats(0, 1).map(lambda x: round(x, 2)),
    "stop": st.lists(st.sampled_from(["###", "END"]), min_size=1, max_size=2, unique=True),
    "seed": st.integers(0, 99), "tools": st.just(True), "tool_choice": st.sampled_from(["auto", "required"]),
    "system": words, "stream": st.booleans(),
})


def openai_body(conv: list[dict[str, Any]], f: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": f["system"]}] if "system" in f else []
    for t in conv:
        if t["kind"] == "user":
            content: Any = t["text"] if not t["images"] else [
                {"type": "text", "text": t["text"]},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
            messages.append({"role": "user", "content": content})
        elif t["kind"] == "assistant":
            messages.append({"role": "assistant", "content": t["text"]})
        elif t["kind"] == "call":
            call = {"name": t["name"], "arguments": json.dumps(t["args"])}
            messages.append({"role": "assistant", "content": None,
                             "tool_calls": [{"id": t["id"], "type": "function", "function": call}]})
        else:
            messages.append({"role": "tool", "tool_call_id": t["id"], "content": t["text"]})
    body: dict[str, Any] = {"model": "tier-1", "messages": messages, "stream": f.get("stream", False)}
    for key in ("max_tokens", "temperature", "stop", "seed", "tool_choice"):
        if key in f:
            body[key] = f[key]
    if "tools" in f or "tool_choice" in f:
        body["tools"] = [{"type": "function", "function": t} for t in TOOLS]
    return body


def anthropic_body(conv: list[dict[str, Any]], f: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for t in conv:
        if t["kind"] == "user":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": t["text"]}]
            if t["images"]:
                source = {"type": "base64", "media_type": "image/png", "data": PNG}
                blocks.insert(0, {"type": "image", "source": source})
            messages.append({"role": "user", "content": blocks})
        elif t["kind"] == "assistant":
            messages.append({"role": "assistant", "content": t["text"]})
        elif t["kind"] == "call":
            messages.append({"role": "assistant", "content": [
                {"type": "tool_use", "id": t["id"], "name": t["name"], "input": t["args"]}]})
        else:
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": t["id"], "content": t["text"]}]})
    merged: list[dict[str, Any]] = []  # Anthropic's turns alternate: a client merges adjacent user blocks
    for m in messages:
        if merged and merged[-1]["role"] == m["role"] == "user":
            merged[-1]["content"] = [*_blocks(merged[-1]["content"]), *_blocks(m["content"])]
        else:
            merged.append(m)
    body: dict[str, Any] = {"model": "tier-1", "messages": merged, "max_tokens": f.get("max_tokens", 200),
                            "stream": f.get("stream", False)}
    if "system" in f:
        body["system"] = f["system"]
    if "temperature" in f:
        body["temperature"] = f["temperature"]
    if "stop" in f:
        body["stop_sequences"] = f["stop"]
    if "seed" in f:
        body["seed"] = f["seed"]  # not Anthropic's: refused by name
    if "tools" in f or "tool_choice" in f:
        body["tools"] = [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
                         for t in TOOLS]
    if "tool_choice" in f:
        body["tool_choice"] = {"type": "any" if f["tool_choice"] == "required" else "auto"}
    return body


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def ollama_body(conv: list[dict[str, Any]], f: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": f["system"]}] if "system" in f else []
    for t in conv:
        if t["kind"] == "user":
            messages.append({"role": "user", "content": t["text"], **({"images": [PNG]} if t["images"] else {})})
        elif t["kind"] == "assistant":
            messages.append({"role": "assistant", "content": t["text"]})
        elif t["kind"] == "call":
            messages.append({"role": "assistant", "content": "",
                             "tool_calls": [{"function": {"name": t["name"], "arguments": t["args"]}}]})
        else:
            messages.append({"role": "tool", "content": t["text"], "tool_name": t["name"]})
    options = {k: f[k] for k in ("temperature", "stop", "seed") if k in f}
    if "max_tokens" in f:
        options["num_predict"] = f["max_tokens"]
    body: dict[str, Any] = {"model": "tier-1", "messages": messages, "stream": f.get("stream", False),
                            "options": options}
    if "tools" in f or "tool_choice" in f:
        body["tools"] = [{"type": "function", "function": t} for t in TOOLS]
    return body


FRONTS = {"openai": ("/v1/chat/completions", openai_body), "anthropic": ("/v1/messages", anthropic_body),
          "ollama": ("/api/chat", ollama_body)}


@pytest.fixture(scope="module")
def servers(simulator, tmp_path_factory):
    from tiered_router.demo import demo_settings
    from tiered_router.routing import TieredModelRouter
    from tiered_router.server.app import create_app
    from tiered_router.server.runner import ServerThread

    started = {}
    for name, spec in UPSTREAMS.items():
        db = tmp_path_factory.mktemp(f"fuzz-{name}") / "f.db"
        fast = spec or f"{simulator.url}/v1#llama3.1:8b"
        router = TieredModelRouter(demo_settings(simulator.url, local_fast_model=fast, db=str(db),
                                                 local_fast_timeout_s=10.0), sinks=[])
        started[name] = (ServerThread(create_app(router)).start(), router)
    yield {name: server for name, (server, _) in started.items()}
    for server, router in started.values():
        server.stop()
        router.close()


def expected_refusals(front: str, upstream: str, f: dict[str, Any]) -> set[str]:
    """The fields this request must be refused for (the message names one): those its tier cannot express."""
    refused = set()
    if "seed" in f and (upstream == "anthropic") != (front == "anthropic"):
        refused.add("seed")  # Anthropic has no seed; a field an Anthropic client sends is not another protocol's
    if f.get("tool_choice") == "required" and upstream == "ollama" and front != "ollama":
        refused.add("tool_choice")  # Ollama cannot be made to call a tool
    return refused


def sent_value(upstream: str, key: str) -> str:
    """How the upstream's body names a field."""
    if upstream == "ollama":
        return {"max_tokens": "num_predict"}.get(key, key)
    return key


@pytest.mark.parametrize("front", sorted(FRONTS))
@pytest.mark.parametrize("upstream", sorted(UPSTREAMS))
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(conv=turns(), f=fields)
def test_every_field_is_delivered_or_refused_by_name(servers, simulator, front, upstream, conv, f) -> None:
    path, build = FRONTS[front]
    body = build(conv, f)
    protocol = upstream
    simulator.sim.last_request.pop(protocol, None)
    with httpx.Client(base_url=servers[upstream].url, timeout=30) as client:
        response = client.post(path, json=body)
        text = response.text  # a stream is read whole
    assert response.status_code < 500, text
    refusals = expected_refusals(front, upstream, f)
    if refusals:
        assert response.status_code == 400 and any(name in text for name in refusals), f"{response.status_code}: {text}"
        assert protocol not in simulator.sim.last_request  # refused before any upstream call
        return
    assert response.status_code == 200, text
    received = simulator.sim.last_request[protocol].body
    seen = json.dumps(received, ensure_ascii=False)
    for key in ("max_tokens", "temperature", "seed"):
        if key in f:
            assert f'"{sent_value(upstream, key)}": {json.dumps(f[key])}' in seen, key
    for t in conv:  # every text, image, tool call and tool result reached the upstream
        if "text" in t:
            assert json.dumps(t["text"], ensure_ascii=False)[1:-1] in seen
        if t["kind"] == "call":
            assert t["name"] in seen
    assert seen.count(PNG) == sum(t.get("images", 0) for t in conv)
    if "system" in f:
        assert json.dumps(f["system"])[1:-1] in seen
    if "stop" in f:
        assert all(s in seen for s in f["stop"])
    if "tools" in f or "tool_choice" in f:
        assert "get_weather" in seen and "roll_dice" in seen
    if f.get("tool_choice") == "required" and front != "ollama":
        assert '"required"' in seen or '"any"' in seen
