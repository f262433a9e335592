"""OpenAI's ``/v1/chat/completions``: OpenAI, xAI, vLLM, llama.cpp server, LM Studio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..chat import TokenLogprob, ToolCall, parse_logprobs
from ..errors import UnsupportedField
from ..formats.ollama import PROMPT_SWITCHES, RUNTIME_OPTIONS
from ..formats.openai import message_to_openai, tool_choice_to_openai, tool_to_openai
from .base import ChatRequest, ChatResult, HttpBackend, StreamChunk, Usage, error_from_status
from .errors import BadResponse

# Newer OpenAI reasoning models reject max_tokens and want max_completion_tokens.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_EFFORT_BY_BUDGET = ((2048, "low"), (8192, "medium"))
# Fields other protocols send under the same name and meaning as OpenAI's.
_OTHER_PROTOCOLS_FIELDS = frozenset({"frequency_penalty", "presence_penalty"})


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

    supports_logprobs = True

    def check(self, req: ChatRequest) -> None:
        # OpenAI itself has no top_k; the local OpenAI-compatible servers (vLLM, llama.cpp) take it.
        if req.top_k is not None and not self.is_local:
            raise UnsupportedField("top_k", "OpenAI's API has no top_k")
        if req.extra_protocol != "openai":
            for key in req.extra:
                if key not in _OTHER_PROTOCOLS_FIELDS and key not in RUNTIME_OPTIONS and key not in PROMPT_SWITCHES:
                    raise UnsupportedField(key, "the OpenAI chat API has no such field")

    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]:
        extra = req.extra if req.extra_protocol == "openai" else {
            k: v for k, v in req.extra.items() if k in _OTHER_PROTOCOLS_FIELDS}
        body: dict[str, Any] = {**extra, "model": self.model,
                                "messages": [message_to_openai(m) for m in req.messages]}
        if req.max_tokens is not None:
            key = "max_completion_tokens" if self.model.startswith(_COMPLETION_TOKENS_PREFIXES) else "max_tokens"
            body[key] = req.max_tokens
        for key in ("temperature", "top_p", "stop", "response_format", "seed", "top_k", "user",
                    "parallel_tool_calls"):
            value = getattr(req, key)
            if value is not None:
                body[key] = value
        if req.tools:
            body["tools"] = [tool_to_openai(t) for t in req.tools]
        choice = tool_choice_to_openai(req)
        if choice is not None:
            body["tool_choice"] = choice
        if req.think is not None and req.think is not False:
            body["reasoning_effort"] = _effort(req.think)
        if req.logprobs:
            body["logprobs"] = True
            if req.top_logprobs is not None:
                body["top_logprobs"] = req.top_logprobs
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
        calls = tuple(_tool_call(c, i) for i, c in enumerate(message.get("tool_calls") or ()))
        thinking = message.get("reasoning_content") or message.get("reasoning")
        return ChatResult(
            text=message.get("content") or "",
            finish_reason=_finish(choice.get("finish_reason"), calls),
            usage=_usage(usage) if usage else Usage(estimated=True),
            model=data.get("model") or self.model,
            tool_calls=calls,
            thinking=thinking if isinstance(thinking, str) and thinking else None,
            logprobs=parse_logprobs((choice.get("logprobs") or {}).get("content")),
        )

    async def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]:
        finish: str | None = None
        calls = _CallAssembler()
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
            text, thinking = "", ""
            logprobs: tuple[TokenLogprob, ...] = ()
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                text += delta.get("content") or ""
                logprobs += parse_logprobs((choice.get("logprobs") or {}).get("content")) or ()
                thinking += delta.get("reasoning_content") or delta.get("reasoning") or ""
                for part in delta.get("tool_calls") or ():
                    calls.add(part)
                if choice.get("finish_reason"):
                    done = calls.complete()
                    finish = _finish(choice["finish_reason"], done)
                    yield StreamChunk(text=text, finish_reason=finish, tool_calls=done, thinking=thinking,
                                      logprobs=logprobs)
                    text, thinking, logprobs = "", "", ()
            if text or thinking or usage:
                yield StreamChunk(text=text, usage=usage, thinking=thinking, logprobs=logprobs)
        # Some servers end the stream without [DONE]; a finish_reason still means a whole answer.
        if finish is None:
            raise BadResponse("stream ended before a finish_reason", provider=self.provider, model=self.model)


class _CallAssembler:
    """Tool-call deltas by index: the id and name arrive first, the arguments in pieces. Calls are handed on
    whole, when the answer finishes."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, part: dict[str, Any]) -> None:
        call = self.calls.setdefault(int(part.get("index", len(self.calls))), {"id": "", "name": "", "args": []})
        call["id"] = part.get("id") or call["id"]
        fn = part.get("function") or {}
        call["name"] = fn.get("name") or call["name"]
        if fn.get("arguments"):
            call["args"].append(fn["arguments"])

    def complete(self) -> tuple[ToolCall, ...]:
        done = tuple(ToolCall(c["id"] or f"call_{i}", c["name"], "".join(c["args"]))
                     for i, c in sorted(self.calls.items()))
        self.calls.clear()
        return done


def _tool_call(c: dict[str, Any], i: int) -> ToolCall:
    fn = c.get("function") or {}
    arguments = fn.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {})
    return ToolCall(c.get("id") or f"call_{i}", fn["name"], arguments)


def _finish(reason: str | None, calls: tuple[ToolCall, ...]) -> str:
    if reason in ("tool_calls", "function_call") or (calls and reason in (None, "stop")):
        return "tool_calls"
    return reason or "stop"


def _effort(think: bool | str | int) -> str:
    if isinstance(think, str):
        return think
    if isinstance(think, bool):
        return "medium"
    return next((level for limit, level in _EFFORT_BY_BUDGET if think <= limit), "high")


def _usage(usage: dict[str, Any]) -> Usage:
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
