"""Streams through the engine: a live stream for a tier that cannot escalate, and a held one for a tier that
may, whose head is gated before any byte goes out.

A held stream keeps back at most ``hold_tokens`` tokens or ``hold_s`` seconds after its first token,
whichever comes first. If the stream ends inside that window, it is a whole answer and is gated whole. If
its head fails the gate, the request escalates before the client has seen anything, and the rejected
answer is read to its end in the background, in case nothing better comes (the degraded answer). If the
head passes, the held chunks go out and the rest streams live. Every way a stream ends settles what it
consumed, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Sequence

from ..backends import Backend
from ..backends.errors import BackendError
from ..chat import ChatRequest, ChatResult, StreamChunk, TokenLogprob, ToolCall, Usage, estimate_tokens
from ..errors import StreamBroken
from ..quality import QualityVerdict
from ..tiers import Tier
from .breakers import Breakers
from .call import Buffered, Call, EngineSettings, Live
from .gating import gate_answer, gate_head
from .results import Attempt, AttemptOutcome
from .spend import Hold, Spend

_WAITING = object()  # a read that timed out; the chunk is still on its way


class Upstream:
    """A backend's stream read chunk by chunk, where a read may wait with a deadline and lose nothing: a read
    that times out stays pending and is the next one served."""

    def __init__(self, stream: AsyncGenerator[StreamChunk, None]) -> None:
        self.stream = stream
        self._next: asyncio.Future[StreamChunk] | None = None

    async def read(self) -> StreamChunk | None:
        """The next chunk, or None at the end."""
        if self._next is None:
            return await anext(self.stream, None)
        pending, self._next = self._next, None
        try:
            return await pending
        except StopAsyncIteration:
            return None

    async def read_within(self, timeout: float) -> StreamChunk | object | None:
        """The next chunk, None at the end, or ``_WAITING`` when none came within ``timeout`` seconds."""
        if self._next is None:
            self._next = asyncio.ensure_future(anext(self.stream))
        done, _ = await asyncio.wait((self._next,), timeout=max(timeout, 0.0))
        if not done:
            return _WAITING
        return await self.read()

    async def aclose(self) -> None:
        if self._next is not None:
            pending, self._next = self._next, None
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await self.stream.aclose()


class Collected:
    """What a stream produced so far."""

    __slots__ = ("calls", "finish", "logprobs", "parts", "signature", "thinking", "usage")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.thinking: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage: Usage | None = None
        self.finish = "stop"
        self.signature: str | None = None
        self.logprobs: list[TokenLogprob] = []

    def add(self, chunk: StreamChunk) -> None:
        self.parts.append(chunk.text)
        if chunk.thinking:
            self.thinking.append(chunk.thinking)
        self.calls += chunk.tool_calls
        self.usage = chunk.usage or self.usage
        self.finish = chunk.finish_reason or self.finish
        self.signature = chunk.thinking_signature or self.signature
        self.logprobs += chunk.logprobs

    @property
    def produced(self) -> str:
        return produced("".join(self.parts), self.calls)

    def result(self, model: str, usage: Usage) -> ChatResult:
        return ChatResult("".join(self.parts), self.finish, usage, model, tuple(self.calls),
                          "".join(self.thinking) or None, self.signature, tuple(self.logprobs) or None)


def produced(text: str, calls: Sequence[ToolCall]) -> str:
    """What an answer produced, for estimating its output tokens when the provider sent no count."""
    if not calls:
        return text
    return text + "".join(c.name + c.arguments for c in calls)


class Streamer:
    def __init__(self, spend: Spend, breakers: Breakers, settings: EngineSettings,
                 clock: Callable[[], float]) -> None:
        self.spend = spend
        self.breakers = breakers
        self.settings = settings
        self.clock = clock

    async def open_live(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                        hold: Hold) -> Live | None:
        """Start a live stream; it counts as chosen once its first chunk arrives. None: it failed first."""
        t0 = self.clock()
        upstream = Upstream(backend.stream(request))
        try:
            first = await upstream.read()
            if first is None:
                raise BackendError("stream ended before any content", provider=backend.provider, model=backend.model)
        except BackendError as exc:
            await upstream.aclose()
            self._failed(call, tier, backend, exc, t0, await self.spend.settle_failure(hold, exc.billable))
            return None
        self.breakers.success(backend.name)
        attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.STREAMING)
        call.attempts.append(attempt)
        return Live(attempt, t0, self.relay(call, backend, attempt, [first], upstream, hold, t0))

    async def open_held(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest, hold: Hold,
                        spares: list[asyncio.Task[Buffered | None]]) -> Live | Buffered | None:
        """A stream whose head is gated first. Live: the head passed. Buffered: the stream ended inside the
        window (a whole answer, to be gated whole). None: it failed, or its head was rejected (then it is read
        on in the background, in ``spares``)."""
        t0 = self.clock()
        upstream = Upstream(backend.stream(request))
        head = Collected()
        chunks: list[StreamChunk] = []
        try:
            ended = await self._hold_head(upstream, head, chunks)
        except BackendError as exc:
            await upstream.aclose()
            self._failed(call, tier, backend, exc, t0, await self.spend.settle_failure(hold, exc.billable))
            return None
        self.breakers.success(backend.name)
        if ended:
            cost, usage = await self.spend.settle(hold, head.usage, head.produced)
            attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.ACCEPTED,
                              (self.clock() - t0) * 1000, finish_reason=head.finish, usage=usage, cost_usd=cost)
            call.attempts.append(attempt)
            return Buffered(attempt, head.result(backend.model, usage), None)
        verdict = gate_head(self.settings, call, chunks)
        if verdict.low_quality:
            attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.REJECTED, quality=verdict.reason)
            call.attempts.append(attempt)
            call.note_escalation(f"tier{int(tier)}-quality:{verdict.reason}")
            spares.append(asyncio.ensure_future(self._read_rejected(backend, attempt, verdict, head, upstream,
                                                                    hold, t0)))
            return None
        attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.STREAMING)
        call.attempts.append(attempt)

        def final_verdict(result: ChatResult) -> QualityVerdict | None:  # reported with the record
            return gate_answer(self.settings, tier, call, result)

        return Live(attempt, t0, self.relay(call, backend, attempt, chunks, upstream, hold, t0, final_verdict))

    async def _hold_head(self, upstream: Upstream, head: Collected, chunks: list[StreamChunk]) -> bool:
        """Read the head into ``chunks``: True if the stream ended inside the window."""
        tokens, first_at = 0, None
        while tokens < self.settings.hold_tokens:
            if first_at is None:
                chunk = await upstream.read()
            else:
                waited = await upstream.read_within(self.settings.hold_s - (self.clock() - first_at))
                if waited is _WAITING:
                    return False
                chunk = waited  # type: ignore[assignment]
            if chunk is None:
                return True
            head.add(chunk)
            chunks.append(chunk)
            if chunk.text or chunk.thinking or chunk.tool_calls:
                first_at = first_at if first_at is not None else self.clock()
                tokens += max(1, estimate_tokens(chunk.text)) if len(chunk.text) > 8 else 1
        return False

    async def _read_rejected(self, backend: Backend, attempt: Attempt, verdict: QualityVerdict, head: Collected,
                             upstream: Upstream, hold: Hold, t0: float) -> Buffered | None:
        """A rejected stream read to its end, in case no better answer comes; charged for what it produced."""
        ended = False
        try:
            while (chunk := await upstream.read()) is not None:
                head.add(chunk)
            ended = True
        except BackendError:
            return None
        finally:
            if not ended:  # cancelled (a better answer came) or broken
                await upstream.aclose()
            cost, usage = await self.spend.settle(hold, head.usage if ended else None, head.produced)
            attempt.cost_usd, attempt.usage = cost, usage
            attempt.latency_ms = (self.clock() - t0) * 1000
        attempt.finish_reason = head.finish
        return Buffered(attempt, head.result(backend.model, attempt.usage), verdict)

    async def relay(self, call: Call, backend: Backend, attempt: Attempt, head: list[StreamChunk],
                    upstream: Upstream, hold: Hold, t0: float,
                    verdict_of: Callable[[ChatResult], QualityVerdict | None] | None = None,
                    ) -> AsyncGenerator[StreamChunk, None]:
        """The live stream's chunks; whatever way it ends, what it consumed is settled exactly once."""
        got = Collected()
        settled = False
        try:
            for held in head:
                got.add(held)
                if held.text or held.finish_reason or held.tool_calls or held.thinking:
                    yield _outgoing(held)
            while (chunk := await upstream.read()) is not None:
                got.add(chunk)
                if chunk.text or chunk.finish_reason or chunk.tool_calls or chunk.thinking or chunk.logprobs:
                    yield _outgoing(chunk)
            charged = await self.spend.settle(hold, got.usage, got.produced)
            self._ended(attempt, AttemptOutcome.ACCEPTED, charged, t0)
            settled = True
            attempt.finish_reason = got.finish
            if verdict_of is not None:
                verdict = verdict_of(got.result(backend.model, attempt.usage))
                attempt.quality = verdict.reason if verdict else None
            yield StreamChunk(usage=attempt.usage)
        except BackendError as exc:
            # Bytes already reached the client: say the answer broke, and charge what the provider reported,
            # or else the worst case reserved (it may have billed the whole answer).
            charged = await (self.spend.settle(hold, got.usage, got.produced) if got.usage
                             else self.spend.settle_failure(hold, exc.billable or bool(got.parts)))
            self._ended(attempt, AttemptOutcome.ERROR, charged, t0)
            settled = True
            attempt.error_kind, attempt.error = exc.kind.value, exc.message[:300]
            self.breakers.failure(backend.name, exc)
            raise StreamBroken(f"the answer from {backend.name} broke off mid-stream: {exc.message}",
                               call.request_id) from None
        finally:
            if not settled:  # the consumer went away: charge for what was produced so far
                await upstream.aclose()
                charged = await self.spend.settle(hold, None, got.produced)
                self._ended(attempt, AttemptOutcome.CANCELLED, charged, t0)

    def _ended(self, attempt: Attempt, outcome: AttemptOutcome, charged: tuple[float, Usage], t0: float) -> None:
        attempt.outcome, (attempt.cost_usd, attempt.usage) = outcome, charged
        attempt.latency_ms = (self.clock() - t0) * 1000

    def _failed(self, call: Call, tier: Tier, backend: Backend, exc: BackendError, t0: float,
                charged: tuple[float, Usage]) -> None:
        self.breakers.failure(backend.name, exc)
        call.failed(tier, backend, exc, (self.clock() - t0) * 1000, *charged)


def _outgoing(chunk: StreamChunk) -> StreamChunk:
    """A chunk as the router passes it on: the content, never the provider's usage (settled at the end)."""
    return StreamChunk(text=chunk.text, finish_reason=chunk.finish_reason, tool_calls=chunk.tool_calls,
                       thinking=chunk.thinking, thinking_signature=chunk.thinking_signature, logprobs=chunk.logprobs)
