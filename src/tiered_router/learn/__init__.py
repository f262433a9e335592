"""A router that learns from its own outcomes: the learned classifier, its promotion, and answer agreement.

* ``features``: a request as sparse hashed features (word and character n-grams) plus the heuristic
  classifier's reasons and score;
* ``model``: L2 logistic regression in numpy (``fit``, ``LearnedModel``: ``score``, ``to_json`` /
  ``from_json``), trained on ``outcome_label``\\ s: did the stronger tier do better;
* ``blend``: ``BlendedClassifier``, the ``Classifier`` the router uses: the heuristic's score blended with
  the learned one, the learned weight growing with the training data (a cold start is the heuristic);
* ``promotion``: ``compare``: promote a new model only when replaying held-out outcomes shows an APGR gain
  whose bootstrap interval excludes zero;
* ``apgr``: APGR on weighted outcomes and its bootstrap interval (numpy; used by promotion and by the
  evaluation's confidence intervals);
* ``agreement``: ``agree``: do two answers say the same (choice, number, JSON, code signature, text);
* ``stored``: a request's features as the routing log keeps them in place of its text (``TIER_LOG_FEATURES``);
* ``from_log``: learning from the routing log: labels, fit, replay, promotion.

No model download, no scikit-learn: numpy only.
"""

from .agreement import METHODS, Agreement, agree
from .apgr import Interval, PairOutcomes, Ranking, apgr, bootstrap
from .blend import BlendedClassifier, default_weight
from .features import FeatureConfig, FeatureRow, featurize
from .model import LearnedModel, fit, outcome_label
from .promotion import Comparison, compare

__all__ = [
    "METHODS",
    "Agreement",
    "BlendedClassifier",
    "Comparison",
    "FeatureConfig",
    "FeatureRow",
    "Interval",
    "LearnedModel",
    "PairOutcomes",
    "Ranking",
    "agree",
    "apgr",
    "bootstrap",
    "compare",
    "default_weight",
    "featurize",
    "fit",
    "outcome_label",
]
