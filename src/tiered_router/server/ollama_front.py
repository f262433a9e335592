"""Ollama-compatible front: ``POST /api/chat`` (NDJSON streams by default) and ``GET /api/tags``.

An agent that already talks to Ollama points its host at the router and gains tiering with no
code change. Errors here use Ollama's own shape, ``{"error": "..."}``, which Ollama clients read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..backends import Usage
from ..errors import RouterError
from ..routing import RoutedResponse, RoutedStream
from .common import complete_json, model_names, read_chat, stream_headers
from .errors import problem_from
from .exchange import Exchange, JSONReply
from .schemas import OllamaChatRequest


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def chat(exchange: Exchange) -> Response | JSONReply:
    router, req, context, messages = await read_chat(exchange, OllamaChatRequest, "ollama")
    opts = req.options
    params: dict[str, Any] = {}
    if opts is not None:
        if opts.num_predict and opts.num_predict > 0:
            params["max_tokens"] = opts.num_predict
        params.update(temperature=opts.temperature, top_p=opts.top_p, stop=opts.stop)
    if req.format:
        params["response_format"] = {"type": "json_object"}
    started = time.perf_counter_ns()
    if req.stream:
        stream = await router.stream(messages, context, **params)
        return StreamingResponse(_ndjson(stream, started), media_type="application/x-ndjson",
                                 headers=stream_headers(stream))

    def body(r: RoutedResponse) -> dict[str, Any]:
        return {"model": r.model, "created_at": _now(), "message": {"role": "assistant", "content": r.text},
                **_done(r.finish_reason, r.usage, started)}

    return await complete_json(router, messages, context, params, body)


def _done(finish: str, usage: Usage, started_ns: int) -> dict[str, Any]:
    return {"done": True, "done_reason": "length" if finish == "length" else "stop",
            "total_duration": time.perf_counter_ns() - started_ns, "load_duration": 0,
            "prompt_eval_count": usage.input_tokens, "prompt_eval_duration": 0,
            "eval_count": usage.output_tokens, "eval_duration": 0}


async def _ndjson(stream: RoutedStream, started_ns: int) -> AsyncIterator[bytes]:
    def line(obj: dict[str, Any]) -> bytes:
        return orjson.dumps(obj) + b"\n"

    finish, usage = "stop", None
    try:
        async for chunk in stream:
            if chunk.text:
                yield line({"model": stream.model, "created_at": _now(),
                            "message": {"role": "assistant", "content": chunk.text}, "done": False})
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except RouterError as exc:
        yield line({"error": problem_from(exc).message})
        return
    yield line({"model": stream.model, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                **_done(finish, usage or Usage(), started_ns)})


async def tags(request: Request) -> Response:
    modified = _now()
    return JSONResponse({"models": [
        {"name": name, "model": name, "modified_at": modified, "size": 0, "digest": "",
         "details": {"format": "", "family": "tiered-router", "families": None, "parameter_size": "",
                     "quantization_level": ""}}
        for name in model_names(request.app.state.router)
    ]})


async def version(request: Request) -> Response:
    from ..version import __version__

    return JSONResponse({"version": f"tiered-router-{__version__}"})
