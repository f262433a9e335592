"""A backend whose answers come from a Python function: for tests, and for in-process models.

Like pydantic-ai's ``FunctionModel``: ``FunctionBackend(fn)`` calls ``fn(request)`` for every call. The
function returns the answer (a ``ChatResult``, or just its text) or raises a ``BackendError`` of the kind
to simulate. Streams cut that answer into chunks, or come from ``stream_fn`` when one is given (which may
raise part-way, to play a stream that breaks). Every request is kept in ``requests``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Union

from .base import Backend, ChatRequest, ChatResult, StreamChunk, Usage, estimate_prompt_tokens, estimate_tokens

Answer = Union[ChatResult, str]  # noqa: UP007 - a runtime alias
AnswerFn = Callable[[ChatRequest], Answer | Awaitable[Answer]]
StreamFn = Callable[[ChatRequest], AsyncIterator[StreamChunk]]


class FunctionBackend(Backend):
    def __init__(self, fn: AnswerFn, *, stream_fn: StreamFn | None = None, provider: str = "function",
                 model: str = "fn", context_window: int = 8192, is_local: bool = True, chunk_chars: int = 8) -> None:
        self.fn = fn
        self.stream_fn = stream_fn
        self.provider = provider
        self.model = model
        self.context_window = context_window
        self.is_local = is_local
        self.chunk_chars = chunk_chars
        self.requests: list[ChatRequest] = []

    def __repr__(self) -> str:
        return f"FunctionBackend({self.name})"

    async def chat(self, req: ChatRequest) -> ChatResult:
        self.requests.append(req)
        answer = self.fn(req)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, ChatResult):
            return answer
        return ChatResult(answer, "stop", Usage(estimate_prompt_tokens(req.messages), estimate_tokens(answer)),
                          self.model)

    async def stream(self, req: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        if self.stream_fn is not None:
            self.requests.append(req)
            async for chunk in self.stream_fn(req):
                yield chunk
            return
        result = await self.chat(req)
        text, step = result.text, self.chunk_chars
        for start in range(0, len(text), step):
            yield StreamChunk(text=text[start:start + step])
        yield StreamChunk(finish_reason=result.finish_reason, usage=result.usage)

    async def health(self) -> tuple[bool, str]:
        return True, "ok"
