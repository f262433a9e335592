"""Ollama-compatible front: ``/api/chat`` and ``/api/generate`` (NDJSON streams by default), ``/api/tags``,
``/api/show``, ``/api/ps`` and ``/api/version``.

An agent that already talks to Ollama points its host at the router and gains tiering with no code change.
Errors here use Ollama's own shape, ``{"error": "..."}``, which Ollama clients read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..chat import ChatRequest, ImagePart, Message, Part, TextPart, ToolCall, Usage, render_logprobs
from ..errors import RouterError, UnsupportedField
from ..formats.ollama import messages_from_ollama, tools_from_ollama
from ..routing import RoutedResponse, RoutedStream, TieredModelRouter
from ..tiers import Tier
from .common import answer, model_names, parse, read_chat, read_json, resolve_model, router_info, stream_headers
from .errors import HTTPProblem, problem_from
from .exchange import Exchange, JSONReply
from .schemas import OllamaChatRequest, OllamaCommon, OllamaGenerateRequest, OllamaShowRequest

OLLAMA_VERSION = "0.12.10"  # the Ollama API this front speaks (tool-call ids, tool_call_id, logprobs)
_GENERATE_UNSUPPORTED = ("suffix", "template", "context", "raw")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def chat(exchange: Exchange) -> Response | JSONReply:
    router, body, options = await read_chat(exchange, OllamaChatRequest, "ollama")
    request = _request(body, messages_from_ollama(body.messages), tools_from_ollama(body.tools))
    return await _respond(router, body, request, options, _chat_line, _chat_body)


async def generate(exchange: Exchange) -> Response | JSONReply:
    router, body, options = await read_chat(exchange, OllamaGenerateRequest, "ollama")
    extra = body.model_extra or {}
    for key in _GENERATE_UNSUPPORTED:
        if extra.get(key):
            raise UnsupportedField(key, "the router routes whole prompts; raw templates and token contexts "
                                   "are not supported")
    messages = [Message("system", body.system)] if body.system else []
    parts: list[Part] = [TextPart(body.prompt)] if body.prompt else []
    parts += [ImagePart(data=img) for img in body.images or ()]
    messages.append(Message("user", parts))
    return await _respond(router, body, _request(body, messages, ()), options, _generate_line, _generate_body)


def _request(body: OllamaCommon, messages: list[Message], tools: tuple[Any, ...]) -> ChatRequest:
    o = body.options
    fmt: dict[str, Any] | None = None
    if body.format == "json":
        fmt = {"type": "json_object"}
    elif isinstance(body.format, dict):
        fmt = {"type": "json_schema", "json_schema": {"name": "format", "schema": body.format}}
    extra: dict[str, Any] = dict(o.model_extra or {}) if o is not None else {}
    if o is not None:
        extra.update({k: v for k, v in (("frequency_penalty", o.frequency_penalty),
                                        ("presence_penalty", o.presence_penalty)) if v is not None})
    for key in ("truncate", "shift"):  # Ollama's own switches for a prompt longer than its window
        value = getattr(body, key)
        if value is not None:
            extra[key] = value
    unknown = set(body.model_extra or {}) - set(_GENERATE_UNSUPPORTED)
    if unknown:
        raise UnsupportedField(sorted(unknown)[0], "not a field of Ollama's API that the router knows")
    return ChatRequest(
        messages=messages, max_tokens=o.num_predict if o and o.num_predict and o.num_predict > 0 else None,
        temperature=o.temperature if o else None, top_p=o.top_p if o else None,
        stop=o.stop if o else None, response_format=fmt, tools=tools, seed=o.seed if o else None,
        top_k=o.top_k if o else None, think=body.think, num_ctx=o.num_ctx if o else None,
        keep_alive=body.keep_alive, logprobs=body.logprobs is True, top_logprobs=body.top_logprobs, extra=extra,
        extra_protocol="ollama",
    )


Line = Callable[[str, str, tuple[ToolCall, ...]], dict[str, Any]]


async def _respond(router: TieredModelRouter, body: OllamaCommon, request: ChatRequest, options: Any, line: Line,
                   whole: Callable[[RoutedResponse, int], dict[str, Any]]) -> Response | JSONReply:
    started = time.perf_counter_ns()
    if body.stream:
        stream = await router.stream(request, options)
        return StreamingResponse(_ndjson(stream, started, line, request.logprobs), media_type="application/x-ndjson",
                                 headers=stream_headers(stream))
    return await answer(router, request, options, lambda r: whole(r, started))


def _calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """Ollama's shape: arguments an object (text that is not JSON is kept as a string), an id and an index."""
    out = []
    for i, c in enumerate(calls):
        try:
            arguments: Any = orjson.loads(c.arguments) if c.arguments.strip() else {}
        except orjson.JSONDecodeError:
            arguments = c.arguments
        out.append({"id": c.id, "function": {"index": i, "name": c.name, "arguments": arguments}})
    return out


