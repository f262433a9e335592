"""The learned classifier beside the heuristic one: a ``Classifier`` whose score is a blend of the two.

``score = (1 - w) · heuristic + w · learned``, where ``w = weight_of(model.n_train)`` grows with the number
of outcomes the model was trained on (0 with no model or no data: a cold start is the heuristic alone,
decision for decision). The tier is cut from the blended score at the heuristic's own thresholds, and the
reasons are the heuristic's followed by ``learned:<score>`` and ``blend:<w>``.

Both scores live on the same scale: the heuristic's is a complexity in [0, 1] cut at 0.5, and the learned
one is ``½ + (P(stronger tier better) − P(stronger tier worse)) / 2`` (``model.outcome_label``), which is
also above ½ exactly where going up helps more often than it hurts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tiered_router.chat import Message
from tiered_router.classify import Decision, HeuristicClassifier, Thresholds, decision_at
from tiered_router.options import RouteOptions

from .features import FeatureConfig, FeatureRow, featurize
from .model import LearnedModel
from .stored import heuristic_score

__all__ = ["HALF_WEIGHT_AT", "BlendedClassifier", "default_weight"]

# The number of training outcomes at which the learned score counts as much as the heuristic's. Chosen so
# that a few dozen outcomes barely move the router (the learner's held-out APGR at 10 % of ARC, 44
# outcomes, was below the heuristic's) while thousands make it nearly all learned.
HALF_WEIGHT_AT = 200


def default_weight(n_train: int) -> float:
    """``n / (n + 200)``: 0 at cold start, ½ at 200 outcomes, 0.95 at 3,800."""
    return n_train / (n_train + HALF_WEIGHT_AT) if n_train > 0 else 0.0


class BlendedClassifier:
    """A ``Classifier``: the heuristic's decision, its score blended with the learned model's."""

    def __init__(self, heuristic: HeuristicClassifier | None = None, model: LearnedModel | None = None,
                 weight_of: Callable[[int], float] = default_weight) -> None:
        self.heuristic = heuristic or HeuristicClassifier()
        self.model = model
        self.weight_of = weight_of
        self.weight = self._weight()

    @property
    def thresholds(self) -> Thresholds:
        return self.heuristic.thresholds

    def with_model(self, model: LearnedModel | None) -> BlendedClassifier:
        """The same heuristic and weighting with another model (a promoted one, or none)."""
        return BlendedClassifier(self.heuristic, model, self.weight_of)

    def _weight(self) -> float:
        if self.model is None:
            return 0.0
        w = float(self.weight_of(self.model.n_train))
        return min(max(w, 0.0), 1.0)

    def score_features(self, row: FeatureRow, config: FeatureConfig) -> float:
        """The blended score of a request known by its stored features (``learn.stored``): the heuristic's
        score as it was logged, blended with this model's on the same features. A model of another feature
        configuration cannot read them: the heuristic's score alone."""
        base = heuristic_score(row)
        model, w = self.model, self.weight
        if model is None or w <= 0.0 or model.config != config:
            return base
        return (1.0 - w) * base + w * model.score_row(row)

    def decide(self, messages: Sequence[Message], options: RouteOptions) -> Decision:
        base = self.heuristic.decide(messages, options)
        model, w = self.model, self.weight
        if model is None or w <= 0.0:
            return base
        learned = model.score_row(featurize(messages, base, model.config))
        score = (1.0 - w) * base.score + w * learned
        reasons = [r for r in base.reasons if r != "cloud-not-allowed"]
        reasons += [f"learned:{learned:.2f}", f"blend:{w:.2f}"]
        return decision_at(score, reasons, self.heuristic.thresholds, options.allow_cloud)
