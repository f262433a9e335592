"""Ollama's native API: ``POST /api/chat`` (NDJSON when streaming), ``GET /api/tags`` for health."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

from ..chat import ToolCall, parse_logprobs
from ..formats.ollama import (
    TOP_LEVEL,
    check_ollama,
    format_to_ollama,
    messages_to_ollama,
    options_to_ollama,
    tool_to_ollama,
)
from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse


class OllamaBackend(HttpBackend):
    protocol = "ollama"

    def _chat_url(self) -> str:
        return f"{self.base_url}/api/chat"

    def _health_url(self) -> str:
        return f"{self.base_url}/api/tags"

    supports_logprobs = True

    def check(self, req: ChatRequest) -> None:
        check_ollama(req)

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages_to_ollama(req.messages),
            "stream": stream,  # Ollama streams unless told not to
            "options": options_to_ollama(req, self.context_window),
        }
        if req.tools and req.tool_choice != "none":
            body["tools"] = [tool_to_ollama(t) for t in req.tools]
        fmt = format_to_ollama(req)
        if fmt is not None:
            body["format"] = fmt
        if req.think is not None:
            body["think"] = req.think if isinstance(req.think, bool | str) else True
        if req.keep_alive is not None:
            body["keep_alive"] = req.keep_alive
        for key in TOP_LEVEL:
            if key in req.extra:
                body[key] = req.extra[key]
        if req.logprobs:
            body["logprobs"] = True
            if req.top_logprobs is not None:
                body["top_logprobs"] = req.top_logprobs
        return body

    def _parse_result(self, data: Any) -> ChatResult:
        if "error" in data:
            raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        message = data["message"]
        calls = _tool_calls(message)
        return ChatResult(
            text=message.get("content") or "",
            finish_reason=_finish(data.get("done_reason"), calls),
            usage=_usage(data),
            model=data.get("model") or self.model,
            tool_calls=calls,
            thinking=message.get("thinking") or None,
            logprobs=parse_logprobs(data.get("logprobs")),
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        calls: list[ToolCall] = []  # Ollama sends each call whole; they are handed on with the finish
        async for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            if "error" in data:
                raise error_from_status(500, line, {}, provider=self.provider, model=self.model)
            message = data.get("message") or {}
            text, thinking = message.get("content") or "", message.get("thinking") or ""
            logprobs = parse_logprobs(data.get("logprobs")) or ()
            calls += _tool_calls(message, len(calls))
            if data.get("done"):
                done = tuple(calls)
                yield StreamChunk(text=text, finish_reason=_finish(data.get("done_reason"), done), usage=_usage(data),
                                  tool_calls=done, thinking=thinking, logprobs=logprobs)
                return
            if text or thinking:
                yield StreamChunk(text=text, thinking=thinking, logprobs=logprobs)
        raise BadResponse("stream ended before done:true", provider=self.provider, model=self.model)


def _tool_calls(message: dict[str, Any], start: int = 0) -> tuple[ToolCall, ...]:
    """Ollama's tool calls carry no id (newer servers may); one is made up so results can refer to it."""
    out = []
    for i, c in enumerate(message.get("tool_calls") or (), start):
        fn = c.get("function") or {}
        arguments = fn.get("arguments")
        text = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
        out.append(ToolCall(c.get("id") or f"call_{os.urandom(4).hex()}_{i}", fn["name"], text))
    return tuple(out)


def _finish(reason: str | None, calls: tuple[ToolCall, ...]) -> str:
    if calls:  # Ollama says "stop" after tool calls
        return "tool_calls"
    return "length" if reason == "length" else "stop" if reason in (None, "stop", "") else reason


def _usage(data: dict[str, Any]) -> Usage:
    tin, tout = data.get("prompt_eval_count"), data.get("eval_count")
    # Ollama omits prompt_eval_count when the prompt was served from its cache.
    return Usage(int(tin or 0), int(tout or 0), estimated=tout is None)
