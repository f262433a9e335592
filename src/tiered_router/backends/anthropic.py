"""Anthropic's Messages API, ``POST /v1/messages``, streaming as named SSE events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..messages import Message, content_text
from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # Anthropic requires max_tokens; the router normally sets it
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_JSON_INSTRUCTION = "Respond with a single valid JSON object and nothing else."


class AnthropicBackend(HttpBackend):
    protocol = "anthropic"

    def _chat_url(self) -> str:
        return f"{self.base_url}/v1/messages"

    def _health_url(self) -> str:
        return f"{self.base_url}/v1/models"

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        return headers

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        system, messages = split_system(req.messages)
        if req.wants_json:  # the Messages API has no JSON mode; ask for it in words
            system = f"{system}\n\n{_JSON_INSTRUCTION}".strip()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        if req.temperature is not None:
            body["temperature"] = req.temperature
        if req.top_p is not None:
            body["top_p"] = req.top_p
        if req.stop:
            body["stop_sequences"] = req.stop
        if stream:
            body["stream"] = True
        return body

    def _parse_result(self, data: Any) -> ChatResult:
        if data.get("type") == "error":
            raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        text = "".join(block.get("text", "") for block in data["content"] if block.get("type") == "text")
        usage = data.get("usage") or {}
        return ChatResult(
            text=text,
            finish_reason=_FINISH.get(data.get("stop_reason") or "end_turn", data.get("stop_reason")),
            usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
                        estimated=not usage),
            model=data.get("model") or self.model,
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        input_tokens = 0
        output_tokens = 0
        finish: str | None = None
        async for line in lines:
            if not line.startswith("data:"):
                continue  # "event:" lines repeat the type that the data carries
            data = json.loads(line[5:])
            kind = data.get("type")
            if kind == "message_start":
                input_tokens = int(((data.get("message") or {}).get("usage") or {}).get("input_tokens") or 0)
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    yield StreamChunk(text=delta["text"])
            elif kind == "message_delta":
                reason = (data.get("delta") or {}).get("stop_reason")
                finish = _FINISH.get(reason, reason) if reason else finish
                output_tokens = int((data.get("usage") or {}).get("output_tokens") or output_tokens)
            elif kind == "message_stop":
                yield StreamChunk(finish_reason=finish or "stop", usage=Usage(input_tokens, output_tokens))
                return
            elif kind == "error":
                raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        raise BadResponse("stream ended before message_stop", provider=self.provider, model=self.model)


def split_system(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Anthropic takes the system prompt apart and wants user/assistant turns that alternate."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role", "user")
        text = content_text(m.get("content"))
        if role in ("system", "developer"):
            system_parts.append(text)
            continue
        role = "assistant" if role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(continue)"})
    return "\n\n".join(p for p in system_parts if p), turns
