"""Anthropic's Messages API, ``POST /v1/messages``, streaming as named SSE events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..chat import ToolCall
from ..formats.anthropic import (
    STOP_REASONS,
    check_anthropic,
    json_instruction,
    split_system,
    thinking_to_anthropic,
    tool_choice_to_anthropic,
    tool_to_anthropic,
)
from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse

ANTHROPIC_VERSION = "2023-06-01"
STRUCTURED_OUTPUTS_BETA = "structured-outputs-2025-11-13"
DEFAULT_MAX_TOKENS = 1024  # Anthropic requires max_tokens; the router normally sets it


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

    def check(self, req: ChatRequest) -> None:
        check_anthropic(req)

    def max_output_tokens(self, req: ChatRequest) -> int:
        """Thinking tokens count as output, and Anthropic needs max_tokens above the thinking budget."""
        thinking = thinking_to_anthropic(req)
        limit = req.max_tokens or DEFAULT_MAX_TOKENS
        return max(limit, thinking["budget_tokens"] + 1) if thinking is not None else limit

    def _post_headers(self, req: ChatRequest) -> dict[str, str]:
        return {"anthropic-beta": STRUCTURED_OUTPUTS_BETA} if req.json_schema is not None else {}

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        system, messages = split_system(req.messages)
        system, output_format = json_instruction(req, system)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_output_tokens(req),
        }
        if system:
            body["system"] = system
        for key in ("temperature", "top_p", "top_k"):
            value = getattr(req, key)
            if value is not None:
                body[key] = value
        if req.stop:
            body["stop_sequences"] = req.stop
        if req.tools and req.tool_choice != "none":
            body["tools"] = [tool_to_anthropic(t) for t in req.tools]
            choice = tool_choice_to_anthropic(req)
            if choice is not None:
                body["tool_choice"] = choice
        thinking = thinking_to_anthropic(req)
        if thinking is not None:
            body["thinking"] = thinking
        if output_format is not None:
            body["output_format"] = output_format
        if req.user:
            body["metadata"] = {"user_id": req.user}
        if req.extra_protocol == "anthropic":  # the Anthropic client's own fields, as it sent them
            body.update((k, v) for k, v in req.extra.items() if k not in body)
        if stream:
            body["stream"] = True
        return body

    def _parse_result(self, data: Any) -> ChatResult:
        if data.get("type") == "error":
            raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        texts, calls, thinking, signature = [], [], [], None
        for block in data["content"]:
            kind = block.get("type")
            if kind == "text":
                texts.append(block.get("text", ""))
            elif kind == "tool_use":
                calls.append(ToolCall(block["id"], block["name"], json.dumps(block.get("input") or {})))
            elif kind == "thinking":
                thinking.append(block.get("thinking", ""))
                signature = block.get("signature") or signature
        usage = data.get("usage") or {}
        reason = data.get("stop_reason") or "end_turn"
        return ChatResult(
            text="".join(texts),
            finish_reason=STOP_REASONS.get(reason, reason),
            usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
                        estimated=not usage),
            model=data.get("model") or self.model,
            tool_calls=tuple(calls),
            thinking="".join(thinking) or None,
            thinking_signature=signature,
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        input_tokens = 0
        output_tokens = 0
        finish: str | None = None
        blocks: dict[int, dict[str, Any]] = {}  # tool_use blocks being streamed, by index
        calls: list[ToolCall] = []
        signature: str | None = None
        async for line in lines:
            if not line.startswith("data:"):
                continue  # "event:" lines repeat the type that the data carries
            data = json.loads(line[5:])
            kind = data.get("type")
            if kind == "message_start":
                input_tokens = int(((data.get("message") or {}).get("usage") or {}).get("input_tokens") or 0)
            elif kind == "content_block_start":
                block = data.get("content_block") or {}
                if block.get("type") == "tool_use":
                    blocks[int(data.get("index", 0))] = {"id": block.get("id", ""), "name": block.get("name", ""),
                                                         "json": []}
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                dtype = delta.get("type")
                if dtype == "text_delta" and delta.get("text"):
                    yield StreamChunk(text=delta["text"])
                elif dtype == "thinking_delta" and delta.get("thinking"):
                    yield StreamChunk(thinking=delta["thinking"])
                elif dtype == "signature_delta":
                    signature = (signature or "") + (delta.get("signature") or "")
                elif dtype == "input_json_delta" and int(data.get("index", 0)) in blocks:
                    blocks[int(data.get("index", 0))]["json"].append(delta.get("partial_json") or "")
            elif kind == "content_block_stop":
                block = blocks.pop(int(data.get("index", 0)), None)
                if block is not None:  # a tool call is handed on whole, once its input is complete
                    calls.append(ToolCall(block["id"], block["name"], "".join(block["json"]) or "{}"))
            elif kind == "message_delta":
                reason = (data.get("delta") or {}).get("stop_reason")
                finish = STOP_REASONS.get(reason, reason) if reason else finish
                output_tokens = int((data.get("usage") or {}).get("output_tokens") or output_tokens)
            elif kind == "message_stop":
                yield StreamChunk(finish_reason=finish or "stop", usage=Usage(input_tokens, output_tokens),
                                  tool_calls=tuple(calls), thinking_signature=signature)
                return
            elif kind == "error":
                raise error_from_status(500, json.dumps(data), {}, provider=self.provider, model=self.model)
        raise BadResponse("stream ended before message_stop", provider=self.provider, model=self.model)
