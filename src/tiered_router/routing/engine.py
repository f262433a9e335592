"""The engine: walk the planned tiers of one request until an answer is accepted.

For each tier: skip it if it cannot answer (cooling down, window too small), reserve the worst case of
a paid call, call it, gate the answer, and either accept it or escalate. The engine owns every budget
settlement, for whole answers and for streams (``streams.py``), and every breaker update; it is built from
what it uses (backends, breakers, spend, its settings, a clock) and knows nothing of the router above it.

``run`` returns a ``Choice``: ``Buffered``, a whole answer, already gated (what ``complete`` returns), or
``Live``, a stream under way. A stream of a tier that may still escalate is held back and its head gated
first (``streams.py``), so a client never sees a byte of an answer that is then thrown away; a request for
a whole-answer property (JSON) is answered whole and replayed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from ..backends import Backend
from ..backends.errors import BackendError, ErrorKind
from ..budget.errors import BudgetError, BudgetExceeded, UnknownPrice
from ..chat import ChatRequest
from ..errors import AllTiersFailed, CloudBudgetExceeded, UnsupportedField
from ..tiers import Tier
from .breakers import Breakers
from .call import Buffered, Call, Choice, EngineSettings, Live, log
from .gating import gate_answer
from .results import Attempt, AttemptOutcome
from .spend import Hold, Spend
from .streams import Streamer, produced

__all__ = ["Buffered", "Call", "Choice", "Engine", "EngineSettings", "Live"]


class Engine:
    def __init__(self, backends: Mapping[Tier, Backend], breakers: Breakers, spend: Spend,
                 settings: EngineSettings | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.backends = backends
        self.breakers = breakers
        self.spend = spend
        self.settings = settings or EngineSettings()
        self.clock = clock
        self.streamer = Streamer(spend, breakers, self.settings, clock)

    async def run(self, call: Call, streaming: bool) -> Choice:
        self.check(call)
        # Streams whose head was rejected, read on in the background: the answer of last resort.
        spares: list[asyncio.Task[Buffered | None]] = []
        try:
            choice, fallback = await self._walk(call, streaming, spares)
            for spare in spares:
                if choice is not None or fallback is not None:
                    break
                fallback = await spare
            if choice is None:
                choice = fallback
            if choice is None:
                raise AllTiersFailed(failure_summary(call.attempts), call.attempts, call.request_id)
            return choice
        finally:
            for spare in spares:  # a better answer came: stop reading these, and settle what they used
                spare.cancel()
            if spares:
                await asyncio.gather(*spares, return_exceptions=True)

    async def _walk(self, call: Call, streaming: bool, spares: list[asyncio.Task[Buffered | None]]
                    ) -> tuple[Choice | None, Buffered | None]:
        """(the accepted answer, or None; the best rejected whole answer, or None)."""
        fallback: Buffered | None = None
        too_long_for = 0  # context windows at or below this are known to be too small
        for index, tier in enumerate(call.chain):
            backend = self.backends[tier]
            is_last = index == len(call.chain) - 1
            skip = self._skip_reason(backend, call.prompt_tokens, too_long_for)
            if skip:
                call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.SKIPPED,
                                             error=skip, retry_after_s=self.breakers.retry_after(backend.name)))
                call.note_escalation(f"tier{int(tier)}-skipped:{skip}")
                continue
            judged = int(tier) in self.settings.gate_tiers and call.forced is None  # the gate gives a verdict
            gated = judged and not is_last  # and the verdict may escalate
            request = self._request_for(backend, call.request, judged)
            hold = await self._hold(call, tier, backend, request, fallback is not None or bool(spares))
            if hold is None:
                if call.degraded_reason:
                    break
                continue
            answer: Live | Buffered | None
            if streaming and (not gated or (self.settings.hold_tokens == 0 and not call.request.wants_json)):
                answer = await self.streamer.open_live(call, tier, backend, request, hold)
            elif streaming and not call.request.wants_json:
                answer = await self.streamer.open_held(call, tier, backend, request, hold, spares)
            else:
                answer = await self._call(call, tier, backend, request, hold)
            if isinstance(answer, Live):
                return answer, fallback
            if answer is None:
                if call.attempts[-1].error_kind == ErrorKind.CONTEXT_TOO_LONG:
                    too_long_for = max(too_long_for, backend.context_window)
                continue
            # The last tier has nowhere to escalate to: its verdict is only reported (x-router-quality), and a
            # tier the caller pinned is not checked at all.
            verdict = None if call.forced is not None else gate_answer(self.settings, tier, call, answer.result)
            answer.verdict = verdict
            answer.attempt.quality = verdict.reason if verdict else None
            if verdict is not None and verdict.low_quality and not is_last:
                answer.attempt.outcome = AttemptOutcome.REJECTED
                if fallback is None or answer.result.text.strip() or answer.result.tool_calls:
                    fallback = answer
                call.note_escalation(f"tier{int(tier)}-quality:{verdict.reason}")
                continue
            return answer, fallback
        return None, fallback

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

    def _request_for(self, backend: Backend, request: ChatRequest, judged: bool) -> ChatRequest:
        if self.spend.is_paid(backend) and request.max_tokens is None:
            # A bound on output is what makes the worst-case cost of a paid call finite.
            request = replace(request, max_tokens=self.settings.paid_max_tokens)
        if judged and self.settings.confidence is not None and not request.logprobs and backend.supports_logprobs:
            request = replace(request, logprobs=True)  # for the gate's confidence check
        return request

    async def _hold(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                    has_fallback: bool) -> Hold | None:
        """Reserve the worst case of a paid call. None means: do not call this tier."""
        try:
            return await self.spend.hold(backend, request, call.prompt_tokens, call.request_id)
        except BudgetExceeded as exc:
            call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.SKIPPED,
                                         error_kind="budget_exceeded", error=str(exc)[:300]))
            if call.forced is not None or not has_fallback or not self.settings.degrade_on_budget:
                raise CloudBudgetExceeded(str(exc)) from None
            call.degraded_reason = f"budget_exceeded: {exc.window} cloud budget spent"
            return None
        except BudgetError as exc:  # no price, or the ledger is unreadable: fail closed
            unpriced = isinstance(exc, UnknownPrice)
            kind = "unknown_price" if unpriced else "budget_unavailable"
            # The ledger's own error names its database (host, user): that stays in the server's log.
            why = str(exc)[:300] if unpriced else "the budget ledger cannot be reached; cloud calls are refused"
            call.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.ERROR,
                                         error_kind=kind, error=why))
            call.note_escalation(f"tier{int(tier)}-{kind}")
            log.error("cloud call refused: %s", exc)
            return None

    async def _call(self, call: Call, tier: Tier, backend: Backend, request: ChatRequest,
                    hold: Hold) -> Buffered | None:
        t0 = self.clock()
        try:
            result = await backend.chat(request)
        except BackendError as exc:
            cost, usage = await self.spend.settle_failure(hold, exc.billable)
            self.breakers.failure(backend.name, exc)
            call.failed(tier, backend, exc, (self.clock() - t0) * 1000, cost, usage)
            return None
        self.breakers.success(backend.name)
        cost, usage = await self.spend.settle(hold, result.usage, produced(result.text, result.tool_calls))
        result.usage = usage
        attempt = Attempt(tier, backend.provider, backend.model, AttemptOutcome.ACCEPTED,
                          (self.clock() - t0) * 1000, finish_reason=result.finish_reason, usage=usage, cost_usd=cost)
        call.attempts.append(attempt)
        return Buffered(attempt, result, None)


def failure_summary(attempts: list[Attempt]) -> str:
    parts = [f"tier {int(a.tier)} {a.provider}/{a.model}: {a.outcome} {a.error_kind or ''} {a.error or ''}".strip()
             for a in attempts]
    return "every tier failed: " + ("; ".join(parts) if parts else "no tier could be tried")
