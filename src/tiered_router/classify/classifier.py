"""The classifier's API: ``Decision``, ``Thresholds``, the ``Classifier`` protocol, the built-in
``HeuristicClassifier`` (the score of ``signals`` cut at thresholds), ``classify`` and a forced tier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tiered_router.config import Settings
from tiered_router.messages import as_messages, content_text
from tiered_router.options import RouteOptions
from tiered_router.tiers import Tier

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
    task: str | Iterable[Mapping[str, Any]],
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


def decide_with(classifier: Classifier, task: str | Iterable[Mapping[str, Any]],
                context: RouteOptions | Mapping[str, Any] | None = None) -> Decision:
    """``classifier``'s decision on ``task`` (a prompt or messages). A forced tier (``context["tier"]``)
    wins, and the decision still reports the classifier's score and reasons after ``forced:tier-N``."""
    options = RouteOptions.coerce(context)
    messages = as_messages([task] if isinstance(task, Mapping) else task)
    if options.tier is None:
        return classifier.decide(messages, options)
    scored = classifier.decide(messages, RouteOptions())
    return forced_decision(options.tier, options.allow_cloud, scored.score, scored.reasons)


def _decide(score: float, reasons: list[str], th: Thresholds, allow_cloud: bool) -> Decision:
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


def _conversation(messages: Sequence[Mapping[str, Any]]) -> tuple[str, int, int, int]:
    """(last user text, system prompt chars, user turns, assistant turns)."""
    system_chars = 0
    users = 0
    assistants = 0
    last_user: Any = None
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            system_chars += len(content_text(m.get("content")))
        elif role == "user":
            users += 1
            last_user = m.get("content")
        elif role == "assistant":
            assistants += 1
    if last_user is None:
        text = content_text(messages[-1].get("content")) if messages else ""
    else:
        text = content_text(last_user)
    return text, system_chars, users, assistants


class Classifier(Protocol):
    """What the router asks of a classifier: the starting tier of an unforced request, with a score in
    [0, 1] and the reasons for it (RouteOptions carries ``allow_cloud``, which caps the tier at 2)."""

    def decide(self, messages: Sequence[Mapping[str, Any]], options: RouteOptions) -> Decision: ...


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

    def decide(self, messages: Sequence[Mapping[str, Any]], options: RouteOptions) -> Decision:
        score, reasons = _score(*_conversation(messages))
        return _decide(score, reasons, self.thresholds, options.allow_cloud)


def classify_tier(
    task: str | Iterable[Mapping[str, Any]],
    context: RouteOptions | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Tier:
    """The tier of :func:`classify` (same decision)."""
    return classify(task, context, thresholds).tier
