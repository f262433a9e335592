"""What a routed request returns: the answer, and how it was reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..chat import TokenLogprob, ToolCall, Usage
from ..tiers import Tier


class AttemptOutcome(StrEnum):
    """How one try on one tier ended. A ``StrEnum``: it compares equal to, and is stored as, its value."""

    ACCEPTED = "accepted"  # its answer was returned (gated and passed, or not gated)
    REJECTED = "rejected"  # the gate turned its answer down, or the second opinion disagreed with it (TIER_VERIFY)
    VERIFIED = "verified"  # a second opinion (TIER_VERIFY) that agreed: passed the gate, not the answer returned
    ERROR = "error"  # the backend failed (the error kind says how)
    SKIPPED = "skipped"  # not called: cooling down, context too small, or no budget
    STREAMING = "streaming"  # a live stream that has not ended yet
    CANCELLED = "cancelled"  # the client went away while it streamed


class RecordStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


@dataclass
class Attempt:
    """One try on one tier."""

    tier: Tier
    provider: str
    model: str
    outcome: AttemptOutcome
    latency_ms: float = 0.0
    error_kind: str | None = None
    error: str | None = None
    quality: str | None = None  # the gate's reason, when the gate ran
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    retry_after_s: float | None = None  # a rate limit's Retry-After (not part of the record)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": int(self.tier),
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.model,
            "router.outcome": str(self.outcome),
            "router.latency_ms": round(self.latency_ms, 3),
            "error.type": self.error_kind,
            "router.error": self.error,
            "router.quality": self.quality,
            "gen_ai.response.finish_reasons": [self.finish_reason] if self.finish_reason else [],
            "gen_ai.usage.input_tokens": self.usage.input_tokens,
            "gen_ai.usage.output_tokens": self.usage.output_tokens,
            "router.cost_usd": round(self.cost_usd, 8),
        }


@dataclass
class RoutedResponse:
    text: str
    tier: Tier
    model: str
    provider: str
    escalated: bool
    attempts: list[Attempt]
    usage: Usage  # of the answer returned
    cost_usd: float  # of every attempt, because a cascade pays for its failures too
    latency_ms: float
    request_id: str
    finish_reason: str = "stop"
    classified_tier: Tier = Tier.LOCAL_FAST
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    forced_tier: Tier | None = None
    escalation_reason: str | None = None
    degraded: bool = False
    degraded_reason: str | None = None
    quality: str | None = None
    overhead_ms: float = 0.0
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the answer asks for (then text may be empty)
    thinking: str | None = None  # the model's reasoning, where its protocol returns it
    thinking_signature: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None  # when the client asked for them

    @property
    def total_usage(self) -> Usage:
        total = Usage()
        for a in self.attempts:
            total = total + a.usage
        return total