def _message(text: str, thinking: str | None, calls: tuple[ToolCall, ...]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if thinking:
        message["thinking"] = thinking
    if calls:
        message["tool_calls"] = _calls(calls)
    return message


def _chat_line(text: str, thinking: str, calls: tuple[ToolCall, ...]) -> dict[str, Any]:
    return {"message": _message(text, thinking, calls)}


def _generate_line(text: str, thinking: str, calls: tuple[ToolCall, ...]) -> dict[str, Any]:
    line: dict[str, Any] = {"response": text}
    if thinking:
        line["thinking"] = thinking
    return line


def _chat_body(r: RoutedResponse, started: int) -> dict[str, Any]:
    body = {"model": r.model, "created_at": _now(), "message": _message(r.text, r.thinking, r.tool_calls),
            **_done(r.finish_reason, r.usage, started), "router": router_info(r)}
    if r.logprobs is not None:
        body["logprobs"] = render_logprobs(r.logprobs)
    return body


def _generate_body(r: RoutedResponse, started: int) -> dict[str, Any]:
    return {"model": r.model, "created_at": _now(), **_generate_line(r.text, r.thinking or "", ()),
            **_done(r.finish_reason, r.usage, started), "router": router_info(r)}


def _done(finish: str, usage: Usage, started_ns: int) -> dict[str, Any]:
    return {"done": True, "done_reason": "length" if finish == "length" else "stop",
            "total_duration": time.perf_counter_ns() - started_ns, "load_duration": 0,
            "prompt_eval_count": usage.input_tokens, "prompt_eval_duration": 0,
            "eval_count": usage.output_tokens, "eval_duration": 0}


async def _ndjson(stream: RoutedStream, started_ns: int, line: Line, wants_logprobs: bool = False
                  ) -> AsyncIterator[bytes]:
    def out(obj: dict[str, Any]) -> bytes:
        return orjson.dumps({"model": stream.model, "created_at": _now(), **obj}) + b"\n"

    finish, usage = "stop", None
    try:
        async for chunk in stream:
            if chunk.text or chunk.thinking or chunk.tool_calls:  # Ollama sends each tool call whole
                piece = {**line(chunk.text, chunk.thinking, chunk.tool_calls), "done": False}
                if chunk.logprobs and wants_logprobs:
                    piece["logprobs"] = render_logprobs(chunk.logprobs)
                yield out(piece)
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except RouterError as exc:
        yield orjson.dumps({"error": problem_from(exc).message}) + b"\n"
        return
    yield out({**line("", "", ()), **_done(finish, usage or Usage(), started_ns),
               "router": router_info(stream.response, stream)})


# --- model information -----------------------------------------------------------------------------------


def _details(router: TieredModelRouter, name: str) -> dict[str, Any]:
    return {"parent_model": "", "format": "", "family": "tiered-router", "families": ["tiered-router"],
            "parameter_size": "", "quantization_level": "", "context_length": _context(router, name)}


def _context(router: TieredModelRouter, name: str) -> int:
    tier = resolve_model(router, name)
    if tier is None:  # auto: the window of the tier most requests start on
        tier = Tier.LOCAL_FAST
    return router.backends[tier].context_window


async def tags(request: Request) -> Response:
    router = request.app.state.router
    modified = _now()
    return JSONResponse({"models": [
        {"name": name, "model": name, "modified_at": modified, "size": 0, "digest": "",
         "details": _details(router, name)}
        for name in model_names(router)
    ]})


async def show(request: Request) -> Response:
    router: TieredModelRouter = request.app.state.router
    body = parse(OllamaShowRequest, await read_json(request, request.app.state.max_body_bytes))
    name = body.model or body.name
    if not name:
        raise HTTPProblem(400, "model is required", "invalid_request_error", "invalid_request")
    tier = resolve_model(router, name)
    context = _context(router, name)
    return JSONResponse({
        "modelfile": f"# tiered-router: {'auto (classified per request)' if tier is None else f'tier {int(tier)}'}\n",
        "parameters": f"num_ctx {context}", "template": "{{ .Prompt }}",
        "details": _details(router, name),
        "model_info": {"general.architecture": "tiered-router", "tiered-router.context_length": context},
        "capabilities": ["completion", "tools", "vision", "thinking"],
        "modified_at": _now(),
    })


async def ps(request: Request) -> Response:
    """The models a router answers with, as "loaded": nothing here expires."""
    router = request.app.state.router
    return JSONResponse({"models": [
        {"name": name, "model": name, "size": 0, "digest": "", "details": _details(router, name),
         "expires_at": "2100-01-01T00:00:00Z", "size_vram": 0, "context_length": _context(router, name)}
        for name in model_names(router)
    ]})


async def version(request: Request) -> Response:
    return JSONResponse({"version": OLLAMA_VERSION})
