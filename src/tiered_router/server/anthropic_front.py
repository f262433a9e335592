"""Anthropic-compatible front: ``POST /v1/messages`` (JSON, or the full named-event SSE sequence) and
``POST /v1/messages/count_tokens``.

The ``anthropic`` SDK and the coding agents that speak Anthropic's protocol point their base URL at the router.
Model names route as on the OpenAI front (``auto``, tier names, configured models); Claude model names map
to tiers by ``TIER_CLAUDE_MODELS`` (by default ``*haiku*`` → tier 1, ``*sonnet*`` and ``*opus*`` → auto).
Errors use Anthropic's shape, ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from ..chat import ChatRequest, ToolCall, Usage, estimate_prompt_tokens
from ..errors import RouterError
from ..formats.anthropic import (
    TO_STOP_REASON,
    messages_from_anthropic,
    think_from_anthropic,
    tool_choice_from_anthropic,
    tools_from_anthropic,
)
from ..routing import RoutedResponse, RoutedStream, TieredModelRouter
from ..tiers import Tier
from .common import answer, parse, route_options, router_info, stream_headers
from .errors import problem_from
from .exchange import Exchange, JSONReply, anthropic_type
from .schemas import AnthropicCountRequest, AnthropicMessagesRequest


def resolve_claude(router: TieredModelRouter, name: str) -> Tier | None:
    """A Claude model name's tier by the configured table (first match wins); any other name as on the OpenAI
    front (``auto``, tier names, configured models)."""
    from .common import resolve_model

    key = name.strip().lower()
    for pattern, target in router.settings.claude_models.items():
        if fnmatch.fnmatchcase(key, pattern.lower()):
            return None if target == "auto" else Tier.parse(target)
    return resolve_model(router, name)


async def messages(exchange: Exchange) -> Response | JSONReply:
    state = exchange.state
    router: TieredModelRouter = state.router
    body = parse(AnthropicMessagesRequest, await exchange.json(state.max_body_bytes))
    options = route_options(exchange, "anthropic", resolve_claude(router, body.model))
    request = anthropic_request(body)
    if body.stream:
        stream = await router.stream(request, options)
        return StreamingResponse(_events(stream, body.model), media_type="text/event-stream",
                                 headers=stream_headers(stream))
    return await answer(router, request, options, lambda r: message_body(r, body.model))


async def count_tokens(exchange: Exchange) -> Response | JSONReply:
    """The router's own estimate of the prompt's tokens (as it checks context windows); not the provider's
    exact count. The budget reserves on a higher bound, the prompt's bytes."""
    state = exchange.state
    body = parse(AnthropicCountRequest, await exchange.json(state.max_body_bytes))
    msgs = messages_from_anthropic(body.system, body.messages)
    return JSONReply({"input_tokens": estimate_prompt_tokens(msgs, tools_from_anthropic(body.tools))}, {})


def anthropic_request(body: AnthropicMessagesRequest) -> ChatRequest:
    choice, name, parallel = tool_choice_from_anthropic(body.tool_choice)
    user = (body.metadata or {}).get("user_id")
    extra = dict(body.model_extra or {})
    response_format = None
    output_format = extra.pop("output_format", None)
    if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
        # Structured outputs: the same request as OpenAI's json_schema, for every tier.
        response_format = {"type": "json_schema",
                           "json_schema": {"name": "output", "schema": output_format.get("schema") or {}}}
    elif output_format is not None:
        extra["output_format"] = output_format
    return ChatRequest(
        messages=messages_from_anthropic(body.system, body.messages), max_tokens=body.max_tokens,
        temperature=body.temperature, top_p=body.top_p, top_k=body.top_k, stop=body.stop_sequences,
        tools=tools_from_anthropic(body.tools), tool_choice=choice,  # type: ignore[arg-type]
        tool_name=name, parallel_tool_calls=parallel, think=think_from_anthropic(body.thinking),
        user=user if isinstance(user, str) else None, response_format=response_format, extra=extra,
        extra_protocol="anthropic",
    )


def _content(text: str, thinking: str | None, signature: str | None, calls: tuple[ToolCall, ...]) -> list[Any]:
    blocks: list[dict[str, Any]] = []
    if thinking:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": signature or ""})
    if text:
        blocks.append({"type": "text", "text": text})
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": _input(c)} for c in calls]
    return blocks


def _input(call: ToolCall) -> Any:
    try:
        return orjson.loads(call.arguments) if call.arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"_arguments": call.arguments}  # not JSON: kept whole rather than lost


def message_body(r: RoutedResponse, asked: str) -> dict[str, Any]:
    return {
        "id": f"msg_{r.request_id}", "type": "message", "role": "assistant", "model": r.model,
        "content": _content(r.text, r.thinking, r.thinking_signature, r.tool_calls),
        "stop_reason": TO_STOP_REASON.get(r.finish_reason, "end_turn"), "stop_sequence": None,
        "usage": {"input_tokens": r.usage.input_tokens, "output_tokens": r.usage.output_tokens},
        "router": router_info(r),
    }


def _event(name: str, data: Mapping[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _events(stream: RoutedStream, asked: str) -> AsyncIterator[bytes]:
    """The full event sequence: message_start, a start/delta/stop triple per block (thinking, text, each tool
    call), message_delta with the stop reason and usage, message_stop."""
    yield _event("message_start", {"type": "message_start", "message": {
        "id": f"msg_{stream.request_id}", "type": "message", "role": "assistant", "model": stream.model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0}}})
    index, open_kind = -1, None
    finish, usage = "stop", None

    def start(kind: str, block: dict[str, Any]) -> bytes:
        nonlocal index, open_kind
        out = _event("content_block_stop", {"type": "content_block_stop", "index": index}) if open_kind else b""
        index, open_kind = index + 1, kind
        return out + _event("content_block_start", {"type": "content_block_start", "index": index,
                                                    "content_block": block})

    def delta(body: dict[str, Any]) -> bytes:
        return _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})

    try:
        async for chunk in stream:
            if chunk.thinking:
                if open_kind != "thinking":
                    yield start("thinking", {"type": "thinking", "thinking": ""})
                yield delta({"type": "thinking_delta", "thinking": chunk.thinking})
            if chunk.thinking_signature and open_kind == "thinking":
                yield delta({"type": "signature_delta", "signature": chunk.thinking_signature})
            if chunk.text:
                if open_kind != "text":
                    yield start("text", {"type": "text", "text": ""})
                yield delta({"type": "text_delta", "text": chunk.text})
            for call in chunk.tool_calls:  # whole calls: the input arrives as one piece of JSON
                yield start("tool_use", {"type": "tool_use", "id": call.id, "name": call.name, "input": {}})
                yield delta({"type": "input_json_delta", "partial_json": orjson.dumps(_input(call)).decode()})
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except RouterError as exc:
        problem = problem_from(exc)
        yield _event("error", {"type": "error", "error": {"type": anthropic_type(problem), "message": problem.message}})
        return
    if open_kind:
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    used = usage or Usage()
    yield _event("message_delta", {"type": "message_delta",
                                   "delta": {"stop_reason": TO_STOP_REASON.get(finish, "end_turn"),
                                             "stop_sequence": None},
                                   "usage": {"input_tokens": used.input_tokens, "output_tokens": used.output_tokens},
                                   "router": router_info(stream.response, stream)})
    yield _event("message_stop", {"type": "message_stop"})
