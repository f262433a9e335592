"""What the engine works on and hands back: the call being routed, its settings, and the two kinds of
answer (``Buffered``, whole; ``Live``, a stream under way)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..backends import Backend
from ..backends.errors import BackendError
from ..chat import ChatRequest, ChatResult, Message, StreamChunk, Usage, estimate_prompt_tokens
from ..options import RouteOptions
from ..quality import QualityVerdict
from ..tiers import Tier
from .results import Attempt, AttemptOutcome

if TYPE_CHECKING:
    from ..classify import Decision
    from ..config import Settings

log = logging.getLogger("tiered_router")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """``gate_tiers``: tiers whose answers the gate checks (a pinned tier never is).
    ``paid_max_tokens``: the output bound given to a paid call that set none, so its worst case is finite.
    ``degrade_on_budget``: when the budget stops an escalation, answer with the best local attempt.
    ``hold_tokens``/``hold_s``: how much of a stream that may still escalate is held back and gated first.
    ``confidence``: the least token confidence (0..1) a gated answer needs, where its upstream reports it."""

    gate_tiers: frozenset[int] = frozenset({1, 2})
    paid_max_tokens: int = 1024
    degrade_on_budget: bool = True
    hold_tokens: int = 32
    hold_s: float = 1.5
    confidence: float | None = None  # the least token confidence a gated answer needs, when checked

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineSettings:
        return cls(frozenset(settings.gate_tiers), settings.cloud_max_tokens, settings.budget_exhausted == "degrade",
                   settings.stream_hold_tokens, settings.stream_hold_ms / 1000, settings.confidence)


@dataclass(frozen=True, slots=True)
class Verification:
    """What the second opinion (``verify.py``) found for one request. ``outcome``: ``agree`` or ``disagree``
    (both local answers passed the gate and were compared, by ``method``), ``one-passed`` (one answer
    passed, the other was rejected or failed) or ``neither``. ``model`` and ``cost_usd`` are tier 2's, the
    answer tier 1's was compared with."""

    outcome: str
    method: str | None = None
    model: str | None = None
    cost_usd: float = 0.0

    @property
    def compared(self) -> bool:
        return self.outcome in ("agree", "disagree")


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
    verification: Verification | None = None  # what the second opinion found, when it ran (verify.py)

    @property
    def messages(self) -> list[Message]:
        return self.request.messages

    @cached_property
    def prompt_tokens(self) -> int:
        return estimate_prompt_tokens(self.messages, self.request.tools)

    def note_escalation(self, reason: str) -> None:
        self.escalation_reason = self.escalation_reason or reason

    def failed(self, tier: Tier, backend: Backend, exc: BackendError, latency_ms: float, cost_usd: float = 0.0,
               usage: Usage | None = None) -> None:
        """Note a failed attempt (with what it was charged, if the provider may have billed it), and why the
        request moved on."""
        log.info("tier %d %s failed: %s", tier, backend.name, exc)
        self.attempts.append(Attempt(tier, backend.provider, backend.model, AttemptOutcome.ERROR, latency_ms,
                                     error_kind=exc.kind.value, error=exc.message[:300],
                                     usage=usage or Usage(), cost_usd=cost_usd, retry_after_s=exc.retry_after_s))
        self.note_escalation(f"tier{int(tier)}-{exc.kind.value}")


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
