"""OpenAI's ``/v1/chat/completions``: OpenAI, xAI, vLLM, llama.cpp server, LM Studio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse

# Newer OpenAI reasoning models reject max_tokens and want max_completion_tokens.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class OpenAICompatBackend(HttpBackend):
    protocol = "openai"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The SDK convention is a base URL ending in /v1; accept a bare host too.
        if not self.base_url.rsplit("/", 1)[-1].startswith("v"):
            self.base_url += "/v1"

    def _chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _health_url(self) -> str:
        return f"{self.base_url}/models"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {**req.extra, "model": self.model, "messages": req.messages}
        if req.max_tokens is not None:
            key = "max_completion_tokens" if self.model.startswith(_COMPLETION_TOKENS_PREFIXES) else "max_tokens"
            body[key] = req.max_tokens
        for key in ("temperature", "top_p", "stop", "response_format"):
            value = getattr(req, key)
            if value is not None:
                body[key] = value
        if stream:
            body["stream"] = True
            # Without this, OpenAI sends no usage on streams and the cost would have to be guessed.
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    def _parse_result(self, data: Any) -> ChatResult:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage")
        return ChatResult(
            text=message.get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            usage=_usage(usage) if usage else Usage(estimated=True),
            model=data.get("model") or self.model,
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        finish: str | None = None
        async for line in lines:
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                if finish is None:
                    raise BadResponse("stream ended with no finish_reason", provider=self.provider,
                                      model=self.model)
                return
            data = json.loads(payload)
            if "error" in data:
                raise error_from_status(500, payload, {}, provider=self.provider, model=self.model)
            usage = _usage(data["usage"]) if data.get("usage") else None
            text = ""
            for choice in data.get("choices") or []:
                text += (choice.get("delta") or {}).get("content") or ""
                finish = choice.get("finish_reason") or finish
                if choice.get("finish_reason"):
                    yield StreamChunk(text=text, finish_reason=finish)
                    text = ""
            if text or usage:
                yield StreamChunk(text=text, usage=usage)
        # Some servers end the stream without [DONE]; a finish_reason still means a whole answer.
        if finish is None:
            raise BadResponse("stream ended before a finish_reason", provider=self.provider, model=self.model)


def _usage(usage: dict[str, Any]) -> Usage:
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
