"""Wire formats and error mapping of each backend, against a scripted upstream on loopback.

The upstream is a tiny aiohttp server whose answer each test writes, so these pin the request a
backend sends and how it reads answers and failures. The same paths run against the simulator in
test_router_integration.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tiered_router.backends import AnthropicBackend, ChatRequest, HttpPool, OllamaBackend, OpenAICompatBackend
from tiered_router.backends.base import retry_after_seconds
from tiered_router.backends.errors import (
    AuthError,
    BackendConnectError,
    BackendTimeout,
    BadRequest,
    BadResponse,
    ContextTooLong,
    ErrorKind,
    RateLimited,
    UpstreamServerError,
)
from tiered_router.formats.anthropic import split_system
from tiered_router.formats.openai import as_messages

MESSAGES = as_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])


@dataclass
class Seen:
    path: str
    headers: Any
    body: Any


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Handler = Callable[[Seen], Reply]


@pytest.fixture
async def make():
    servers: list[TestServer] = []
    pools: list[HttpPool] = []

    async def start(cls: type, handler: Handler, **kw: Any) -> Any:
        async def route(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            reply = handler(Seen(request.path, request.headers, json.loads(raw) if raw else None))
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.json is not None:
                return web.json_response(reply.json, status=reply.status, headers=reply.headers)
            return web.Response(text=reply.text or "", status=reply.status, headers=reply.headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", route)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        pool = HttpPool()
        pools.append(pool)
        options = dict(provider="p", model="m", base_url=f"http://127.0.0.1:{server.port}", api_key="sk-secret",
                       timeout_s=2.0, pool=pool)
        options.update(kw)
        return cls(**options)

    yield start
    for pool in pools:
        await pool.aclose()
    for server in servers:
        await server.close()


async def test_ollama_request_and_answer(make):
    seen: list[Seen] = []

    def handler(s: Seen) -> Reply:
        seen.append(s)
        return Reply(json={"model": "m", "message": {"role": "assistant", "content": "Hello"}, "done": True,
                           "done_reason": "length", "prompt_eval_count": 7, "eval_count": 3})

    backend = await make(OllamaBackend, handler)
    result = await backend.chat(ChatRequest(MESSAGES, max_tokens=5, temperature=0.2,
                                            response_format={"type": "json_object"}))
    assert seen[0].path == "/api/chat"
    assert seen[0].body["stream"] is False
    # num_ctx is the tier's window: without it Ollama would truncate at its own default
    assert seen[0].body["options"] == {"num_ctx": 8192, "num_predict": 5, "temperature": 0.2}
    assert seen[0].body["format"] == "json"
    assert (result.text, result.finish_reason) == ("Hello", "length")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.estimated) == (7, 3, False)


async def test_openai_request_uses_sdk_base_url_and_asks_usage_on_streams(make):
    seen: list[Seen] = []

    def handler(s: Seen) -> Reply:
        seen.append(s)
        sse = (
            'data: {"choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}\n\n'
            'data: {"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'
            'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
            'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\n'
            "data: [DONE]\n\n"
        )
        return Reply(text=sse, headers={"content-type": "text/event-stream"})

    backend = await make(OpenAICompatBackend, handler, model="o3-mini")
    chunks = [c async for c in backend.stream(ChatRequest(MESSAGES, max_tokens=9))]
    assert seen[0].path == "/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-secret"
    assert seen[0].body["stream_options"] == {"include_usage": True}
    assert seen[0].body["max_completion_tokens"] == 9 and "max_tokens" not in seen[0].body
    assert "".join(c.text for c in chunks) == "Hello"
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.output_tokens == 2


async def test_openai_stream_cut_before_finish_is_an_error(make):
    cut = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    backend = await make(OpenAICompatBackend, lambda s: Reply(text=cut))
    with pytest.raises(BadResponse):
        _ = [c async for c in backend.stream(ChatRequest(MESSAGES))]


async def test_anthropic_request_shape_and_stream(make):
    seen: list[Seen] = []

    def handler(s: Seen) -> Reply:
        seen.append(s)
        events = [
            ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 11}}}),
            ("content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Yo"}}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        return Reply(text="".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events))

    backend = await make(AnthropicBackend, handler)
    chunks = [c async for c in backend.stream(ChatRequest(MESSAGES))]
    assert seen[0].path == "/v1/messages"
    assert seen[0].headers["x-api-key"] == "sk-secret"
    assert seen[0].headers["anthropic-version"]
    assert seen[0].body["system"] == "Be brief."
    assert seen[0].body["messages"] == [{"role": "user", "content": "Hi"}]
    assert seen[0].body["max_tokens"] > 0
    assert "".join(c.text for c in chunks) == "Yo"
    assert chunks[-1].finish_reason == "length"
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (11, 1)


async def test_long_stream_lines_are_read_whole(make):
    long_text = "x" * 200_000  # longer than any fixed line buffer
    sse = (f'data: {{"choices":[{{"delta":{{"content":"{long_text}"}},"finish_reason":"stop"}}]}}\n\n'
           "data: [DONE]\n\n")
    backend = await make(OpenAICompatBackend, lambda s: Reply(text=sse))
    chunks = [c async for c in backend.stream(ChatRequest(MESSAGES))]
    assert "".join(c.text for c in chunks) == long_text


def test_split_system_merges_turns_and_starts_with_user():
    system, turns = split_system(as_messages([
        {"role": "system", "content": "S"}, {"role": "assistant", "content": "a"},
        {"role": "user", "content": "u1"}, {"role": "user", "content": [{"type": "text", "text": "u2"}]},
    ]))
    assert system == "S"
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[-1]["content"] == "u1\n\nu2"


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "kind"),
    [
        (429, {"error": {"message": "slow down"}}, {"retry-after": "3"}, RateLimited, ErrorKind.RATE_LIMITED),
        (401, {"error": {"message": "bad key"}}, {}, AuthError, ErrorKind.AUTH),
        (404, {"error": "model 'x' not found"}, {}, AuthError, ErrorKind.AUTH),
        (400, {"error": {"message": "This model's maximum context length is 8192 tokens",
                         "code": "context_length_exceeded"}}, {}, ContextTooLong, ErrorKind.CONTEXT_TOO_LONG),
        (400, {"type": "error", "error": {"type": "invalid_request_error",
                                          "message": "prompt is too long: 300000 tokens > 200000 maximum"}},
         {}, ContextTooLong, ErrorKind.CONTEXT_TOO_LONG),
        (400, {"error": {"message": "temperature must be <= 2"}}, {}, BadRequest, ErrorKind.BAD_REQUEST),
        (500, {"error": "boom"}, {}, UpstreamServerError, ErrorKind.SERVER),
        (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, {},
         UpstreamServerError, ErrorKind.SERVER),
    ],
)
@pytest.mark.parametrize("cls", [OllamaBackend, OpenAICompatBackend, AnthropicBackend])
async def test_http_errors_map_to_classes(make, cls, status, body, headers, error, kind):
    backend = await make(cls, lambda s: Reply(status=status, json=body, headers=headers))
    for call in (backend.chat(ChatRequest(MESSAGES)), _drain(backend.stream(ChatRequest(MESSAGES)))):
        with pytest.raises(error) as info:
            await call
        assert info.value.kind is kind
        assert info.value.status == status
        assert "sk-secret" not in str(info.value)
        if error is RateLimited:
            assert info.value.retry_after_s == 3.0


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def test_transport_failures_map_to_classes(make):
    closed_port = await make(OllamaBackend, lambda s: Reply(), base_url="http://127.0.0.1:9")
    with pytest.raises(BackendConnectError):
        await closed_port.chat(ChatRequest(MESSAGES))
    slow = await make(OllamaBackend, lambda s: Reply(json={}, delay_s=5), timeout_s=0.2)
    with pytest.raises(BackendTimeout):
        await slow.chat(ChatRequest(MESSAGES))
    garbage = await make(OpenAICompatBackend, lambda s: Reply(text="<html>not json</html>"))
    with pytest.raises(BadResponse):
        await garbage.chat(ChatRequest(MESSAGES))
    wrong_shape = await make(AnthropicBackend, lambda s: Reply(json={"unexpected": True}))
    with pytest.raises(BadResponse):
        await wrong_shape.chat(ChatRequest(MESSAGES))


async def test_health(make):
    healthy = await make(OllamaBackend, lambda s: Reply(json={"models": []}))
    assert await healthy.health() == (True, "ok")
    down = await make(OllamaBackend, lambda s: Reply(), base_url="http://127.0.0.1:9")
    ok, detail = await down.health()
    assert not ok and detail


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_repr_never_shows_the_key(make):
    backend = await make(OpenAICompatBackend, lambda s: Reply())
    assert "sk-secret" not in repr(backend)


