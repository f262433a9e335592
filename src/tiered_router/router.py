"""The cascade: classify → (budget) → call a tier → quality gate → escalate or settle → record.

``TieredModelRouter.complete`` is the whole request path. Each stage is a function or object
from its own module; this one only decides the order and what a failure leads to.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .backends import Backend, ChatRequest, ChatResult, HttpPool, backend_for_tier
from .backends.base import estimate_prompt_tokens
from .breaker import Breakers
from .classify import Decision, Thresholds, classify
from .config import Settings, load_settings
from .errors import AllTiersFailed, BackendError, CloudUnavailable, ErrorKind, RouterError
from .messages import Message, as_messages
from .observe.record import RecordSink, build_record, log_sink
from .quality import QualityVerdict, assess_response
from .result import Attempt, RoutedResponse
from .tiers import Tier

log = logging.getLogger("tiered_router")
T = TypeVar("T")

# Parameters the router understands; anything else is passed to OpenAI-compatible backends as is.
_KNOWN_PARAMS = ("max_tokens", "temperature", "top_p", "stop", "response_format")


class InvalidRequest(RouterError, ValueError):
    code = "invalid_request"


class TieredModelRouter:
    """Routes each request to the cheapest tier that does it well.

    ``backends`` replaces the backends built from settings (tests, custom providers);
    ``transport`` is handed to the shared httpx client (unit tests with MockTransport);
    ``sinks`` receive every routing record (default: one JSON log line per request).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        backends: Mapping[Tier, Backend] | None = None,
        pool: HttpPool | None = None,
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
        self.sinks: list[RecordSink] = list(sinks) if sinks is not None else [log_sink]
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

    # --- the request path ---------------------------------------------------------------

    async def complete(
        self, messages_or_text: str | Sequence[Mapping[str, Any]], context: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> RoutedResponse:
        started = self._clock()
        context = dict(context or {})
        request_id = str(context.get("request_id") or uuid.uuid4().hex)
        messages = _validated_messages(messages_or_text)
        decision = self._classify(messages, context)
        forced = decision.tier if _is_forced(context) else None
        request = _chat_request(params)
        request.messages = messages
        attempts: list[Attempt] = []
        try:
            response = await self._cascade(messages, request, decision, forced, context, attempts, request_id)
        except RouterError as exc:
            self._record(None, exc, decision, forced, attempts, request_id, started, context, messages)
            raise
        response.latency_ms = (self._clock() - started) * 1000
        response.overhead_ms = max(0.0, response.latency_ms - sum(a.latency_ms for a in attempts))
        self._record(response, None, decision, forced, attempts, request_id, started, context, messages)
        return response

    def _classify(self, messages: list[Message], context: dict[str, Any]) -> Decision:
        if not self.cloud_enabled and not _is_forced(context):
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

    async def _cascade(
        self, messages: list[Message], request: ChatRequest, decision: Decision, forced: Tier | None,
        context: dict[str, Any], attempts: list[Attempt], request_id: str,
    ) -> RoutedResponse:
        chain = self.plan(decision, forced, context.get("allow_cloud", True) is not False)
        prompt_tokens = estimate_prompt_tokens(messages)
        too_long_for = 0  # context windows at or below this are known to be too small
        best: tuple[Attempt, ChatResult, QualityVerdict | None] | None = None
        escalation_reason: str | None = None
        for index, tier in enumerate(chain):
            backend = self.backends[tier]
            is_last = index == len(chain) - 1
            skip = self._skip_reason(backend, prompt_tokens, too_long_for)
            if skip:
                attempts.append(Attempt(tier, backend.provider, backend.model, "skipped", error=skip))
                escalation_reason = escalation_reason or f"tier{int(tier)}-skipped:{skip}"
                continue
            attempt, result = await self._attempt(tier, backend, request)
            attempts.append(attempt)
            if result is None:
                if attempt.error_kind == ErrorKind.CONTEXT_TOO_LONG:
                    too_long_for = max(too_long_for, backend.context_window)
                escalation_reason = escalation_reason or f"tier{int(tier)}-{attempt.error_kind}"
                continue
            verdict = self._gate(tier, messages, result, request, context)
            attempt.quality = verdict.reason if verdict else None
            if verdict is not None and verdict.low_quality and not is_last:
                attempt.outcome = "rejected"
                best = best or (attempt, result, verdict)
                escalation_reason = escalation_reason or f"tier{int(tier)}-quality:{verdict.reason}"
                continue
            attempt.outcome = "accepted" if verdict is None or not verdict.low_quality else "rejected"
            best = (attempt, result, verdict)
            break
        if best is None:
            raise AllTiersFailed(_failure_summary(attempts), attempts, request_id)
        final, result, verdict = best
        return RoutedResponse(
            text=result.text, tier=final.tier, model=final.model, provider=final.provider,
            escalated=final.tier != chain[0] or len([a for a in attempts if a.outcome != "skipped"]) > 1,
            attempts=attempts, usage=result.usage, cost_usd=sum(a.cost_usd for a in attempts),
            latency_ms=0.0, request_id=request_id, finish_reason=result.finish_reason,
            classified_tier=decision.tier, score=decision.score, reasons=decision.reasons,
            forced_tier=forced, escalation_reason=escalation_reason if final.tier != chain[0] else None,
            quality=verdict.reason if verdict else None,
        )

    def _skip_reason(self, backend: Backend, prompt_tokens: int, too_long_for: int) -> str | None:
        if backend.context_window <= too_long_for:
            return "context-too-small"
        if prompt_tokens > backend.context_window:
            return "context-too-small"
        return self.breakers.blocked(backend.name)

    async def _attempt(self, tier: Tier, backend: Backend, request: ChatRequest) -> tuple[Attempt, ChatResult | None]:
        if tier is Tier.CLOUD_API and request.max_tokens is None:
            # A bound on output is what makes the worst-case cost of a cloud call finite.
            request = _with_max_tokens(request, self.settings.cloud_max_tokens)
        t0 = self._clock()
        try:
            result = await backend.chat(request)
        except BackendError as exc:
            self.breakers.failure(backend.name, exc)
            log.info("tier %d %s failed: %s", tier, backend.name, exc)
            return Attempt(tier, backend.provider, backend.model, "error", (self._clock() - t0) * 1000,
                           error_kind=exc.kind.value, error=exc.message[:300]), None
        self.breakers.success(backend.name)
        attempt = Attempt(tier, backend.provider, backend.model, "accepted", (self._clock() - t0) * 1000,
                          finish_reason=result.finish_reason, usage=result.usage)
        return attempt, result

    def _gate(self, tier: Tier, messages: list[Message], result: ChatResult, request: ChatRequest,
              context: Mapping[str, Any]) -> QualityVerdict | None:
        if int(tier) not in self.settings.gate_tiers:
            return None
        return assess_response(
            messages, result.text, finish_reason=result.finish_reason,
            expect_json=True if request.wants_json else None, answer_format=context.get("answer_format"),
        )

    def _record(self, response: RoutedResponse | None, error: RouterError | None, decision: Decision,
                forced: Tier | None, attempts: list[Attempt], request_id: str, started: float,
                context: Mapping[str, Any], messages: list[Message]) -> None:
        record = build_record(
            response=response, error=error, decision=decision, forced=forced, attempts=attempts,
            request_id=request_id, latency_ms=(self._clock() - started) * 1000,
            entry_point=str(context.get("entry_point", "library")), messages=messages,
            answer=response.text if response else None, store_content=self.settings.log_content,
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

    def __enter__(self) -> TieredModelRouter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> TieredModelRouter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


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


def _thresholds(settings: Settings) -> Thresholds:
    defaults = Thresholds()
    return Thresholds(
        heavy=settings.heavy_threshold if settings.heavy_threshold is not None else defaults.heavy,
        cloud=settings.cloud_threshold if settings.cloud_threshold is not None else defaults.cloud,
    )


def _is_forced(context: Mapping[str, Any]) -> bool:
    return context.get("tier") is not None


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


def _chat_request(params: Mapping[str, Any]) -> ChatRequest:
    if params.get("stream"):
        raise InvalidRequest("complete() does not stream; use the server's streaming endpoint")
    extra = {k: v for k, v in params.items() if k not in _KNOWN_PARAMS and k != "stream" and v is not None}
    max_tokens = params.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise InvalidRequest("max_tokens must be a positive integer")
    stop = params.get("stop")
    return ChatRequest(
        messages=[], max_tokens=max_tokens, temperature=params.get("temperature"), top_p=params.get("top_p"),
        stop=[stop] if isinstance(stop, str) else stop, response_format=params.get("response_format"), extra=extra,
    )


def _with_max_tokens(request: ChatRequest, max_tokens: int) -> ChatRequest:
    return ChatRequest(request.messages, max_tokens, request.temperature, request.top_p, request.stop,
                       request.response_format, request.extra)


def _failure_summary(attempts: list[Attempt]) -> str:
    parts = [f"tier {int(a.tier)} {a.provider}/{a.model}: {a.outcome} {a.error_kind or ''} {a.error or ''}".strip()
             for a in attempts]
    return "every tier failed: " + ("; ".join(parts) if parts else "no tier could be tried")
