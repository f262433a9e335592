"""Ollama's native API: ``POST /api/chat`` (NDJSON when streaming), ``GET /api/tags`` for health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..messages import content_text
from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse


class OllamaBackend(HttpBackend):
    protocol = "ollama"

    def _chat_url(self) -> str:
        return f"{self.base_url}/api/chat"

    def _health_url(self) -> str:
        return f"{self.base_url}/api/tags"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if req.max_tokens is not None:
            options["num_predict"] = req.max_tokens
        if req.temperature is not None:
            options["temperature"] = req.temperature
        if req.top_p is not None:
            options["top_p"] = req.top_p
        if req.stop:
            options["stop"] = req.stop
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": m.get("role", "user"), "content": content_text(m.get("content"))} for m in req.messages
            ],
            "stream": stream,  # Ollama streams unless told not to
        }
        if options:
            body["options"] = options
        if req.wants_json:
            schema = (req.response_format or {}).get("json_schema", {}).get("schema")
            body["format"] = schema or "json"
        return body

    def _parse_result(self, data: Any) -> ChatResult:
        if "error" in data:
            raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        return ChatResult(
            text=data["message"]["content"] or "",
            finish_reason=_finish(data.get("done_reason")),
            usage=_usage(data),
            model=data.get("model") or self.model,
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        async for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            if "error" in data:
                raise error_from_status(500, line, {}, provider=self.provider, model=self.model)
            text = (data.get("message") or {}).get("content") or ""
            if data.get("done"):
                yield StreamChunk(text=text, finish_reason=_finish(data.get("done_reason")), usage=_usage(data))
                return
            if text:
                yield StreamChunk(text=text)
        raise BadResponse("stream ended before done:true", provider=self.provider, model=self.model)


def _finish(reason: str | None) -> str:
    return "length" if reason == "length" else "stop" if reason in (None, "stop", "") else reason


def _usage(data: dict[str, Any]) -> Usage:
    tin, tout = data.get("prompt_eval_count"), data.get("eval_count")
    # Ollama omits prompt_eval_count when the prompt was served from its cache.
    return Usage(int(tin or 0), int(tout or 0), estimated=tout is None)
