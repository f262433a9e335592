"""Choosing the answer: walk the planned tiers, call, gate, escalate, until one is accepted.

``select`` runs the cascade for one request and returns a ``Choice``: either a buffered answer
(already complete and gated) or a live stream whose first chunk has arrived. Buffered answers
are what ``complete`` returns and what streaming replays for tiers that may still escalate, so
a client never sees a byte of an answer that is later thrown away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .backends import Backend, ChatRequest, ChatResult, StreamChunk
from .backends.base import estimate_prompt_tokens
from .budget.errors import BudgetError, BudgetExceeded
from .errors import AllTiersFailed, BackendError, CloudBudgetExceeded, ErrorKind
from .messages import Message
from .quality import QualityVerdict, assess_response
from .result import Attempt
from .spend import Hold
from .tiers import Tier

if TYPE_CHECKING:
    from .classify import Decision
    from .router import TieredModelRouter

log = logging.getLogger("tiered_router")


@dataclass
class Call:
    """Everything known about one request while it is routed."""

    request_id: str
    messages: list[Message]
    request: ChatRequest
    decision: Decision
    forced: Tier | None
    context: dict[str, Any]
    started: float
    chain: list[Tier] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    escalation_reason: str | None = None
    degraded_reason: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return estimate_prompt_tokens(self.messages)

    def note_escalation(self, reason: str) -> None:
        self.escalation_reason = self.escalation_reason or reason


@dataclass
class Buffered:
    attempt: Attempt
    result: ChatResult
    verdict: QualityVerdict | None


@dataclass
class Live:
    attempt: Attempt
    backend: Backend
    first: StreamChunk
    rest: AsyncIterator[StreamChunk]
    hold: Hold
    t0: float


Choice = Buffered | Live


class Cascade:
    def __init__(self, router: TieredModelRouter, clock: Callable[[], float] = time.perf_counter) -> None:
        self.router = router
        self.clock = clock

    async def select(self, call: Call, streaming: bool) -> Choice:
        router = self.router
        fallback: Buffered | None = None
        too_long_for = 0  # context windows at or below this are known to be too small
        prompt_tokens = call.prompt_tokens
        for index, tier in enumerate(call.chain):
            backend = router.backends[tier]
            is_last = index == len(call.chain) - 1
            skip = self._skip_reason(backend, prompt_tokens, too_long_for)
            if skip:
                call.attempts.append(Attempt(tier, backend.provider, backend.model, "skipped", error=skip))
                call.note_escalation(f"tier{int(tier)}-skipped:{skip}")
                continue
            request = self._request_for(tier, call.request)
            hold = await self._hold(call, tier, backend, prompt_tokens, request, fallback)
            if hold is None:
                if call.degraded_reason:
                    break
                continue
            gated = int(tier) in router.settings.gate_tiers and not is_last
            if streaming and not gated:
                live = await self._open_stream(call, tier, backend, request, hold)
                if live is not None:
                    return live
                continue
            buffered = await self._call(call, tier, backend, request, hold)
            if buffered is None:
                if call.attempts[-1].error_kind == ErrorKind.CONTEXT_TOO_LONG:
                    too_long_for = max(too_long_for, backend.context_window)
                continue
            # The last tier has nowhere to escalate to, so its answer is not gated (as when it streams live).
            verdict = None if is_last else self._gate(tier, call, buffered.result)
            buffered.verdict = verdict
            buffered.attempt.quality = verdict.reason if verdict else None
            if verdict is not None and verdict.low_quality and not is_last:
                buffered.attempt.outcome = "rejected"
                if fallback is None or buffered.result.text.strip():
                    fallback = buffered
                call.note_escalation(f"tier{int(tier)}-quality:{verdict.reason}")
                continue
            buffered.attempt.outcome = "rejected" if verdict is not None and verdict.low_quality else "accepted"
            return buffered
        if fallback is not None:
            return fallback
        raise AllTiersFailed(_failure_summary(call.attempts), call.attempts, call.request_id)

    # --- steps -------------------------------------------------------------------------------

    def _skip_reason(self, backend: Backend, prompt_tokens: int, too_long_for: int) -> str | None:
        if backend.context_window <= too_long_for or prompt_tokens > backend.context_window:
            return "context-too-small"
        return self.router.breakers.blocked(backend.name)

    def _request_for(self, tier: Tier, request: ChatRequest) -> ChatRequest:
        backend = self.router.backends[tier]
        if self.router.spend.is_paid(backend) and request.max_tokens is None:
            # A bound on output is what makes the worst-case cost of a paid call finite.
            return ChatRequest(request.messages, self.router.settings.cloud_max_tokens, request.temperature,
                               request.top_p, request.stop, request.response_format, request.extra)
        return request

    async def _hold(self, call: Call, tier: Tier, backend: Backend, prompt_tokens: int, request: ChatRequest,
                    fallback: Buffered | None) -> Hold | None:
        """Reserve the worst case of a paid call. None means: do not call this tier."""
        try:
            return await self.router.spend.hold(backend, prompt_tokens, request.max_tokens or 0)
        except BudgetExceeded as exc:
            call.attempts.append(Attempt(tier, backend.provider, backend.model, "skipped",
                                         error_kind="budget_exceeded", error=str(exc)[:300]))
            if call.forced is not None or fallback is None or self.router.settings.budget_exhausted == "error":
                raise CloudBudgetExceeded(str(exc)) from None
            call.degraded_reason = f"budget_exceeded: {exc.window} cloud budget spent"
            return None
        except BudgetError as exc:  # no price, or the ledger is unreadable: fail closed
            kind = "unknown_price" if type(exc).__name__ == "UnknownPrice" else "budget_unavailable"
            call.attempts.append(Attempt(tier, backend.provider, backend.model, "error",
                                         error_kind=kind, error=str(exc)[:300]))
            call.note_escalation(f"tier{int(tier)}-{kind}")
            log.error("cloud call refused: %s", exc)
            return None

    async def _call(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                    hold: Hold) -> Buffered | None:
        t0 = self.clock()
        try:
            result = await backend.chat(request)
        except BackendError as exc:
            await self.router.spend.release(hold)
            self._failed(call, tier, backend, exc, t0)
            return None
        self.router.breakers.success(backend.name)
        cost, usage = await self.router.spend.settle(hold, result.usage, result.text)
        result.usage = usage
        attempt = Attempt(tier, backend.provider, backend.model, "accepted", (self.clock() - t0) * 1000,
                          finish_reason=result.finish_reason, usage=usage, cost_usd=cost)
        call.attempts.append(attempt)
        return Buffered(attempt, result, None)

    async def _open_stream(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                           hold: Hold) -> Live | None:
        """Start a live stream; it counts as chosen once its first chunk arrives."""
        t0 = self.clock()
        stream = backend.stream(request)
        try:
            first = await anext(stream)
        except (BackendError, StopAsyncIteration) as exc:
            await stream.aclose()
            await self.router.spend.release(hold)
            if isinstance(exc, StopAsyncIteration):
                exc = BackendError("stream ended before any content", provider=backend.provider, model=backend.model)
            self._failed(call, tier, backend, exc, t0)
            return None
        self.router.breakers.success(backend.name)
        attempt = Attempt(tier, backend.provider, backend.model, "streaming", 0.0)
        call.attempts.append(attempt)
        return Live(attempt, backend, first, stream, hold, t0)

    def _failed(self, call: Call, tier: Tier, backend: Backend, exc: BackendError, t0: float) -> None:
        self.router.breakers.failure(backend.name, exc)
        log.info("tier %d %s failed: %s", tier, backend.name, exc)
        call.attempts.append(Attempt(tier, backend.provider, backend.model, "error", (self.clock() - t0) * 1000,
                                     error_kind=exc.kind.value, error=exc.message[:300]))
        call.note_escalation(f"tier{int(tier)}-{exc.kind.value}")

    def _gate(self, tier: Tier, call: Call, result: ChatResult) -> QualityVerdict | None:
        if int(tier) not in self.router.settings.gate_tiers:
            return None
        return assess_response(
            call.messages, result.text, finish_reason=result.finish_reason,
            expect_json=True if call.request.wants_json else None,
            answer_format=call.context.get("answer_format"),
        )


def _failure_summary(attempts: list[Attempt]) -> str:
    parts = [f"tier {int(a.tier)} {a.provider}/{a.model}: {a.outcome} {a.error_kind or ''} {a.error or ''}".strip()
             for a in attempts]
    return "every tier failed: " + ("; ".join(parts) if parts else "no tier could be tried")
