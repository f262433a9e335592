"""OpenAI-compatible front: ``POST /v1/chat/completions`` (JSON or SSE) and ``GET /v1/models``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..backends import Usage
from ..errors import RouterError
from ..routing import RoutedResponse, RoutedStream
from .common import complete_json, model_names, read_chat, stream_headers
from .errors import error_body, problem_from
from .exchange import Exchange, JSONReply
from .schemas import ChatCompletionRequest

_HANDLED = {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "stop", "response_format"}


async def chat_completions(exchange: Exchange) -> Response | JSONReply:
    router, req, context, messages = await read_chat(exchange, ChatCompletionRequest, "openai")
    extras = {k: v for k, v in (req.model_extra or {}).items() if k not in _HANDLED}
    params: dict[str, Any] = dict(
        max_tokens=req.max_tokens or req.max_completion_tokens, temperature=req.temperature, top_p=req.top_p,
        stop=req.stop, response_format=req.response_format, **extras,
    )
    if req.stream:
        stream = await router.stream(messages, context, **params)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        return StreamingResponse(_sse(stream, include_usage), media_type="text/event-stream",
                                 headers=stream_headers(stream))
    return await complete_json(router, messages, context, params, completion_body)


def completion_body(r: RoutedResponse) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{r.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": r.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": r.text},
                     "finish_reason": r.finish_reason, "logprobs": None}],
        "usage": _usage(r.usage),
        "system_fingerprint": None,
    }


def _usage(u: Usage) -> dict[str, int]:
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total_tokens}


async def _sse(stream: RoutedStream, include_usage: bool) -> AsyncIterator[bytes]:
    base = {"id": f"chatcmpl-{stream.request_id}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": stream.model, "system_fingerprint": None}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + orjson.dumps({**base, "choices": choices, **extra}) + b"\n\n"

    yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    finish, usage = "stop", None
    try:
        async for chunk in stream:
            if chunk.text:
                yield event([{"index": 0, "delta": {"content": chunk.text}, "finish_reason": None}])
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except RouterError as exc:
        # Bytes have gone out: an error event, never a clean end that would pass for a whole answer.
        problem = problem_from(exc)
        yield b"data: " + orjson.dumps(error_body(problem.message, problem.type, problem.code)) + b"\n\n"
        return
    yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
    if include_usage:
        yield event([], usage=_usage(usage or Usage()))
    yield b"data: [DONE]\n\n"


async def list_models(request: Request) -> Response:
    created = int(time.time())
    names = model_names(request.app.state.router)
    return JSONResponse({"object": "list", "data": [
        {"id": name, "object": "model", "created": created, "owned_by": "tiered-router"} for name in names
    ]})
