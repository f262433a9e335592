"""The second opinion (``TIER_VERIFY``): a request the classifier was unsure of is answered by both local tiers.

A request whose classifier score lies within ``band`` of the heavy threshold (``|score − heavy| ≤ band``) is
sent to tier 1 and tier 2 at once, each as a one-tier run of the engine (its skips, budget, breakers and gate,
but no escalation of its own). Then:

* both answers pass the gate and agree (``compare.compare``): tier 1's answer; tier 2's attempt is
  ``verified``;
* both pass and disagree: the cloud answers (``verify-disagree``; both local attempts ``rejected`` with that
  reason) when the plan includes it, through the budget as any cloud call; when the cloud is not in the plan
  (not allowed, disabled), fails, or the budget refuses it (then marked degraded), tier 2's answer;
* one passes: that one (as the cascade would have gone on to tier 2 after a rejected tier 1; a rejected
  tier 2 beside an accepted tier 1 leaves tier 1's answer);
* neither: the cloud, as in the cascade, else the better rejected answer.

Both local calls are paid (time, or money where a local tier is priced), and the cloud on every
disagreement: the band sets the cost (``docs/routing-eval.md``, where ``bench-routing --verify BAND``
replays it). A streamed request is verified too: the chosen answer is replayed to the client as a stream
once both are in, so its first byte waits for both answers (the price of a second opinion, paid only in the
band). Not verified, and routed as usual: a forced tier, a request starting on the cloud, and a request that
offers tools (agent steps: exact agreement of tool arguments would send most of them to the cloud, and the
gate already checks calls).

What it found goes on the call (``call.verification``: agree, disagree, one-passed, neither) and is counted
in ``stats``. When both answers were compared, the router has that comparison stored with the request after
the answer (``shadow.py``, a ``verify`` judgement): it is the learner's "would tier 1 have done?" label.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from ..errors import AllTiersFailed, CloudBudgetExceeded, RouterError
from ..tiers import Tier
from .call import Buffered, Call, Verification
from .compare import compare
from .engine import Engine, failure_summary
from .results import AttemptOutcome

log = logging.getLogger("tiered_router")

DISAGREE = "verify-disagree"
ONE_PASSED, NEITHER = "one-passed", "neither"
OUTCOMES = ("agree", "disagree", ONE_PASSED, NEITHER)  # Verification.outcome, as counted in ``stats``


class Verifier:
    """Runs the second opinion on the engine. ``band`` 0 is off."""

    def __init__(self, engine: Engine, band: float | None) -> None:
        self.engine = engine
        self.band = band or 0.0
        self.stats: Counter[str] = Counter()  # verified requests since start-up, by outcome (/metrics)

    def counts(self) -> dict[str, int]:
        """Verified requests by outcome, every outcome shown from 0 when the second opinion is on (what
        ``/metrics`` shows as ``router_verify_total``)."""
        return {**dict.fromkeys(OUTCOMES if self.band > 0 else (), 0), **self.stats}

    def _found(self, call: Call, verification: Verification) -> None:
        call.verification = verification
        self.stats[verification.outcome] += 1

    def applies(self, call: Call, heavy: float) -> bool:
        """Whether ``call`` gets a second opinion (see the module docstring for what does not)."""
        return (self.band > 0 and call.forced is None
                and call.decision.tier in (Tier.LOCAL_FAST, Tier.LOCAL_HEAVY) and not call.request.tools
                and Tier.LOCAL_FAST in self.engine.backends and Tier.LOCAL_HEAVY in self.engine.backends
                and abs(call.decision.score - heavy) <= self.band)

    async def run(self, call: Call) -> Buffered:
        """The answer to ``call``, as described above. Raises as ``Engine.run`` does when nothing answers."""
        self.engine.check(call)  # a field the plan's tiers cannot express is a 400, before any call
        async with asyncio.TaskGroup() as group:
            fast = group.create_task(self._one(call, Tier.LOCAL_FAST))
            heavy = group.create_task(self._one(call, Tier.LOCAL_HEAVY))
        (first, first_call), (second, second_call) = fast.result(), heavy.result()
        call.attempts += first_call.attempts + second_call.attempts  # in tier order, whichever ended first
        if first is not None and second is not None:
            agreement = compare(first.result, second.result, call.request, call.options)
            self._found(call, Verification("agree" if agreement.agrees else "disagree", agreement.method,
                                           second.attempt.model, second.attempt.cost_usd))
            if agreement.agrees:
                second.attempt.outcome = AttemptOutcome.VERIFIED
                return first
            log.debug("request %s: tiers 1 and 2 disagree (%s)", call.request_id, agreement.method)
            _outvoted(first)
            call.note_escalation(DISAGREE)
            cloud = await self._cloud(call, second)
            if cloud is None:
                return second
            _outvoted(second)
            return cloud
        self._found(call, Verification(ONE_PASSED if first is not None or second is not None else NEITHER))
        _note(call, first_call, Tier.LOCAL_FAST)
        if first is not None:
            return first
        if second is not None:
            return second
        _note(call, second_call, Tier.LOCAL_HEAVY)
        fallback = _better(second_call.rejected, first_call.rejected)
        cloud = await self._cloud(call, fallback)
        if cloud is not None:
            return cloud
        if fallback is not None:
            return fallback
        raise AllTiersFailed(failure_summary(call.attempts), call.attempts, call.request_id)

    async def _one(self, call: Call, tier: Tier) -> tuple[Buffered | None, _Opinion]:
        """``tier``'s answer if the gate passed it (None otherwise), and the one-tier call it was made in."""
        one = _Opinion(call.request_id, call.request, call.decision, call.options, call.started, [tier])
        try:
            choice = await self.engine.run(one, streaming=False)
        except RouterError as exc:  # it failed, was skipped, or cannot take the request: no answer from it
            log.debug("request %s: tier %d gave no second opinion: %s", call.request_id, tier, exc)
            return None, one
        assert isinstance(choice, Buffered)
        if choice.verdict is not None and choice.verdict.low_quality:
            # The last tier of a plan is never escalated from, so its verdict was only reported: apply it.
            choice.attempt.outcome = AttemptOutcome.REJECTED
            one.rejected = choice
            return None, one
        return choice, one

    async def _cloud(self, call: Call, fallback: Buffered | None) -> Buffered | None:
        """The cloud's answer, when the plan includes the cloud and it answers; else None."""
        if Tier.CLOUD_API not in call.chain:
            return None
        top = Call(call.request_id, call.request, call.decision, call.options, call.started, [Tier.CLOUD_API])
        try:
            choice = await self.engine.run(top, streaming=False)
        except CloudBudgetExceeded:
            if fallback is None:
                call.attempts += top.attempts
                raise
            call.degraded_reason = "budget_exceeded: cloud budget spent"
            choice = None
        except RouterError as exc:
            log.info("request %s: the cloud gave no answer after the second opinion: %s", call.request_id, exc)
            choice = None
        call.attempts += top.attempts
        assert choice is None or isinstance(choice, Buffered)
        return choice


@dataclass
class _Opinion(Call):
    """A one-tier call of the second opinion; ``rejected`` keeps an answer the gate turned down."""

    rejected: Buffered | None = None


def _outvoted(answer: Buffered) -> None:
    answer.attempt.outcome = AttemptOutcome.REJECTED
    answer.attempt.quality = DISAGREE


def _note(call: Call, one: _Opinion, tier: Tier) -> None:
    """Why ``tier`` gave no answer, as the cascade would have said it."""
    if one.rejected is not None:
        call.note_escalation(f"tier{int(tier)}-quality:{one.rejected.attempt.quality}")
    elif one.escalation_reason:
        call.note_escalation(one.escalation_reason)


def _better(*rejected: Buffered | None) -> Buffered | None:
    """The rejected answer to fall back on: the first with something in it (the cascade's rule)."""
    found = [r for r in rejected if r is not None]
    return next((r for r in found if r.result.text.strip() or r.result.tool_calls), found[0] if found else None)
