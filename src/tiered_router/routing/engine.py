"""The engine: walk the planned tiers of one request until an answer is accepted.

For each tier: skip it if it cannot answer (cooling down, window too small), reserve the worst case of
a paid call, call it, gate the answer, and either accept it or escalate. The engine owns every budget
settlement, for whole answers and for streams, and every breaker update; it is built from what it
uses (backends, breakers, spend, its settings, a clock) and knows nothing of the router above it.

``run`` returns a ``Choice``: ``Buffered``, a whole answer, already gated (what ``complete`` returns,
and what a stream replays for a tier that may still escalate, so a client never sees a byte of an
answer that is later thrown away), or ``Live``, a stream whose first chunk has arrived. ``Live.chunks``
settles the budget whether the stream ends, breaks or is abandoned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from ..backends import Backend
from ..backends.errors import BackendError, ErrorKind
from ..budget.errors import BudgetError, BudgetExceeded, UnknownPrice
from ..chat import ChatRequest, ChatResult, Message, StreamChunk, ToolCall, Usage, as_mappings, estimate_prompt_tokens
from ..errors import AllTiersFailed, CloudBudgetExceeded, StreamBroken, UnsupportedField
from ..options import RouteOptions
from ..quality import QualityVerdict, assess_response
from ..quality.tools import assess_missing_call, assess_tool_calls
from ..tiers import Tier
from .breakers import Breakers
from .results import Attempt, AttemptOutcome
from .spend import Hold, Spend

if TYPE_CHECKING:
    from ..classify import Decision
    from ..config import Settings

log = logging.getLogger("tiered_router")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """``gate_tiers``: tiers whose answers the gate checks (the last tier of a plan never is).
    ``paid_max_tokens``: the output bound given to a paid call that set none, so its worst case is finite.
    ``degrade_on_budget``: when the budget stops an escalation, answer with the best local attempt."""

    gate_tiers: frozenset[int] = frozenset({1, 2})
    paid_max_tokens: int = 1024
    degrade_on_budget: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineSettings:
        return cls(frozenset(settings.gate_tiers), settings.cloud_max_tokens, settings.budget_exhausted == "degrade")


@dataclass
class Call:
    """Everything known about one request while it is routed."""

    request_id: str
    request: ChatRequest
    decision: Decision
    options: RouteOptions
    started: float
    chain: list[Tier]
    forced: Tier | None = None  # the tier the caller pinned (after the allow_cloud cap); it is not scored
    attempts: list[Attempt] = field(default_factory=list)
    escalation_reason: str | None = None
    degraded_reason: str | None = None

    @property
    def messages(self) -> list[Message]:
        return self.request.messages

    @cached_property
    def prompt_tokens(self) -> int:
        return estimate_prompt_tokens(self.messages, self.request.tools)

    def note_escalation(self, reason: str) -> None:
        self.escalation_reason = self.escalation_reason or reason


@dataclass
class Buffered:
    attempt: Attempt
    result: ChatResult
    verdict: QualityVerdict | None


@dataclass
class Live:
    """A stream under way. ``chunks`` yields the answer's chunks, then one chunk with the usage that was
    charged; it raises ``StreamBroken`` if the upstream breaks after bytes went out."""

    attempt: Attempt
    t0: float
    chunks: AsyncGenerator[StreamChunk, None]


Choice = Buffered | Live


class Engine:
    def __init__(self, backends: Mapping[Tier, Backend], breakers: Breakers, spend: Spend,
                 settings: EngineSettings | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.backends = backends
        self.breakers = breakers
        self.spend = spend
        self.settings = settings or EngineSettings()
        self.clock = clock

    async def run(self, call: Call, streaming: bool) -> Choice:
        self.check(call)
        fallback: Buffered | None = None
        too_long_for = 0  # context windows at or below this are known to be too small
        for index, tier in enumerate(call.chain):
            backend = self.backends[tier]
            is_last = index == len(call.chain) - 1
            skip = self._skip_reason(backend, call.prompt_tokens, too_long_for)
            if skip:
                call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.SKIPPED,
                                             error=skip))
                call.note_escalation(f"tier{int(tier)}-skipped:{skip}")
                continue
            request = self._request_for(backend, call.request)
            hold = await self._hold(call, tier, backend, request, fallback)
            if hold is None:
                if call.degraded_reason:
                    break
                continue
            gated = int(tier) in self.settings.gate_tiers and not is_last
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
            # The last tier has nowhere to escalate to: its verdict is only reported (x-router-quality), and a
            # tier the caller pinned is not checked at all.
            verdict = None if call.forced is not None else self._gate(tier, call, buffered.result)
            buffered.verdict = verdict
            buffered.attempt.quality = verdict.reason if verdict else None
            if verdict is not None and verdict.low_quality and not is_last:
                buffered.attempt.outcome = AttemptOutcome.REJECTED
                if fallback is None or buffered.result.text.strip() or buffered.result.tool_calls:
                    fallback = buffered
                call.note_escalation(f"tier{int(tier)}-quality:{verdict.reason}")
                continue
            return buffered
        if fallback is not None:
            return fallback
        raise AllTiersFailed(_failure_summary(call.attempts), call.attempts, call.request_id)

    # --- steps -------------------------------------------------------------------------------

    def check(self, call: Call) -> None:
        """Refuse, before any call, a field that a tier of the plan cannot express."""
        for tier in call.chain:
            backend = self.backends[tier]
            try:
                backend.check(call.request)
            except UnsupportedField as exc:
                raise exc.at(f"tier {int(tier)}, {backend.name}") from None

    def _skip_reason(self, backend: Backend, prompt_tokens: int, too_long_for: int) -> str | None:
        if backend.context_window <= too_long_for or prompt_tokens > backend.context_window:
            return "context-too-small"
        return self.breakers.blocked(backend.name)

    def _request_for(self, backend: Backend, request: ChatRequest) -> ChatRequest:
        if self.spend.is_paid(backend) and request.max_tokens is None:
            # A bound on output is what makes the worst-case cost of a paid call finite.
            return replace(request, max_tokens=self.settings.paid_max_tokens)
        return request

    async def _hold(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                    fallback: Buffered | None) -> Hold | None:
        """Reserve the worst case of a paid call. None means: do not call this tier."""
        try:
            return await self.spend.hold(backend, call.prompt_tokens, request.max_tokens or 0)
        except BudgetExceeded as exc:
            call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.SKIPPED,
                                         error_kind="budget_exceeded", error=str(exc)[:300]))
            if call.forced is not None or fallback is None or not self.settings.degrade_on_budget:
                raise CloudBudgetExceeded(str(exc)) from None
            call.degraded_reason = f"budget_exceeded: {exc.window} cloud budget spent"
            return None
        except BudgetError as exc:  # no price, or the ledger is unreadable: fail closed
            kind = "unknown_price" if isinstance(exc, UnknownPrice) else "budget_unavailable"
            call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.ERROR,
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
            await self.spend.release(hold)
            self._failed(call, tier, backend, exc, t0)
            return None
        self.breakers.success(backend.name)
        cost, usage = await self.spend.settle(hold, result.usage, produced(result.text, result.tool_calls))
        result.usage = usage
        attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.ACCEPTED,
                          (self.clock() - t0) * 1000, finish_reason=result.finish_reason, usage=usage, cost_usd=cost)
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
            await self.spend.release(hold)
            if isinstance(exc, StopAsyncIteration):
                exc = BackendError("stream ended before any content", provider=backend.provider, model=backend.model)
            self._failed(call, tier, backend, exc, t0)
            return None
        self.breakers.success(backend.name)
        attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.STREAMING)
        call.attempts.append(attempt)
        return Live(attempt, t0, self._relay(call, backend, attempt, first, stream, hold, t0))

    async def _relay(self, call: Call, backend: Backend, attempt: Attempt, first: StreamChunk,
                     rest: AsyncGenerator[StreamChunk, None], hold: Hold, t0: float
                     ) -> AsyncGenerator[StreamChunk, None]:
        """The live stream's chunks; whatever way it ends, what it consumed is settled exactly once."""
        parts: list[str] = []
        calls: list[ToolCall] = []
        usage = None
        finish = "stop"
        settled = False
        try:
            chunk: StreamChunk | None = first
            while chunk is not None:
                parts.append(chunk.text)
                calls += chunk.tool_calls
                usage = chunk.usage or usage
                finish = chunk.finish_reason or finish
                if chunk.text or chunk.finish_reason or chunk.tool_calls or chunk.thinking:
                    yield StreamChunk(text=chunk.text, finish_reason=chunk.finish_reason, tool_calls=chunk.tool_calls,
                                      thinking=chunk.thinking, thinking_signature=chunk.thinking_signature)
                chunk = await anext(rest, None)
            charged = await self.spend.settle(hold, usage, produced("".join(parts), calls))
            self._ended(attempt, AttemptOutcome.ACCEPTED, charged, t0)
            settled = True
            attempt.finish_reason = finish
            yield StreamChunk(usage=attempt.usage)
        except BackendError as exc:
            # Bytes already reached the client: charge what was consumed, and say the answer broke.
            charged = await self.spend.settle(hold, None, produced("".join(parts), calls))
            self._ended(attempt, AttemptOutcome.ERROR, charged, t0)
            settled = True
            attempt.error_kind, attempt.error = exc.kind.value, exc.message[:300]
            self.breakers.failure(backend.name, exc)
            raise StreamBroken(f"the answer from {backend.name} broke off mid-stream: {exc.message}",
                               call.request_id) from None
        finally:
            if not settled:  # the consumer went away: charge for what was produced so far
                await rest.aclose()
                charged = await self.spend.settle(hold, None, produced("".join(parts), calls))
                self._ended(attempt, AttemptOutcome.CANCELLED, charged, t0)

    def _ended(self, attempt: Attempt, outcome: AttemptOutcome, charged: tuple[float, Usage], t0: float) -> None:
        attempt.outcome, (attempt.cost_usd, attempt.usage) = outcome, charged
        attempt.latency_ms = (self.clock() - t0) * 1000

    def _failed(self, call: Call, tier: Tier, backend: Backend, exc: BackendError, t0: float) -> None:
        self.breakers.failure(backend.name, exc)
        log.info("tier %d %s failed: %s", tier, backend.name, exc)
        call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.ERROR,
                                     (self.clock() - t0) * 1000, error_kind=exc.kind.value, error=exc.message[:300]))
        call.note_escalation(f"tier{int(tier)}-{exc.kind.value}")

    def _gate(self, tier: Tier, call: Call, result: ChatResult) -> QualityVerdict | None:
        if int(tier) not in self.settings.gate_tiers:
            return None
        request = call.request
        if result.tool_calls:
            return assess_tool_calls(result.tool_calls, request.tools, request.tool_name)
        if request.tools and request.tool_choice != "none":
            missing = assess_missing_call(result.text, request.tools, request.tool_choice == "required")
            if missing is not None:
                return missing
        finish, expect_json = result.finish_reason, True if request.wants_json else None
        if finish == "length" and cut_by_client(request, result):
            # The client's own limit cut it: a bigger model would be cut as well, so it is not "truncated",
            # and a cut JSON answer is not judged as JSON.
            finish, expect_json = "stop", False
        return assess_response(as_mappings(call.messages), result.text, finish_reason=finish, expect_json=expect_json,
                               answer_format=call.options.answer_format)


def cut_by_client(request: ChatRequest, result: ChatResult) -> bool:
    """Whether a ``length`` stop came from the client's own ``max_tokens`` (the tier used all of it), rather
    than from the tier stopping short of what the client allowed."""
    limit = request.max_tokens
    if limit is None:
        return False
    return result.usage.estimated or result.usage.output_tokens >= limit


def produced(text: str, calls: Sequence[ToolCall]) -> str:
    """What an answer produced, for estimating its output tokens when the provider sent no count."""
    if not calls:
        return text
    return text + "".join(c.name + c.arguments for c in calls)


def _failure_summary(attempts: list[Attempt]) -> str:
    parts = [f"tier {int(a.tier)} {a.provider}/{a.model}: {a.outcome} {a.error_kind or ''} {a.error or ''}".strip()
             for a in attempts]
    return "every tier failed: " + ("; ".join(parts) if parts else "no tier could be tried")
