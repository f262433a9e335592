"""The classifier's API: ``Decision``, ``Thresholds``, the ``Classifier`` protocol, the built-in
``HeuristicClassifier`` (the score of ``signals`` cut at thresholds), ``classify`` and a forced tier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tiered_router.chat import Message, read_leniently
from tiered_router.config import Settings
from tiered_router.options import RouteOptions
from tiered_router.tiers import Tier

from .signals import _LONG_CONTEXT_CHARS, _PLAIN, Agentic
from .signals import score as _score

__all__ = ["Classifier", "Decision", "HeuristicClassifier", "Thresholds", "classify", "classify_tier",
           "decide_with", "forced_decision"]


@dataclass(frozen=True)
class Decision:
    """The classifier's answer: the tier, the complexity score in [0, 1], and the signals that fired."""

    tier: Tier
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Thresholds:
    """Score at/above which tier 2 (``heavy``) or tier 3 (``cloud``) is chosen.

    ``cloud`` defaults to 1.01, which no score reaches: the cloud tier is only used on an explicit
    override or when the lower tiers fail.
    """

    heavy: float = 0.5
    cloud: float = 1.01


_DEFAULT_THRESHOLDS = Thresholds()


def forced_decision(tier: Tier, allow_cloud: bool = True, score: float = 0.0,
                    reasons: Iterable[str] = ()) -> Decision:
    """The decision for a tier the caller chose: reasons start with ``forced:tier-N``. The one place a
    forced tier is written down, for the router (which does not score it) and for ``classify`` (which does)."""
    out = [f"forced:tier-{int(tier)}", *reasons]
    if tier is Tier.CLOUD_API and not allow_cloud:
        tier = Tier.LOCAL_HEAVY
        out.append("cloud-not-allowed")
    return Decision(tier=tier, score=score, reasons=tuple(dict.fromkeys(out)))


def classify(
    task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any],
    context: RouteOptions | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Decision:
    """Decide which tier ``task`` needs.

    ``task`` is a prompt string or an OpenAI-style messages list. ``context["tier"]`` forces a tier
    (1/2/3 or a name accepted by ``Tier.parse``; an invalid value raises ``ValueError``).
    ``context["allow_cloud"] = False`` caps the tier at 2, including a forced tier 3. A forced decision
    still reports the computed score.
    """
    return decide_with(HeuristicClassifier(thresholds), task, context)


def decide_with(classifier: Classifier, task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any],
                context: RouteOptions | Mapping[str, Any] | None = None) -> Decision:
    """``classifier``'s decision on ``task`` (a prompt or messages). A forced tier (``context["tier"]``)
    wins, and the decision still reports the classifier's score and reasons after ``forced:tier-N``."""
    options = RouteOptions.coerce(context)
    messages = read_leniently(task)
    if options.tier is None:
        return classifier.decide(messages, options)
    scored = classifier.decide(messages, RouteOptions())
    return forced_decision(options.tier, options.allow_cloud, scored.score, scored.reasons)


def decision_at(score: float, reasons: list[str], th: Thresholds, allow_cloud: bool) -> Decision:
    """The decision for ``score`` cut at ``th`` (any classifier's score in [0, 1]); without the cloud, a cloud
    score stays on tier 2 and says so (``cloud-not-allowed``)."""
    if score >= th.cloud:
        tier = Tier.CLOUD_API
    elif score >= th.heavy:
        tier = Tier.LOCAL_HEAVY
    else:
        tier = Tier.LOCAL_FAST
    if not allow_cloud and tier == Tier.CLOUD_API:
        tier = Tier.LOCAL_HEAVY
        reasons.append("cloud-not-allowed")
    return Decision(tier=tier, score=score, reasons=tuple(dict.fromkeys(reasons)))


def _conversation(messages: Sequence[Message]) -> tuple[str, int, int, int]:
    """(last user text, system prompt chars, user turns, assistant turns)."""
    system_chars = 0
    users = 0
    assistants = 0
    last_user: Message | None = None
    for m in messages:
        role = m.role
        if role == "user":
            users += 1
            last_user = m
        elif role == "assistant":
            assistants += 1
        elif role != "tool":
            system_chars += len(m.text)
    if last_user is None:
        return (messages[-1].text if messages else ""), system_chars, users, assistants
    return last_user.text, system_chars, users, assistants


def _agentic(messages: Sequence[Message], options: RouteOptions, request_chars: int) -> Agentic:
    """The agent signals; ``context_chars`` counts what surrounds the request itself (history, system
    prompt, tool calls and results), since the request's own length is a signal already."""
    if len(messages) == 1 and not options.tool_count and not messages[0].images:
        return _PLAIN  # the common case: one plain prompt
    images = sum(len(m.images) for m in messages if m.role == "user")
    tool_result = messages[-1].role == "tool"
    context = sum(len(m.text) + sum(len(c.arguments) for c in m.tool_calls) for m in messages) - request_chars
    if not (options.tool_count or images or tool_result or context > _LONG_CONTEXT_CHARS):
        return _PLAIN
    return Agentic(options.tool_count, tool_result, images, context)


class Classifier(Protocol):
    """What the router asks of a classifier: the starting tier of an unforced request, with a score in
    [0, 1] and the reasons for it (RouteOptions carries ``allow_cloud``, which caps the tier at 2)."""

    def decide(self, messages: Sequence[Message], options: RouteOptions) -> Decision: ...


class HeuristicClassifier:
    """The built-in classifier: the heuristic score (``signals.score``), cut at ``thresholds``. No model,
    microseconds."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or _DEFAULT_THRESHOLDS

    @classmethod
    def from_settings(cls, settings: Settings) -> HeuristicClassifier:
        """At the operating point configured by ``TIER_HEAVY_THRESHOLD`` / ``TIER_CLOUD_THRESHOLD``."""
        return cls(Thresholds(
            heavy=_DEFAULT_THRESHOLDS.heavy if settings.heavy_threshold is None else settings.heavy_threshold,
            cloud=_DEFAULT_THRESHOLDS.cloud if settings.cloud_threshold is None else settings.cloud_threshold,
        ))

    def decide(self, messages: Sequence[Message], options: RouteOptions) -> Decision:
        text, system_chars, users, assistants = _conversation(messages)
        agentic = _agentic(messages, options, len(text)) if messages else _PLAIN
        score, reasons = _score(text, system_chars, users, assistants, agentic)
        return decision_at(score, reasons, self.thresholds, options.allow_cloud)


def classify_tier(
    task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any],
    context: RouteOptions | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Tier:
    """The tier of :func:`classify` (same decision)."""
    return classify(task, context, thresholds).tier
