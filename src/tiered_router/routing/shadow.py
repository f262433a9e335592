"""Shadow samples (``TIER_SHADOW_RATE``): the next tier up answers a sample of requests, after the client has its
answer, and whether the two agree is stored with the request.

A request whose answer was accepted from tier 1 or 2 (not a pinned tier, not a degraded answer, not an error)
is sampled with probability ``rate``. Its request goes to the next tier up, as a one-tier run of the engine:
the same skips, breakers and budget as any call, no escalation. Tier 3 is asked only with ``cloud``
(``TIER_SHADOW_CLOUD``), only for requests that allow the cloud, and is then reserved and charged like any
cloud call; when the budget refuses, the sample is dropped. The two answers are compared (``compare.compare``)
and a ``shadow`` judgement goes into the routing log: score 1 when they agree, 0 when not, with the tier,
model, method and cost of the shadow answer (read back as ``router.shadow``).

Not compared (counted, nothing stored): a shadow answer the gate would reject (a refusal or an empty answer
from the upper tier says nothing about the lower tier's), and a failed shadow call. A request that already
has an answer from the next tier up (the second opinion, ``verify.py``) is not sampled.

A sample runs as a background task on the loop that served the request: it never delays the answer, never
raises into the request path and is not a routing record of its own. At most ``max_in_flight`` run at once;
samples beyond that are dropped (``stats.dropped``). ``drain()`` waits for the pending ones (the router's
``aclose`` does, with a timeout).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, fields

from ..chat import ChatResult
from ..errors import CloudBudgetExceeded, RouterError
from ..observe.store import Judgement, RoutingLogStore
from ..tiers import Tier
from .call import Buffered, Call
from .compare import compare
from .engine import Engine
from .results import AttemptOutcome

log = logging.getLogger("tiered_router")

MAX_IN_FLIGHT = 4  # shadow calls running at once; samples beyond are dropped, not queued
DRAIN_S = 10.0  # how long closing the router waits for the samples still running


@dataclass
class ShadowStats:
    """What became of the samples since start-up."""

    sampled: int = 0  # started
    dropped: int = 0  # not started: max_in_flight were already running
    agreed: int = 0  # stored, agreeing
    disagreed: int = 0  # stored, disagreeing
    over_budget: int = 0  # the budget refused the cloud call
    rejected: int = 0  # the gate would reject the shadow answer: not compared
    failed: int = 0  # the shadow call failed, or the judgement could not be stored
    unlogged: int = 0  # the request's own record was not in the routing log

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Shadows:
    """Samples answers and has them checked by the next tier up. ``rate`` 0, or no ``store``, is off.

    ``rng`` draws the samples (a seeded ``random.Random`` makes them repeatable); ``cloud_enabled`` is whether
    the router may call the cloud at all."""

    def __init__(self, engine: Engine, store: RoutingLogStore | None, rate: float, *, cloud: bool = False,
                 cloud_enabled: bool = True, max_in_flight: int = MAX_IN_FLIGHT,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.store = store
        self.rate = rate if store is not None else 0.0
        self.cloud = cloud and cloud_enabled
        self.max_in_flight = max_in_flight
        self.rng = rng or random.Random()
        self.stats = ShadowStats()
        self._tasks: set[asyncio.Task[None]] = set()
        if rate > 0 and store is None:
            log.warning("shadow samples are off: they are stored in the routing log, which is off "
                        "(TIER_SHADOW_RATE=%s, TIER_LOG_ENABLED=false)", rate)
        elif rate > 0:
            log.info("shadow samples: %.0f %% of tier-1/2 answers are checked by the next tier up%s", rate * 100,
                     "" if self.cloud else " (not tier 3: TIER_SHADOW_CLOUD is off or the cloud is disabled)")

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, call: Call, answer: ChatResult, tier: Tier, flush: Callable[[], None]) -> None:
        """Maybe sample ``call``, answered with ``answer`` by ``tier``. ``flush`` writes the router's queued
        records: the request's own record must be in the log before its judgement. Never raises."""
        if self.rate <= 0:
            return
        try:
            upper = self._upper(call, tier)
            if upper is None or self.rng.random() >= self.rate:
                return
            if len(self._tasks) >= self.max_in_flight:
                self.stats.dropped += 1
                log.debug("request %s: shadow sample dropped, %d already running", call.request_id,
                          len(self._tasks))
                return
            self.stats.sampled += 1
            task = asyncio.get_running_loop().create_task(self._check(call, answer, upper, flush))
        except Exception:  # a sample must never fail the request it samples
            log.exception("request %s: shadow sample not started", call.request_id)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _upper(self, call: Call, tier: Tier) -> Tier | None:
        """The tier to ask, or None when this answer is not sampled."""
        if call.forced is not None or call.degraded_reason is not None or tier not in (Tier.LOCAL_FAST,
                                                                                        Tier.LOCAL_HEAVY):
            return None
        upper = Tier(int(tier) + 1)
        if upper is Tier.CLOUD_API and not (self.cloud and call.options.allow_cloud):
            return None
        if upper not in self.engine.backends:
            return None
        if any(a.tier == upper and a.outcome != AttemptOutcome.SKIPPED for a in call.attempts):
            return None  # it has answered this request already (the second opinion)
        return upper

    async def _check(self, call: Call, answer: ChatResult, upper: Tier, flush: Callable[[], None]) -> None:
        try:
            await self._compare(call, answer, upper, flush)
        except Exception:
            self.stats.failed += 1
            log.exception("request %s: shadow sample failed", call.request_id)

    async def _compare(self, call: Call, answer: ChatResult, upper: Tier, flush: Callable[[], None]) -> None:
        one = Call(call.request_id, call.request, call.decision, call.options, call.started, [upper])
        try:
            choice = await self.engine.run(one, streaming=False)
        except CloudBudgetExceeded as exc:
            self.stats.over_budget += 1
            log.debug("request %s: no shadow sample from tier %d: %s", call.request_id, upper, exc)
            return
        except RouterError as exc:
            self.stats.failed += 1
            log.debug("request %s: no shadow sample from tier %d: %s", call.request_id, upper, exc)
            return
        assert isinstance(choice, Buffered)
        if choice.verdict is not None and choice.verdict.low_quality:
            self.stats.rejected += 1
            log.debug("request %s: shadow answer of tier %d not compared (%s)", call.request_id, upper,
                      choice.verdict.reason)
            return
        agreement = compare(answer, choice.result, call.request, call.options)
        judgement = Judgement(call.request_id, "shadow", 1.0 if agreement.agrees else 0.0, tier=int(upper),
                              model=choice.attempt.model, method=agreement.method,
                              cost_usd=sum(a.cost_usd for a in one.attempts))
        flush()  # the request's record, still queued by a batching recorder, goes to the log first
        assert self.store is not None  # sampling is off without it
        if not await asyncio.to_thread(self.store.add_judgement, judgement):
            self.stats.unlogged += 1
            log.warning("request %s: shadow judgement not stored: the request is not in the routing log",
                        call.request_id)
            return
        if agreement.agrees:
            self.stats.agreed += 1
        else:
            self.stats.disagreed += 1

    async def drain(self, timeout: float | None = DRAIN_S) -> bool:
        """Wait for the samples running on this loop; True when all ended. After ``timeout`` seconds the rest
        are cancelled (a cancelled cloud call's reservation then expires on its own)."""
        loop = asyncio.get_running_loop()
        mine = [t for t in self._tasks if t.get_loop() is loop]
        if not mine:
            return True
        _, left = await asyncio.wait(mine, timeout=timeout)
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)
            log.warning("%d shadow samples cancelled at shutdown", len(left))
        return not left
