"""Wire formats and error mapping of each backend, against httpx.MockTransport.

These pin the request each backend sends and how it reads answers and failures. The same
paths run for real over loopback against the simulator in test_router_integration.py.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tiered_router.backends import AnthropicBackend, ChatRequest, HttpPool, OllamaBackend, OpenAICompatBackend
from tiered_router.backends.anthropic import split_system
from tiered_router.backends.base import retry_after_seconds
from tiered_router.errors import (
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

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def make(cls, handler, **kw):
    pool = HttpPool(transport=httpx.MockTransport(handler))
    defaults = dict(provider="p", model="m", base_url="http://up", api_key="sk-secret", timeout_s=2.0, pool=pool)
    defaults.update(kw)
    return cls(**defaults)


async def test_ollama_request_and_answer():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={
            "model": "m", "message": {"role": "assistant", "content": "Hello"}, "done": True,
            "done_reason": "length", "prompt_eval_count": 7, "eval_count": 3})

    backend = make(OllamaBackend, handler)
    result = await backend.chat(ChatRequest(MESSAGES, max_tokens=5, temperature=0.2,
                                            response_format={"type": "json_object"}))
    assert seen["url"] == "http://up/api/chat"
    assert seen["body"]["stream"] is False
    assert seen["body"]["options"] == {"num_predict": 5, "temperature": 0.2}
    assert seen["body"]["format"] == "json"
    assert (result.text, result.finish_reason) == ("Hello", "length")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.estimated) == (7, 3, False)


async def test_openai_request_uses_sdk_base_url_and_asks_usage_on_streams():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == "http://up/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-secret"
        bodies.append(json.loads(request.content))
        sse = (
            'data: {"choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}\n\n'
            'data: {"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'
            'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
            'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\n'
            "data: [DONE]\n\n"
        )
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    backend = make(OpenAICompatBackend, handler, model="o3-mini")
    chunks = [c async for c in backend.stream(ChatRequest(MESSAGES, max_tokens=9))]
    assert bodies[0]["stream_options"] == {"include_usage": True}
    assert bodies[0]["max_completion_tokens"] == 9 and "max_tokens" not in bodies[0]
    assert "".join(c.text for c in chunks) == "Hello"
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.output_tokens == 2


async def test_openai_stream_cut_before_finish_is_an_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text='data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n')

    backend = make(OpenAICompatBackend, handler)
    with pytest.raises(BadResponse):
        _ = [c async for c in backend.stream(ChatRequest(MESSAGES))]


async def test_anthropic_request_shape_and_stream():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["headers"] = request.headers
        seen["body"] = json.loads(request.content)
        events = [
            ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 11}}}),
            ("content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Yo"}}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        sse = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
        return httpx.Response(200, text=sse)

    backend = make(AnthropicBackend, handler)
    chunks = [c async for c in backend.stream(ChatRequest(MESSAGES))]
    assert seen["headers"]["x-api-key"] == "sk-secret"
    assert seen["headers"]["anthropic-version"]
    assert seen["body"]["system"] == "Be brief."
    assert seen["body"]["messages"] == [{"role": "user", "content": "Hi"}]
    assert seen["body"]["max_tokens"] > 0
    assert "".join(c.text for c in chunks) == "Yo"
    assert chunks[-1].finish_reason == "length"
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (11, 1)


def test_split_system_merges_turns_and_starts_with_user():
    system, turns = split_system([
        {"role": "system", "content": "S"}, {"role": "assistant", "content": "a"},
        {"role": "user", "content": "u1"}, {"role": "user", "content": [{"type": "text", "text": "u2"}]},
    ])
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
async def test_http_errors_map_to_classes(cls, status, body, headers, error, kind):
    backend = make(cls, lambda r: httpx.Response(status, json=body, headers=headers))
    with pytest.raises(error) as info:
        await backend.chat(ChatRequest(MESSAGES))
    assert info.value.kind is kind
    assert info.value.status == status
    assert "sk-secret" not in str(info.value)
    if error is RateLimited:
        assert info.value.retry_after_s == 3.0


async def test_transport_failures_map_to_classes():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    def garbage(request):
        return httpx.Response(200, text="<html>not json</html>")

    def wrong_shape(request):
        return httpx.Response(200, json={"unexpected": True})

    with pytest.raises(BackendConnectError):
        await make(OllamaBackend, refuse).chat(ChatRequest(MESSAGES))
    with pytest.raises(BackendTimeout):
        await make(OllamaBackend, slow).chat(ChatRequest(MESSAGES))
    with pytest.raises(BadResponse):
        await make(OpenAICompatBackend, garbage).chat(ChatRequest(MESSAGES))
    with pytest.raises(BadResponse):
        await make(AnthropicBackend, wrong_shape).chat(ChatRequest(MESSAGES))


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_repr_never_shows_the_key():
    backend = make(OpenAICompatBackend, lambda r: httpx.Response(200))
    assert "sk-secret" not in repr(backend)
