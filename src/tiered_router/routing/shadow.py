"""Shadow samples: another tier answers a sample of requests, after the client has its answer, and whether the
two agree is stored with the request. Upward (``TIER_SHADOW_RATE``), the next tier up checks an answer;
downward (``TIER_SHADOW_DOWN_RATE``), tier 1 tries a request the classifier sent to tier 2.

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

**Downward.** A request the classifier started on tier 2 (not pinned, not degraded, offering no tools, not
already answered by tier 1) whose tier-2 answer was accepted is sampled with probability ``down_rate``: tier 1
answers it too, as a one-tier run of the engine, local only (never the cloud). Tier 1 would have done if its
answer passes the gate and agrees with tier 2's: a ``shadow_down`` judgement (read back as
``router.shadow_down``), score 1 then and 0 otherwise, with tier 1's model, the method (``gate:REASON`` when
the gate would have rejected tier 1's answer: that is a "no", and is stored) and cost. A failed call of tier 1
stores nothing. Without it, requests that start on tier 2 would never teach the learner they were easy.

The second opinion's comparison (``verify.py``: tiers 1 and 2 both answered a request near the threshold, and
their answers were compared) is stored here too, as a ``verify`` judgement of the same shape (tier 2, its model,
the method, its cost; read back as ``router.verify``). It needs no call of its own: only the write.

A sample runs as a background task on the loop that served the request: it never delays the answer, never
raises into the request path and is not a routing record of its own. At most ``max_in_flight`` run at once;
samples beyond that are dropped (``stats.dropped``). Judgements are written by one writer task per loop, in
batches, on one thread at a time (so a burst of them never holds the threads cloud reservations use); at most
``max_queued`` wait, more are lost (counted). ``drain()`` waits for the samples and the writes (the router's
``aclose`` does, with a timeout).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, fields
from typing import Any

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
MAX_QUEUED = 1000  # judgements waiting to be written; more are lost (counted)
DRAIN_S = 10.0  # how long closing the router waits for the samples still running

Flush = Callable[[], None]


# How a sample ended (``ShadowStats.by_tier``, the ``router_shadow_samples_total`` metric), and the total it adds to.
OUTCOMES = {"agree": "agreed", "disagree": "disagreed", "rejected": "rejected", "over-budget": "over_budget",
            "failed": "failed", "unlogged": "unlogged", "dropped": "dropped"}


@dataclass
class ShadowStats:
    """What became of the samples since start-up: totals, and ``by_tier`` (the tier asked, outcome)."""

    sampled: int = 0  # started
    dropped: int = 0  # not started: max_in_flight were already running
    agreed: int = 0  # stored, agreeing
    disagreed: int = 0  # stored, disagreeing
    over_budget: int = 0  # the budget refused the cloud call
    rejected: int = 0  # the gate would reject the shadow answer: not compared (upward), a "no" (downward)
    failed: int = 0  # the shadow call failed, or the judgement could not be stored
    unlogged: int = 0  # the request's own record was not in the routing log
    by_tier: Counter[tuple[int, str]] = field(default_factory=Counter)

    def count(self, tier: Tier | int, outcome: str) -> None:
        """One sample of ``tier`` ended with ``outcome`` (a key of ``OUTCOMES``)."""
        total = OUTCOMES[outcome]
        setattr(self, total, getattr(self, total) + 1)
        self.by_tier[int(tier), outcome] += 1

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "by_tier"}


class Shadows:
    """Samples answers and has them checked by the next tier up (``rate``) or tier 2's by tier 1 (``down_rate``),
    and stores the judgements of the samples and of the second opinion. A rate of 0 is no sampling that way; no
    ``store`` is off altogether.

    ``rng`` draws the samples (a seeded ``random.Random`` makes them repeatable); ``cloud_enabled`` is whether
    the router may call the cloud at all."""

    def __init__(self, engine: Engine, store: RoutingLogStore | None, rate: float, *, cloud: bool = False,
                 cloud_enabled: bool = True, down_rate: float = 0.0, max_in_flight: int = MAX_IN_FLIGHT,
                 max_queued: int = MAX_QUEUED, rng: random.Random | None = None) -> None:
        self.engine = engine
        self.store = store
        self.rate = rate if store is not None else 0.0
        self.down_rate = down_rate if store is not None else 0.0
        self.cloud = cloud and cloud_enabled
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self.rng = rng or random.Random()
        self.stats = ShadowStats()
        # The second opinion's judgements: stored, unlogged (no such request in the log), failed, lost (queue
        # full, or still queued at shutdown).
        self.verified: Counter[str] = Counter()
        self._samples: set[asyncio.Task[None]] = set()  # running shadow calls
        self._tasks: set[asyncio.Task[None]] = set()  # every background task: the samples and the writers
        self._queues: dict[asyncio.AbstractEventLoop, list[tuple[Judgement, Flush]]] = {}
        self._writers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        if (rate > 0 or down_rate > 0) and store is None:
            log.warning("shadow samples are off: they are stored in the routing log, which is off "
                        "(TIER_SHADOW_RATE=%s, TIER_SHADOW_DOWN_RATE=%s, TIER_LOG_ENABLED=false)", rate, down_rate)
            return
        if rate > 0:
            log.info("shadow samples: %.0f %% of tier-1/2 answers are checked by the next tier up%s", rate * 100,
                     "" if self.cloud else " (not tier 3: TIER_SHADOW_CLOUD is off or the cloud is disabled)")
        if down_rate > 0:
            log.info("downward shadow samples: tier 1 tries %.0f %% of the requests tier 2 answered",
                     down_rate * 100)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def counts(self) -> dict[tuple[int, str], int]:
        """``stats.by_tier``, with the agree and disagree series of every tier that may be asked shown from 0
        (what ``/metrics`` shows as ``router_shadow_samples_total``)."""
        asked = [Tier.LOCAL_FAST] if self.down_rate > 0 else []
        if self.rate > 0:
            asked += [Tier.LOCAL_HEAVY, Tier.CLOUD_API] if self.cloud else [Tier.LOCAL_HEAVY]
        out = {(int(tier), outcome): 0 for tier in asked if tier in self.engine.backends
               for outcome in ("agree", "disagree")}
        out.update(self.stats.by_tier)
        return out

    def submit(self, call: Call, answer: ChatResult, tier: Tier, flush: Flush) -> None:
        """After the answer to ``call`` (``answer``, by ``tier``): store the second opinion's comparison if it
        made one, and maybe sample the answer. ``flush`` writes the router's queued records: the request's own
        record must be in the log before its judgement. Never raises."""
        if self.store is None:
            return
        try:
            verification = call.verification
            if verification is not None and verification.compared:
                self._queue(Judgement(call.request_id, "verify", 1.0 if verification.outcome == "agree" else 0.0,
                                      tier=int(Tier.LOCAL_HEAVY), model=verification.model,
                                      method=verification.method, cost_usd=verification.cost_usd,
                                      time=time.time()), flush)
            if self.rate > 0:
                self._sample(call, answer, self._upper(call, tier), self.rate, flush)
            if self.down_rate > 0:
                self._sample(call, answer, self._lower(call, tier), self.down_rate, flush)
        except Exception:  # a sample must never fail the request it samples
            log.exception("request %s: shadow sample not started", call.request_id)

    def _sample(self, call: Call, answer: ChatResult, other: Tier | None, rate: float, flush: Flush) -> None:
        """With probability ``rate``, have ``other`` (None: not this answer) answer ``call`` too, in the
        background."""
        if other is None or self.rng.random() >= rate:
            return
        if len(self._samples) >= self.max_in_flight:
            self.stats.count(other, "dropped")
            log.debug("request %s: shadow sample dropped, %d already running", call.request_id, len(self._samples))
            return
        self.stats.sampled += 1
        self._start(self._check(call, answer, other, flush), self._samples)

    def _start(self, work: Coroutine[Any, Any, None], *also: set[asyncio.Task[None]]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        for tasks in (self._tasks, *also):
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return task

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

    def _lower(self, call: Call, tier: Tier) -> Tier | None:
        """Tier 1, when this answer is sampled downward: an accepted tier-2 answer to a request the classifier
        started on tier 2 (not pinned, not degraded, no tools, not answered by tier 1 already); else None."""
        if (tier is not Tier.LOCAL_HEAVY or call.decision.tier is not Tier.LOCAL_HEAVY or call.forced is not None
                or call.degraded_reason is not None or call.request.tools
                or Tier.LOCAL_FAST not in self.engine.backends):
            return None
        tried = [a for a in call.attempts if a.outcome != AttemptOutcome.SKIPPED]
        if any(a.tier == Tier.LOCAL_FAST for a in tried):
            return None  # tier 1 has answered this request already (the second opinion)
        final = next((a for a in reversed(tried) if a.tier == tier), None)
        if final is None or final.outcome != AttemptOutcome.ACCEPTED or final.quality not in (None, "ok"):
            return None  # an answer the gate flagged but nothing above could replace: no yardstick
        return Tier.LOCAL_FAST

    async def _check(self, call: Call, answer: ChatResult, other: Tier, flush: Flush) -> None:
        try:
            await self._compare(call, answer, other, flush)
        except Exception:
            self.stats.count(other, "failed")
            log.exception("request %s: shadow sample failed", call.request_id)

    async def _compare(self, call: Call, answer: ChatResult, other: Tier, flush: Flush) -> None:
        """Ask ``other`` and queue the judgement: ``shadow`` when it is the tier above the answer's, where
        agreement is the label; ``shadow_down`` when it is tier 1 below a tier-2 answer, where agreement of an
        answer the gate passes is."""
        one = Call(call.request_id, call.request, call.decision, call.options, call.started, [other])
        try:
            choice = await self.engine.run(one, streaming=False)
        except CloudBudgetExceeded as exc:
            self.stats.count(other, "over-budget")
            log.debug("request %s: no shadow sample from tier %d: %s", call.request_id, other, exc)
            return
        except RouterError as exc:
            self.stats.count(other, "failed")
            log.debug("request %s: no shadow sample from tier %d: %s", call.request_id, other, exc)
            return
        assert isinstance(choice, Buffered)
        cost = sum(a.cost_usd for a in one.attempts)
        rejected = choice.verdict is not None and choice.verdict.low_quality
        if other is Tier.LOCAL_FAST:  # downward: tier 1's rejected answer says it would not have done
            agrees, method = False, f"gate:{choice.attempt.quality}"
            if not rejected:
                agreement = compare(choice.result, answer, call.request, call.options)
                agrees, method = agreement.agrees, agreement.method
            self._queue(Judgement(call.request_id, "shadow_down", 1.0 if agrees else 0.0, tier=int(other),
                                  model=choice.attempt.model, method=method, cost_usd=cost, time=time.time()), flush)
            return
        if rejected:
            self.stats.count(other, "rejected")
            log.debug("request %s: shadow answer of tier %d not compared (%s)", call.request_id, other,
                      choice.attempt.quality)
            return
        agreement = compare(answer, choice.result, call.request, call.options)
        self._queue(Judgement(call.request_id, "shadow", 1.0 if agreement.agrees else 0.0, tier=int(other),
                              model=choice.attempt.model, method=agreement.method, cost_usd=cost,
                              time=time.time()), flush)

    # --- writing the judgements -----------------------------------------------------------------------

    def _queue(self, judgement: Judgement, flush: Flush) -> None:
        """Have ``judgement`` written by this loop's writer (started if none is running)."""
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, [])
        if len(queue) >= self.max_queued:
            self._written(judgement, "lost")
            log.warning("request %s: %s judgement lost: %d are waiting to be written", judgement.request_id,
                        judgement.kind, len(queue))
            return
        queue.append((judgement, flush))
        writer = self._writers.get(loop)
        if writer is None or writer.done():
            writer = self._writers[loop] = self._start(self._write_queued(loop))
            writer.add_done_callback(lambda task: self._writers.pop(loop, None) if self._writers.get(loop) is task
                                     else None)

    async def _write_queued(self, loop: asyncio.AbstractEventLoop) -> None:
        while batch := self._queues.pop(loop, None):
            for flush in dict.fromkeys(f for _, f in batch):  # each router view's queued records, once
                try:
                    flush()  # the requests' records, still queued by a batching recorder, go to the log first
                except Exception:
                    log.exception("routing records not flushed before their judgements")
            judgements = [j for j, _ in batch]
            try:
                results = await asyncio.to_thread(self._write, judgements)
            except asyncio.CancelledError:
                for judgement in judgements:
                    self._written(judgement, "lost")
                raise
            for judgement, result in zip(judgements, results, strict=True):
                self._written(judgement, result)

    def _write(self, judgements: list[Judgement]) -> list[str]:
        """Store each (on a worker thread): ``stored``, ``unlogged`` (its request is not in the log) or
        ``failed``."""
        assert self.store is not None  # nothing is queued without it
        results = []
        for judgement in judgements:
            try:
                results.append("stored" if self.store.add_judgement(judgement) else "unlogged")
            except Exception as exc:
                log.warning("request %s: %s judgement not stored: %s", judgement.request_id, judgement.kind, exc)
                results.append("failed")
        return results

    def _written(self, judgement: Judgement, result: str) -> None:
        """Count what became of a judgement."""
        if result == "unlogged":
            log.warning("request %s: %s judgement not stored: the request is not in the routing log",
                        judgement.request_id, judgement.kind)
        if judgement.kind == "verify":
            self.verified[result] += 1
        elif result == "stored" and (judgement.method or "").startswith("gate:"):
            self.stats.count(judgement.tier or 0, "rejected")  # downward: tier 1's answer would have been rejected
        elif result == "stored":
            self.stats.count(judgement.tier or 0, "agree" if judgement.score >= 0.5 else "disagree")
        else:
            self.stats.count(judgement.tier or 0, "unlogged" if result == "unlogged" else "failed")

    async def drain(self, timeout: float | None = DRAIN_S) -> bool:
        """Wait for the samples and writes running on this loop; True when all ended. After ``timeout``
        seconds the rest are cancelled (a cancelled cloud call's reservation then expires on its own)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while mine := [t for t in self._tasks if t.get_loop() is loop and not t.done()]:
            # A sample that ends starts this loop's writer: wait again until nothing is left.
            left_s = None if deadline is None else max(0.0, deadline - loop.time())
            _, left = await asyncio.wait(mine, timeout=left_s)
            if not left:
                continue
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            for judgement, _ in self._queues.pop(loop, []):
                self._written(judgement, "lost")
            log.warning("%d shadow samples or judgement writes cancelled at shutdown", len(left))
            return False
        return True
