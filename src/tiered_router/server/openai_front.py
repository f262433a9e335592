"""OpenAI-compatible front: ``POST /v1/chat/completions`` (JSON or SSE) and ``GET /v1/models``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..chat import ChatRequest, Usage, render_logprobs
from ..errors import RouterError
from ..formats.openai import messages_from_openai, request_from_params, tool_call_to_openai
from ..routing import RoutedResponse, RoutedStream
from .common import answer, model_names, read_chat, router_info, stream_headers
from .errors import error_body, problem_from
from .exchange import Exchange, JSONReply
from .schemas import ChatCompletionRequest

_NOT_PARAMS = {"model", "messages", "stream", "stream_options"}


async def chat_completions(exchange: Exchange) -> Response | JSONReply:
    router, body, options = await read_chat(exchange, ChatCompletionRequest, "openai")
    request = openai_request(body)
    if body.stream:
        stream = await router.stream(request, options)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(_sse(stream, include_usage, request.logprobs), media_type="text/event-stream",
                                 headers=stream_headers(stream))
    return await answer(router, request, options, completion_body)


def openai_request(body: ChatCompletionRequest) -> ChatRequest:
    params = {k: v for k, v in body if k not in _NOT_PARAMS and v is not None}
    params.update(body.model_extra or {})
    return request_from_params(messages_from_openai(body.messages), params)


def completion_body(r: RoutedResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text if r.text or not r.tool_calls else None}
    if r.tool_calls:
        message["tool_calls"] = [tool_call_to_openai(c) for c in r.tool_calls]
    if r.thinking:
        message["reasoning_content"] = r.thinking  # as vLLM and DeepSeek return it
    return {
        "id": f"chatcmpl-{r.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": r.model,
        "choices": [{"index": 0, "message": message, "finish_reason": r.finish_reason,
                     "logprobs": {"content": render_logprobs(r.logprobs)} if r.logprobs is not None else None}],
        "usage": _usage(r.usage),
        "system_fingerprint": None,
        "router": router_info(r),
    }


def _usage(u: Usage) -> dict[str, int]:
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total_tokens}


async def _sse(stream: RoutedStream, include_usage: bool, wants_logprobs: bool = False) -> AsyncIterator[bytes]:
    base = {"id": f"chatcmpl-{stream.request_id}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": stream.model, "system_fingerprint": None}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + orjson.dumps({**base, "choices": choices, **extra}) + b"\n\n"

    def delta(content: dict[str, Any]) -> bytes:
        return event([{"index": 0, "delta": content, "finish_reason": None}])

    yield delta({"role": "assistant", "content": ""})
    finish, usage, calls = "stop", None, 0
    try:
        async for chunk in stream:
            if chunk.thinking:
                yield delta({"reasoning_content": chunk.thinking})
            if chunk.text and chunk.logprobs and wants_logprobs:
                yield event([{"index": 0, "delta": {"content": chunk.text}, "finish_reason": None,
                              "logprobs": {"content": render_logprobs(chunk.logprobs)}}])
            elif chunk.text:
                yield delta({"content": chunk.text})
            for call in chunk.tool_calls:
                # Whole calls, one delta each: the id, type and name appear once, with the complete arguments.
                yield delta({"tool_calls": [{"index": calls, **tool_call_to_openai(call)}]})
                calls += 1
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except RouterError as exc:
        # Bytes have gone out: an error event, never a clean end that would pass for a whole answer.
        problem = problem_from(exc)
        yield b"data: " + orjson.dumps(error_body(problem.message, problem.type, problem.code)) + b"\n\n"
        return
    yield event([{"index": 0, "delta": {}, "finish_reason": finish}], router=router_info(stream.response, stream))
    if include_usage:
        yield event([], usage=_usage(usage or Usage()))
    yield b"data: [DONE]\n\n"


async def list_models(request: Request) -> Response:
    created = int(time.time())
    names = model_names(request.app.state.router)
    return JSONResponse({"object": "list", "data": [
        {"id": name, "object": "model", "created": created, "owned_by": "tiered-router"} for name in names
    ]})
