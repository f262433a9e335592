"""Anthropic's Messages API: ``POST /v1/messages`` (JSON or named SSE events) and
``POST /v1/messages/count_tokens``. ``GET /v1/models`` with an ``anthropic-version`` header is in openai_api."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tiered_router.chat import content_text
from tiered_router.sim.core import (
    IMAGE_TOKENS,
    Chat,
    Reply,
    Simulator,
)
from tiered_router.sim.tools import (
    SimTool,
    argument_pieces,
    tool_texts,
)
from tiered_router.sim.wire import (
    CutResponse,
    check_messages,
    json_response,
    last_user,
    positive_int,
    read_json,
    stop_list,
)

_ids = itertools.count(1)
_PREFIX = os.urandom(4).hex()


def error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"type": "error", "error": {"type": type_, "message": message}}, status, headers)


def invalid(message: str) -> Response:
    return error(400, "invalid_request_error", message)


def _error_reply(reply: Reply, model: str) -> Response:
    if reply.error == "http500":
        return error(500, "api_error", "Internal server error (simulated by [[sim:http500]])")
    if reply.error == "http401":
        return error(401, "authentication_error", "invalid x-api-key (simulated by [[sim:http401]])")
    if reply.error == "http403":
        return error(403, "permission_error", "Your API key does not have permission to use the specified "
                     "resource. (simulated by [[sim:http403]])")
    if reply.error == "http404":
        return error(404, "not_found_error", f"model: {model} (simulated by [[sim:http404]])")
    if reply.error == "http429":
        wait = reply.retry_after_s
        return error(429, "rate_limit_error", "This request would exceed the rate limit for your organization. "
                     f"Please try again in {wait}s. (simulated by [[sim:http429]])", {"retry-after": str(wait)})
    return invalid(f"prompt is too long: {reply.prompt_tokens} tokens > {reply.context_window} maximum")


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _parse(body: dict[str, Any]) -> Chat | str:
    """The request as a Chat (protocol "anthropic"), or a validation error message."""
    model, messages, max_tokens = body.get("model"), body.get("messages"), body.get("max_tokens")
    if not isinstance(model, str) or not model:
        return "model: Field required"
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    if not positive_int(max_tokens):
        return f"max_tokens: Input should be an integer greater than or equal to 1, got {max_tokens!r}"
    if problem := check_messages(messages):
        return f"messages: {problem}"
    assert isinstance(messages, list)
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a string or a list of text blocks"
    texts = [content_text(m.get("content")) for m in messages] + tool_texts(body.get("tools"))
    blocks = [b for m in messages if isinstance(m.get("content"), list) for b in m["content"] if isinstance(b, dict)]
    texts += [json.dumps(b.get("input")) for b in blocks if b.get("type") == "tool_use"]
    texts += [content_text(b.get("content")) for b in blocks if b.get("type") == "tool_result"]
    if system:
        texts.insert(0, content_text(system))
    fmt = body.get("output_format")
    json_mode = isinstance(fmt, dict) and fmt.get("type") == "json_schema"
    last = messages[-1].get("content")
    results = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(last, list) \
        else []
    tools = tuple(SimTool(t["name"], t.get("input_schema") or {}) for t in body.get("tools") or ()
                  if isinstance(t, dict) and isinstance(t.get("name"), str))
    return Chat("anthropic", model, texts, last_user(messages), json_mode, max_tokens,
                stop_list(body.get("stop_sequences")), tools=tools,
                tool_result=content_text(results[-1].get("content")) if results else None,
                images=sum(1 for b in blocks if b.get("type") == "image") + sum(
                    1 for r in results if isinstance(r.get("content"), list)
                    for b in r["content"] if isinstance(b, dict) and b.get("type") == "image"))


def _tool_use_id(call_id: str) -> str:
    return "toolu_" + call_id.removeprefix("call_")


class AnthropicProtocol:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def count_tokens(self, request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, str):
            return invalid(body)
        chat = _parse({"max_tokens": 1, **body})
        if isinstance(chat, str):
            return invalid(chat)
        return json_response({"input_tokens": self.sim.prompt_tokens(chat.texts) + IMAGE_TOKENS * chat.images})

    async def messages(self, request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, str):
            return invalid(body)
        chat = _parse(body)
        if isinstance(chat, str):
            return invalid(chat)
        self.sim.record("anthropic", chat.model, body, request.headers)
        reply = self.sim.reply(chat)
        if reply.error == "hang":
            ended = await self.sim.hang(request)
            if ended is None:
                return Response(status_code=499)
            return error(ended[0], "timeout_error" if ended[0] == 504 else "overloaded_error", ended[1])
        if reply.error:
            return _error_reply(reply, chat.model)

        await self.sim.wait_first_token()
        mid = f"msg_sim{_PREFIX}{next(_ids):012d}"
        stop_reason = "tool_use" if reply.tool_calls else "max_tokens" if reply.finish == "length" else (
            "stop_sequence" if reply.stop_sequence else "end_turn")
        if body.get("stream") is True:
            return self._stream(reply, mid, chat.model, stop_reason)
        await self.sim.wait_rest(reply)
        message = {
            "id": mid, "type": "message", "role": "assistant", "model": chat.model,
            "content": ([{"type": "text", "text": reply.text}] if reply.text else []) + [
                {"type": "tool_use", "id": _tool_use_id(i), "name": n, "input": json.loads(a)}
                for i, n, a in reply.tool_calls],
            "stop_reason": stop_reason, "stop_sequence": reply.stop_sequence,
            "usage": {"input_tokens": reply.reported_prompt_tokens, "output_tokens": reply.reported_completion_tokens},
        }
        if reply.cut:
            return CutResponse(json.dumps(message).encode(), media_type="application/json")
        return json_response(message)

    def _stream(self, reply: Reply, mid: str, model: str, stop_reason: str) -> Response:
        head = _event("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": reply.reported_prompt_tokens, "output_tokens": 1},
        }})
        tail = b""
        deltas: list[bytes] = []
        if reply.tool_calls:
            head += _event("ping", {"type": "ping"})
            for index, (call_id, name, arguments) in enumerate(reply.tool_calls):
                deltas.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                     "content_block": {"type": "tool_use", "id": _tool_use_id(call_id), "name": name,
                                                       "input": {}}}))
                deltas += [_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                  "delta": {"type": "input_json_delta", "partial_json": piece}})
                           for piece in argument_pieces(arguments)]
                deltas.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        else:
            if reply.deltas:  # an empty answer has no content block, as in the non-streaming "content": []
                head += _event("content_block_start", {"type": "content_block_start", "index": 0,
                                                       "content_block": {"type": "text", "text": ""}})
                tail = _event("content_block_stop", {"type": "content_block_stop", "index": 0})
            head += _event("ping", {"type": "ping"})
            prefix = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,' \
                     '"delta":{"type":"text_delta","text":'
            deltas = [f"{prefix}{json.dumps(d)}}}}}\n\n".encode() for d in reply.deltas]
        tail += _event("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop_reason, "stop_sequence": reply.stop_sequence},
                                         "usage": {"output_tokens": reply.reported_completion_tokens}})
        tail += _event("message_stop", {"type": "message_stop"})
        return StreamingResponse(self.sim.paced(head, deltas, tail, reply.cut), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
