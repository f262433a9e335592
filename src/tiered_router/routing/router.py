"""The library's front: validate → classify → plan → run the engine → hand the outcome to the recorder.

``TieredModelRouter`` holds the parts and walks one request through them, in one direction: the
classifier decides a starting tier, ``plan`` lists the tiers to try, ``Engine.run`` tries them (budget,
backends, gate, breakers), and the recorder is given the outcome. None of those parts calls back here.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from ..backends import Backend, HttpPool, backend_for_tier
from ..budget import BudgetTracker
from ..chat import ChatRequest, ChatResult, Message
from ..classify import Classifier, Decision, HeuristicClassifier, Thresholds, forced_decision
from ..config import Settings, load_settings
from ..errors import CloudUnavailable, InvalidRequest, LogDisabled, RouterError
from ..formats.openai import as_messages, request_from_params
from ..observe.otel import otel_sink
from ..observe.record import RecordSink, log_sink
from ..observe.store import Judgement, RoutingLogStore, open_log_store, parse_score
from ..options import RouteOptions, new_request_id
from ..tiers import Tier
from .breakers import Breakers
from .engine import Buffered, Call, Engine, EngineSettings, Live
from .learning import LiveModel
from .recorder import Outcome, Recorder, SinkRecorder
from .results import AttemptOutcome, RoutedResponse
from .routed_stream import RoutedStream
from .shadow import Shadows
from .spend import Spend
from .tool_memory import ToolCallTiers
from .verify import Verifier

T = TypeVar("T")


_TIERS = tuple(Tier)  # iterating the enum class itself goes through a generator each time
Context = RouteOptions | Mapping[str, Any] | None
Task = str | Sequence[Mapping[str, Any] | Message] | ChatRequest


class TieredModelRouter:
    """Routes each request to the cheapest tier that does it well.

    ``backends`` replaces the backends built from settings (tests, custom providers);
    ``pool`` carries the shared aiohttp session (one per event loop);
    ``budget`` replaces the BudgetTracker built from settings;
    ``classifier`` replaces the heuristic classifier (anything with ``decide(messages, options)``);
    ``recorder`` receives every finished request. By default a ``SinkRecorder`` gives each routing record
    to ``sinks`` (default: one JSON log line per request) and to the routing log in ``settings.db``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        backends: Mapping[Tier, Backend] | None = None,
        pool: HttpPool | None = None,
        budget: BudgetTracker | None = None,
        sinks: Iterable[RecordSink] | None = None,
        recorder: Recorder | None = None,
        classifier: Classifier | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings or load_settings()
        self.pool = pool or HttpPool()
        self._clock = clock
        self.backends: dict[Tier, Backend] = dict(backends) if backends else {
            tier: backend_for_tier(self.settings, tier, self.pool) for tier in Tier
        }
        self.cloud_enabled = cloud_available(self.settings, self.backends.get(Tier.CLOUD_API))
        self.breakers = Breakers(self.settings.cooldown_failures, self.settings.cooldown_s,
                                 self.settings.auth_cooldown_s)
        self.spend = Spend(self.settings, budget)
        self.engine = Engine(self.backends, self.breakers, self.spend, EngineSettings.from_settings(self.settings),
                             clock)
        # Cheap to build (no I/O until the first record); it writes on its own thread.
        self.log_store: RoutingLogStore | None = open_log_store(self.settings)
        heuristic = HeuristicClassifier.from_settings(self.settings)
        # The default classifier learns: blended with the live model of the routing log, when there is one.
        self.live_model = LiveModel(self.log_store, heuristic) if classifier is None and self.log_store else None
        self.classifier: Classifier = classifier or (self.live_model.load() if self.live_model else heuristic)
        self.recorder: Recorder = recorder or SinkRecorder(self._default_sinks(sinks),
                                                           store_content=self.settings.log_content,
                                                           store_features=self.settings.log_features)
        self.tool_tiers = ToolCallTiers()
        self.verifier = Verifier(self.engine, self.settings.verify)
        self.shadows = Shadows(self.engine, self.log_store, self.settings.shadow_rate, cloud=self.settings.shadow_cloud,
                               cloud_enabled=self.cloud_enabled, down_rate=self.settings.shadow_down_rate)
        self._sync: _LoopThread | None = None

    def _default_sinks(self, sinks: Iterable[RecordSink] | None) -> list[RecordSink]:
        out: list[RecordSink] = list(sinks) if sinks is not None else [log_sink]
        if self.log_store is not None:
            out.append(self.log_store.sink)
        tracing = otel_sink()  # None unless opentelemetry-sdk is installed
        if tracing is not None:
            out.append(tracing)
        return out

    def using(self, *, recorder: Recorder) -> TieredModelRouter:
        """The same router (backends, engine, budget, log) handing its outcomes to ``recorder`` instead.
        The server uses this to write records in batches after the answers, without changing the router
        it was given."""
        other = copy.copy(self)
        other.recorder = recorder
        other._sync = None
        return other

    @property
    def thresholds(self) -> Thresholds:
        """The heuristic classifier's operating point (the defaults for any other classifier)."""
        return getattr(self.classifier, "thresholds", None) or Thresholds()

    @property
    def records(self) -> Sequence[dict[str, Any]]:
        """The latest routing records, when the recorder keeps them (the default one keeps 1000)."""
        return getattr(self.recorder, "records", ())

    @property
    def budget(self) -> BudgetTracker:
        """The cloud budget ledger (opened on first use). Raises LedgerUnavailable when it cannot open."""
        return self.spend.tracker

    # --- the request path ---------------------------------------------------------------

    async def complete(self, messages_or_text: Task, context: Context = None,
                       **params: Any) -> RoutedResponse:
        """Route one request and return the accepted answer with how it was reached.

        ``messages_or_text`` is a prompt, OpenAI-style messages (tool calls, tool results and image parts
        included) or a ``ChatRequest``; ``params`` are OpenAI's request fields (``max_tokens``, ``tools``,
        ``tool_choice``, ``response_format``, ...)."""
        call = self._new_call(messages_or_text, context, params)
        choice = await self._run(call, streaming=False)
        assert isinstance(choice, Buffered)
        return self._answered(call, choice.result, choice.attempt.tier,
                              choice.verdict.reason if choice.verdict else None)

    async def stream(self, messages_or_text: Task, context: Context = None,
                     **params: Any) -> RoutedStream:
        """Route one request as a stream. Returns once the answering tier is chosen, before any byte.

        A tier that may still escalate holds back the head of its stream and gates it (``routing/streams.py``);
        a request for JSON is answered whole and replayed; the last tier of the plan streams live. Iterate the
        result for chunks; ``.response`` is set when it ends.
        """
        call = self._new_call(messages_or_text, context, params)
        choice = await self._run(call, streaming=True)
        return RoutedStream(call, choice, self._clock, partial(self._answered, call),
                            lambda error: self._record(call, None, error))

    def _answered(self, call: Call, result: ChatResult, tier: Tier, quality: str | None) -> RoutedResponse:
        """The end of a request that got an answer, whole or streamed: its response, its record, and maybe a
        shadow sample of it (in the background, after the client has it)."""
        response = self._response(call, tier, result, quality)
        self._record(call, response, None)
        self.shadows.submit(call, result, tier, self.recorder.flush)
        return response

    async def _run(self, call: Call, streaming: bool) -> Buffered | Live:
        """Run the engine (or the second opinion on it); a request that fails still leaves its record."""
        try:
            if self.verifier.applies(call, self.thresholds.heavy):
                return await self.verifier.run(call)  # streamed too: the chosen answer is replayed
            return await self.engine.run(call, streaming)
        except RouterError as exc:
            exc.request_id = call.request_id  # type: ignore[attr-defined]  # the error's answer carries it
            self._record(call, None, exc)
            raise

    def _new_call(self, task: Task, context: Context,
                  params: Mapping[str, Any]) -> Call:
        started = self._clock()
        options = RouteOptions.coerce(context)
        request = _request(task, params)
        if request.tools:
            options = replace(options, tool_count=len(request.tools))
        decision = self.decide(request.messages, options)
        forced = decision.tier if options.tier is not None else None  # after the allow_cloud cap
        return Call(options.request_id or new_request_id(), request, decision, options, started,
                    self.plan(decision, forced, options.allow_cloud), forced)

    def decide(self, messages: Sequence[Message], options: RouteOptions) -> Decision:
        """The starting tier: the caller's, unscored, when forced; else the classifier's, except that a turn
        bringing tool results back starts on the tier that made the calls."""
        if options.tier is not None:
            return forced_decision(options.tier, options.allow_cloud)
        if not self.cloud_enabled and options.allow_cloud:
            options = replace(options, allow_cloud=False)
        try:
            decision = self.classifier.decide(messages, options)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        caller = self.tool_tiers.tier_for(messages)
        if caller is None:
            return decision
        if caller is Tier.CLOUD_API and not options.allow_cloud:
            caller = Tier.LOCAL_HEAVY
        return Decision(caller, decision.score, (*decision.reasons, f"tool-caller:tier-{int(caller)}"))

    def plan(self, decision: Decision, forced: Tier | None, allow_cloud: bool = True) -> list[Tier]:
        """The tiers to try, in order: a forced tier alone, else the decided tier and those above it."""
        if forced is not None:
            if forced is Tier.CLOUD_API and not self.cloud_enabled:
                raise CloudUnavailable(
                    "the cloud tier was requested but is disabled (no API key, or TIER_CLOUD_ENABLED=0)"
                )
            return [forced]
        top = Tier.CLOUD_API if (self.cloud_enabled and allow_cloud) else Tier.LOCAL_HEAVY
        return [t for t in _TIERS if decision.tier <= t <= top] or [top]

    def _response(self, call: Call, tier: Tier, result: ChatResult, quality: str | None) -> RoutedResponse:
        final = next(a for a in reversed(call.attempts) if a.tier == tier and a.outcome != AttemptOutcome.SKIPPED)
        latency_ms = (self._clock() - call.started) * 1000
        escalated = tier > call.chain[0]  # a second opinion may answer from below the starting tier
        return RoutedResponse(
            text=result.text, tier=tier, model=final.model, provider=final.provider,
            escalated=escalated, attempts=call.attempts, usage=final.usage,
            cost_usd=sum(a.cost_usd for a in call.attempts), latency_ms=latency_ms, request_id=call.request_id,
            finish_reason=result.finish_reason, classified_tier=call.decision.tier, score=call.decision.score,
            reasons=call.decision.reasons, forced_tier=call.forced,
            escalation_reason=call.escalation_reason if escalated else None,
            degraded=call.degraded_reason is not None, degraded_reason=call.degraded_reason, quality=quality,
            overhead_ms=max(0.0, latency_ms - sum(a.latency_ms for a in call.attempts)),
            tool_calls=result.tool_calls, thinking=result.thinking, thinking_signature=result.thinking_signature,
            logprobs=result.logprobs if call.request.logprobs else None,
        )

    def _record(self, call: Call, response: RoutedResponse | None, error: RouterError | None) -> None:
        if response is not None and response.tool_calls:
            self.tool_tiers.remember(response.tier, response.tool_calls)
        latency_ms = response.latency_ms if response is not None else (self._clock() - call.started) * 1000
        self.recorder.record(Outcome(call, response, error, latency_ms, time.time()))

    # --- health, lifecycle, sync wrappers ----------------------------------------------------

    async def health(self) -> dict[str, dict[str, Any]]:
        tiers = list(self.backends.items())
        results = await asyncio.gather(*(b.health() for _, b in tiers))
        return {
            tier.slug: {"model": b.name, "healthy": ok, "detail": detail,
                        "enabled": tier is not Tier.CLOUD_API or self.cloud_enabled}
            for (tier, b), (ok, detail) in zip(tiers, results, strict=True)
        }

    async def readiness(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        """(whether any tier can answer now, each tier's state). A tier's ``state`` is ``ok``, ``down`` (its
        server does not answer), ``disabled``, ``rate-limited``, ``cooling-down`` or ``auth-failed`` (with
        ``seconds_left``), or, for the cloud, ``ledger-down`` (no cloud call while the budget is unreadable)."""
        tiers = await self.health()
        for tier, backend in self.backends.items():
            entry = tiers[tier.slug]
            skipped = self.breakers.state(backend.name)
            if not entry["enabled"]:
                entry["state"] = "disabled"
            elif skipped.state != "ok":
                entry["state"], entry["seconds_left"] = skipped.state, skipped.seconds_left
            elif not entry["healthy"]:
                entry["state"] = "down"
            elif tier is Tier.CLOUD_API and self.spend.ledger_error is not None:
                entry["state"] = "ledger-down"
            else:
                entry["state"] = "ok"
        return any(t["state"] == "ok" for t in tiers.values()), tiers

    # --- what is learned after the answer ----------------------------------------------------

    async def feedback(self, request_id: str, score: float | str, comment: str | None = None) -> bool:
        """Record how good the answer to ``request_id`` was: ``"good"``, ``"bad"`` or a score in [0, 1] (1 is
        good), with an optional comment. It is stored with the request in the routing log, where
        ``tiered-router learn`` reads it; sending feedback again replaces it. False when the log holds no
        request with that id. Raises InvalidRequest for a bad score, LogDisabled when the routing log is
        off, LogStoreError when its database cannot be used."""
        try:
            value = parse_score(score)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        if self.log_store is None:
            raise LogDisabled("feedback is kept in the routing log, which is off (TIER_LOG_ENABLED=false)")
        self.recorder.flush()  # the request's own record may still be queued
        return await asyncio.to_thread(self.log_store.add_judgement,
                                       Judgement(request_id, "feedback", value, comment or None))

    def refresh_model(self) -> bool:
        """Use the live learned model of the routing log if it changed (another process promoted or rolled one
        back). True when the classifier was swapped. Blocking (a database read): servers run it on a thread."""
        fresh = self.live_model.refresh(self.classifier) if self.live_model else None
        if fresh is None:
            return False
        self.classifier = fresh
        return True

    def feedback_sync(self, request_id: str, score: float | str, comment: str | None = None) -> bool:
        """Blocking ``feedback``."""
        return self._run_sync(self.feedback(request_id, score, comment))

    async def aclose(self) -> None:
        await self.shadows.drain()  # their judgements go into the log closed below
        self.recorder.flush()
        await self.pool.aclose()
        if self.log_store is not None:
            await asyncio.to_thread(self.log_store.close)  # flushes: a clean shutdown loses no record

    def complete_sync(self, messages_or_text: Task, context: Context = None,
                      **params: Any) -> RoutedResponse:
        """Blocking ``complete``, for scripts and code without an event loop."""
        return self._run_sync(self.complete(messages_or_text, context, **params))

    def health_sync(self) -> dict[str, dict[str, Any]]:
        return self._run_sync(self.health())

    def _run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._sync is None:
            self._sync = _LoopThread()
        return self._sync.run(coro)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.run(self.aclose())
            self._sync.stop()
            self._sync = None
        self.recorder.flush()
        self.pool.close_idle()
        self.spend.close()
        if self.log_store is not None:
            self.log_store.close()

    def __enter__(self) -> TieredModelRouter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> TieredModelRouter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        self.spend.close()


class _LoopThread:
    """One event loop on a daemon thread, so sync calls reuse pooled connections across calls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tiered-router-sync", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def cloud_available(settings: Settings, cloud: Backend | None) -> bool:
    """Whether the cloud tier may be used: enabled, and with a key. Says why not in the log."""
    import logging

    log = logging.getLogger("tiered_router")
    if not settings.cloud_enabled or cloud is None:
        log.info("cloud tier disabled by configuration (TIER_CLOUD_ENABLED)")
        return False
    if not cloud.has_key:
        log.warning(
            "cloud tier disabled: no API key for %s (set TIER_CLOUD_API_KEY or the provider's key variable)",
            cloud.name,
        )
        return False
    return True


def _request(task: Task, params: Mapping[str, Any]) -> ChatRequest:
    if isinstance(task, ChatRequest):
        if params:
            raise InvalidRequest("pass parameters inside the ChatRequest, not beside it")
        request = task
    else:
        request = request_from_params(as_messages(task), params)
    if not request.messages:
        raise InvalidRequest("messages must not be empty")
    return request
