"""A routed answer as a stream of chunks (``TieredModelRouter.stream``): a buffered answer replayed in pieces,
or a live one relayed as the engine produces it. It knows nothing of the router: what happens when the answer
ends or fails (recording it, sampling a shadow) is handed in as two functions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from ..chat import ChatResult, StreamChunk, ToolCall
from ..errors import RouterError, StreamBroken
from ..tiers import Tier
from .call import Buffered, Call, Live
from .results import AttemptOutcome, RoutedResponse

_REPLAY_CHUNK_CHARS = 32


class RoutedStream:
    """A chosen answer as a stream of chunks. ``tier``/``model`` are known before the first chunk."""

    def __init__(self, call: Call, choice: Buffered | Live, clock: Callable[[], float],
                 finished: Callable[[ChatResult, Tier, str | None], RoutedResponse],
                 failed: Callable[[RouterError], None]) -> None:
        self._call = call
        self._clock = clock
        self._finished = finished  # records the answer (and samples a shadow): the router's
        self._failed = failed  # records the failure
        self._choice = choice
        self.request_id = call.request_id
        self.tier: Tier = choice.attempt.tier
        self.model = choice.attempt.model
        self.provider = choice.attempt.provider
        self.attempts = call.attempts
        self.response: RoutedResponse | None = None

    @property
    def escalated(self) -> bool:
        return self.tier > self._call.chain[0]

    @property
    def degraded_reason(self) -> str | None:
        return self._call.degraded_reason

    @property
    def quality(self) -> str | None:
        """The gate's verdict on this answer: known before the first byte for a buffered, gated answer."""
        if self.response is not None:
            return self.response.quality
        if isinstance(self._choice, Buffered) and self._choice.verdict is not None:
            return self._choice.verdict.reason
        return None

    @property
    def overhead_ms(self) -> float:
        """Time spent in the router so far, outside upstream calls."""
        now = self._clock()
        upstream = sum(a.latency_ms for a in self.attempts)
        if isinstance(self._choice, Live) and self._choice.attempt.outcome == AttemptOutcome.STREAMING:
            upstream += (now - self._choice.t0) * 1000
        return max(0.0, (now - self._call.started) * 1000 - upstream)

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        if isinstance(self._choice, Buffered):
            return self._replay(self._choice)
        return self._live(self._choice)

    async def _replay(self, choice: Buffered) -> AsyncIterator[StreamChunk]:
        result = choice.result
        if result.thinking:
            yield StreamChunk(thinking=result.thinking, thinking_signature=result.thinking_signature)
        text = result.text
        for start in range(0, len(text), _REPLAY_CHUNK_CHARS):
            yield StreamChunk(text=text[start:start + _REPLAY_CHUNK_CHARS])
        self._finish(result, choice.verdict.reason if choice.verdict else None)
        yield StreamChunk(finish_reason=result.finish_reason, usage=result.usage, tool_calls=result.tool_calls)

    async def _live(self, live: Live) -> AsyncIterator[StreamChunk]:
        parts: list[str] = []
        thinking: list[str] = []
        calls: list[ToolCall] = []
        signature = None
        finish = "stop"
        ended = False
        try:
            async for chunk in live.chunks:
                parts.append(chunk.text)
                thinking.append(chunk.thinking)
                calls += chunk.tool_calls
                signature = chunk.thinking_signature or signature
                finish = chunk.finish_reason or finish
                if live.attempt.outcome == AttemptOutcome.ACCEPTED:  # the last chunk: settled, with its usage
                    ended = True
                    self._finish(ChatResult("".join(parts), finish, live.attempt.usage, live.attempt.model,
                                            tuple(calls), "".join(thinking) or None, signature),
                                 live.attempt.quality)  # a held stream is judged whole at its end
                yield chunk
        except StreamBroken as error:
            ended = True
            self._failed(error)
            raise
        finally:
            if not ended:  # the consumer went away: the engine settles what was produced
                await live.chunks.aclose()
                self._failed(RouterError("client went away mid-stream"))

    def _finish(self, result: ChatResult, quality: str | None) -> None:
        self.response = self._finished(result, self.tier, quality)
