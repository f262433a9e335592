"""The request path: classify → (budget) → call a tier → quality gate → escalate or settle → record.

``TieredModelRouter`` is the public face. It plans which tiers to try; ``cascade.Cascade`` walks
them; ``spend.Spend`` holds the budget; ``observe.record`` writes what happened.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .backends import Backend, ChatRequest, HttpPool, StreamChunk, backend_for_tier
from .breaker import Breakers
from .budget import BudgetTracker
from .cascade import Buffered, Call, Cascade, Live
from .classify import Decision, Thresholds, classify
from .config import Settings, load_settings
from .errors import BackendError, CloudUnavailable, RouterError, StreamBroken
from .messages import Message, as_messages
from .observe.otel import otel_sink
from .observe.record import RecordSink, build_record, log_sink
from .observe.store import RoutingLogStore, open_log_store
from .result import RoutedResponse
from .spend import Spend
from .tiers import Tier

log = logging.getLogger("tiered_router")
T = TypeVar("T")

# Parameters the router understands; anything else is passed to OpenAI-compatible backends as is.
_KNOWN_PARAMS = ("max_tokens", "temperature", "top_p", "stop", "response_format")
_REPLAY_CHUNK_CHARS = 32


class InvalidRequest(RouterError, ValueError):
    code = "invalid_request"


class TieredModelRouter:
    """Routes each request to the cheapest tier that does it well.

    ``backends`` replaces the backends built from settings (tests, custom providers);
    ``pool`` carries the shared aiohttp session (one per event loop);
    ``budget`` replaces the BudgetTracker built from settings;
    ``sinks`` receive every routing record (default: one JSON log line per request); the routing log
    (``log_store``, in ``settings.db``) is added to them when ``settings.log_enabled``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        backends: Mapping[Tier, Backend] | None = None,
        pool: HttpPool | None = None,
        budget: BudgetTracker | None = None,
        sinks: Iterable[RecordSink] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings or load_settings()
        self.pool = pool or HttpPool()
        self._clock = clock
        self.backends: dict[Tier, Backend] = dict(backends) if backends else {
            tier: backend_for_tier(self.settings, tier, self.pool) for tier in Tier
        }
        self.cloud_enabled = self._check_cloud()
        self.thresholds = _thresholds(self.settings)
        self.breakers = Breakers(self.settings.cooldown_failures, self.settings.cooldown_s)
        self.spend = Spend(self.settings, budget)
        self.cascade = Cascade(self, clock)
        self.sinks: list[RecordSink] = list(sinks) if sinks is not None else [log_sink]
        # Cheap to build (no I/O until the first record); it writes on its own thread.
        self.log_store: RoutingLogStore | None = open_log_store(self.settings)
        if self.log_store is not None:
            self.sinks.append(self.log_store.sink)
        tracing = otel_sink()  # None unless opentelemetry-sdk is installed
        if tracing is not None:
            self.sinks.append(tracing)
        self.records: deque[dict[str, Any]] = deque(maxlen=1000)
        self._sync: _LoopThread | None = None

    def _check_cloud(self) -> bool:
        cloud = self.backends.get(Tier.CLOUD_API)
        if not self.settings.cloud_enabled or cloud is None:
            log.info("cloud tier disabled by configuration (TIER_CLOUD_ENABLED)")
            return False
        if cloud._api_key is None:
            log.warning(
                "cloud tier disabled: no API key for %s (set TIER_CLOUD_API_KEY or the provider's key variable)",
                cloud.name,
            )
            return False
        return True

    @property
    def budget(self) -> BudgetTracker:
        """The cloud budget ledger (opened on first use). Raises LedgerUnavailable when it cannot open."""
        return self.spend.tracker

    # --- the request path ---------------------------------------------------------------

    async def complete(
        self, messages_or_text: str | Sequence[Mapping[str, Any]], context: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> RoutedResponse:
        """Route one request and return the accepted answer with how it was reached."""
        call = self._new_call(messages_or_text, context, params)
        choice = await self._select(call, streaming=False)
        assert isinstance(choice, Buffered)
        response = self._response(call, choice.attempt.tier, choice.result.text, choice.result.finish_reason,
                                  choice.verdict.reason if choice.verdict else None)
        if call.context.get("defer_record"):
            # The server writes the record after the answer has gone out, off the latency path.
            response.write_record = functools.partial(self._record, call, response, None, time.time())
        else:
            self._record(call, response, None)
        return response

    async def stream(
        self, messages_or_text: str | Sequence[Mapping[str, Any]], context: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> RoutedStream:
        """Route one request as a stream. Returns once the answering tier is chosen, before any byte.

        Tiers that may still escalate are buffered and gated, then replayed; the last tier of the
        plan streams live. Iterate the result for chunks; ``.response`` is set when it ends.
        """
        call = self._new_call(messages_or_text, context, params)
        return RoutedStream(self, call, await self._select(call, streaming=True))

    async def _select(self, call: Call, streaming: bool) -> Buffered | Live:
        """Run the cascade; a request that fails still leaves its record."""
        try:
            return await self.cascade.select(call, streaming)
        except RouterError as exc:
            self._record(call, None, exc)
            raise

    def _new_call(self, task: str | Sequence[Mapping[str, Any]], context: Mapping[str, Any] | None,
                  params: Mapping[str, Any]) -> Call:
        started = self._clock()
        ctx = dict(context or {})
        messages = _validated_messages(task)
        request = _chat_request(messages, params)
        decision = self._classify(messages, ctx)
        forced = decision.tier if ctx.get("tier") is not None else None
        call = Call(str(ctx.get("request_id") or new_request_id()), messages, request, decision, forced, ctx,
                    started)
        call.chain = self.plan(decision, forced, ctx.get("allow_cloud", True) is not False)
        return call

    def _classify(self, messages: list[Message], context: dict[str, Any]) -> Decision:
        if context.get("tier") is not None:
            return _forced_decision(context)  # no need to score what the caller already decided
        if not self.cloud_enabled:
            context.setdefault("allow_cloud", False)
        try:
            return classify(messages, context, self.thresholds)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None

    def plan(self, decision: Decision, forced: Tier | None, allow_cloud: bool = True) -> list[Tier]:
        """The tiers to try, in order: a forced tier alone, else the decided tier and those above it."""
        if forced is not None:
            if forced is Tier.CLOUD_API and not self.cloud_enabled:
                raise CloudUnavailable(
                    "the cloud tier was requested but is disabled (no API key, or TIER_CLOUD_ENABLED=0)"
                )
            return [forced]
        top = Tier.CLOUD_API if (self.cloud_enabled and allow_cloud) else Tier.LOCAL_HEAVY
        return [t for t in Tier if decision.tier <= t <= top] or [top]

    def _response(self, call: Call, tier: Tier, text: str, finish_reason: str, quality: str | None) -> RoutedResponse:
        final = next(a for a in reversed(call.attempts) if a.tier == tier and a.outcome != "skipped")
        latency_ms = (self._clock() - call.started) * 1000
        return RoutedResponse(
            text=text, tier=tier, model=final.model, provider=final.provider,
            escalated=tier != call.chain[0], attempts=call.attempts, usage=final.usage,
            cost_usd=sum(a.cost_usd for a in call.attempts), latency_ms=latency_ms, request_id=call.request_id,
            finish_reason=finish_reason, classified_tier=call.decision.tier, score=call.decision.score,
            reasons=call.decision.reasons, forced_tier=call.forced,
            escalation_reason=call.escalation_reason if tier != call.chain[0] else None,
            degraded=call.degraded_reason is not None, degraded_reason=call.degraded_reason, quality=quality,
            overhead_ms=max(0.0, latency_ms - sum(a.latency_ms for a in call.attempts)),
        )

    def _record(self, call: Call, response: RoutedResponse | None, error: RouterError | None,
                finished_at: float | None = None) -> None:
        latency_ms = response.latency_ms if response is not None else (self._clock() - call.started) * 1000
        record = build_record(
            response=response, error=error, decision=call.decision, forced=call.forced, attempts=call.attempts,
            request_id=call.request_id, latency_ms=latency_ms,
            entry_point=str(call.context.get("entry_point", "library")), messages=call.messages,
            answer=response.text if response else None, store_content=self.settings.log_content,
            finished_at=finished_at,
        )
        self.records.append(record)
        for sink in self.sinks:
            try:
                sink(record)
            except Exception:  # a broken sink must never fail the request it describes
                log.exception("routing record sink failed")

    # --- health, lifecycle, sync wrappers ----------------------------------------------------

    async def health(self) -> dict[str, dict[str, Any]]:
        tiers = list(self.backends.items())
        results = await asyncio.gather(*(b.health() for _, b in tiers))
        return {
            tier.slug: {"model": b.name, "healthy": ok, "detail": detail,
                        "enabled": tier is not Tier.CLOUD_API or self.cloud_enabled}
            for (tier, b), (ok, detail) in zip(tiers, results, strict=True)
        }

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self.log_store is not None:
            await asyncio.to_thread(self.log_store.close)  # flushes: a clean shutdown loses no record

    def complete_sync(self, messages_or_text: str | Sequence[Mapping[str, Any]],
                      context: Mapping[str, Any] | None = None, **params: Any) -> RoutedResponse:
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


class RoutedStream:
    """A chosen answer as a stream of chunks. ``tier``/``model`` are known before the first chunk."""

    def __init__(self, router: TieredModelRouter, call: Call, choice: Buffered | Live) -> None:
        self._router = router
        self._call = call
        self._choice = choice
        self.request_id = call.request_id
        self.tier: Tier = choice.attempt.tier
        self.model = choice.attempt.model
        self.provider = choice.attempt.provider
        self.attempts = call.attempts
        self.response: RoutedResponse | None = None

    @property
    def escalated(self) -> bool:
        return self.tier != self._call.chain[0]

    @property
    def overhead_ms(self) -> float:
        """Time spent in the router so far, outside upstream calls."""
        now = self._router._clock()
        upstream = sum(a.latency_ms for a in self.attempts)
        if isinstance(self._choice, Live) and self._choice.attempt.outcome == "streaming":
            upstream += (now - self._choice.t0) * 1000
        return max(0.0, (now - self._call.started) * 1000 - upstream)

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        if isinstance(self._choice, Buffered):
            return self._replay(self._choice)
        return self._live(self._choice)

    async def _replay(self, choice: Buffered) -> AsyncIterator[StreamChunk]:
        text = choice.result.text
        for start in range(0, len(text), _REPLAY_CHUNK_CHARS):
            yield StreamChunk(text=text[start:start + _REPLAY_CHUNK_CHARS])
        self._finish(text, choice.result.finish_reason, choice.verdict.reason if choice.verdict else None)
        yield StreamChunk(finish_reason=choice.result.finish_reason, usage=choice.result.usage)

    async def _live(self, live: Live) -> AsyncIterator[StreamChunk]:
        router, attempt = self._router, live.attempt
        parts: list[str] = []
        usage = None
        finish = "stop"
        settled = False
        try:
            chunk: StreamChunk | None = live.first
            while chunk is not None:
                parts.append(chunk.text)
                usage = chunk.usage or usage
                finish = chunk.finish_reason or finish
                if chunk.text or chunk.finish_reason:
                    yield StreamChunk(text=chunk.text, finish_reason=chunk.finish_reason)
                chunk = await anext(live.rest, None)
            cost, charged = await router.spend.settle(live.hold, usage, "".join(parts))
            settled = True
            attempt.outcome, attempt.usage, attempt.cost_usd = "accepted", charged, cost
            attempt.finish_reason = finish
            attempt.latency_ms = (router._clock() - live.t0) * 1000
            self._finish("".join(parts), finish, None)
            yield StreamChunk(usage=charged)
        except BackendError as exc:
            # Bytes already reached the client: charge what was consumed, and say the answer broke.
            cost, charged = await router.spend.settle(live.hold, None, "".join(parts))
            settled = True
            attempt.outcome, attempt.usage, attempt.cost_usd = "error", charged, cost
            attempt.error_kind, attempt.error = exc.kind.value, exc.message[:300]
            attempt.latency_ms = (router._clock() - live.t0) * 1000
            router.breakers.failure(live.backend.name, exc)
            error = StreamBroken(f"the answer from {live.backend.name} broke off mid-stream: {exc.message}",
                                 self.request_id)
            router._record(self._call, None, error)
            raise error from None
        finally:
            if not settled:  # the consumer went away: charge for what was produced so far
                await live.rest.aclose()
                cost, charged = await router.spend.settle(live.hold, None, "".join(parts))
                attempt.outcome, attempt.usage, attempt.cost_usd = "cancelled", charged, cost
                attempt.latency_ms = (router._clock() - live.t0) * 1000
                router._record(self._call, None, RouterError("client went away mid-stream"))

    def _finish(self, text: str, finish_reason: str, quality: str | None) -> None:
        self.response = self._router._response(self._call, self.tier, text, finish_reason, quality)
        self._router._record(self._call, self.response, None)


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


def _forced_decision(context: Mapping[str, Any]) -> Decision:
    try:
        tier = Tier.parse(context["tier"])
    except ValueError as exc:
        raise InvalidRequest(f"context['tier'] is invalid: {exc}") from None
    reasons = [f"forced:{tier.slug}"]
    if tier is Tier.CLOUD_API and context.get("allow_cloud") is False:
        tier = Tier.LOCAL_HEAVY
        reasons.append("cloud-not-allowed")
    return Decision(tier, 0.0, tuple(reasons))


def new_request_id() -> str:
    """128 random bits as hex. Not a secret, so the fast generator will do (uuid4 makes a syscall)."""
    return f"{random.getrandbits(128):032x}"


def _thresholds(settings: Settings) -> Thresholds:
    defaults = Thresholds()
    return Thresholds(
        heavy=settings.heavy_threshold if settings.heavy_threshold is not None else defaults.heavy,
        cloud=settings.cloud_threshold if settings.cloud_threshold is not None else defaults.cloud,
    )


def _validated_messages(task: str | Sequence[Mapping[str, Any]]) -> list[Message]:
    try:
        messages = as_messages(task)
    except TypeError as exc:
        raise InvalidRequest(str(exc)) from None
    if not messages:
        raise InvalidRequest("messages must not be empty")
    for m in messages:
        if m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise InvalidRequest(f"unknown message role {m.get('role')!r}")
    return messages


def _chat_request(messages: list[Message], params: Mapping[str, Any]) -> ChatRequest:
    extra = {k: v for k, v in params.items() if k not in _KNOWN_PARAMS and k != "stream" and v is not None}
    max_tokens = params.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or max_tokens < 1):
        raise InvalidRequest("max_tokens must be a positive integer")
    stop = params.get("stop")
    return ChatRequest(
        messages=messages, max_tokens=max_tokens, temperature=params.get("temperature"),
        top_p=params.get("top_p"), stop=[stop] if isinstance(stop, str) else stop,
        response_format=params.get("response_format"), extra=extra,
    )
