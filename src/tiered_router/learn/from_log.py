"""Learning from the router's own routing log: ``tiered-router learn`` and ``TIER_LEARN_EVERY``.

**What a logged request teaches.** The learned score is the probability that a request needs more than
tier 1. A request says so, most trusted first:

1. ``feedback`` on a tier-1 answer: the label is ``1 − score`` (a bad answer needed more);
2. a ``shadow`` answer of tier 2 to a tier-1 answer (``TIER_SHADOW_RATE``): disagreement is 1, agreement 0;
   or a downward shadow, ``shadow_down``, of tier 1 to a tier-2 answer of a request the classifier started on
   tier 2 (``TIER_SHADOW_DOWN_RATE``): 0 when tier 1's answer passes the gate and agrees (tier 1 would have
   done), else 1;
3. the second opinion (``verify``, ``TIER_VERIFY``): tiers 1 and 2 both answered and their answers were
   compared: disagreement 1, agreement 0, whichever tier the request started on and whichever answered;
4. the gate: tier 1's answer was rejected and a higher tier's accepted: 1.

Why this order. Feedback is a person judging the answer itself. A shadow and the second opinion ask the same
question (does tier 2's answer say what tier 1's said?) and never both answer it for one request, since a
request the other tier has answered already is not sampled; if a log holds both, the shadow is preferred
because it checked the answer the client was given, after the router had accepted it. The second opinion comes before
the gate because a disagreement also marks tier 1's attempt ``rejected`` (``verify-disagree``), which the
gate's rule would count as its own, and because it says more: it compared tier 1's answer with tier 2's,
where the gate only looks at one answer's form (a refusal, an empty or repeated answer), and it says when
tier 1 was enough, which the gate never does.

Other requests (answered by tier 1 with no judgement, or started above tier 1 with neither a downward shadow
nor a second opinion) teach nothing and are left out. Features are read from the prompt when the log holds it
(``TIER_LOG_CONTENT=true``), else from the features stored in its place (``TIER_LOG_FEATURES=true``,
``stored``: hashed, not the text); a request logged with neither teaches nothing, and ``learn`` says how many.

**Promotion.** The labelled requests are split by a hash of their id: 70 % to fit the candidate, 30 % held
out. Both the live classifier (the heuristic, or the heuristic blended with the live model) and the candidate
blended the way the router would use it score the held-out requests, and ``promotion.compare`` replays them:
the candidate goes live only when its APGR gain has a bootstrap interval above zero. Otherwise it is stored as
a candidate with the reason, and the live model stays. Every fitted model is kept (``router_models``), so
``--status`` can show them and ``--rollback`` can restore the one before.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tiered_router.chat import Message, read_leniently
from tiered_router.classify import Classifier, HeuristicClassifier
from tiered_router.observe.store import RoutingLogStore
from tiered_router.options import RouteOptions

from .apgr import PairOutcomes
from .blend import BlendedClassifier
from .features import FeatureConfig, FeatureRow
from .model import Example, LearnedModel, fit
from .promotion import Comparison, compare
from .stored import StoredFeaturesError, decode, heuristic_score

__all__ = [
    "HOLDOUT_SHARE",
    "MIN_TO_FIT",
    "Labelled",
    "LearnRun",
    "label_of",
    "labelled_requests",
    "learn",
    "live_classifier",
]

HOLDOUT_SHARE = 0.3
MIN_TO_FIT = 20  # labelled requests to fit on, at the least; fewer and nothing is fitted
READ_LIMIT = 10_000  # the newest requests read from the log per run


@dataclass(frozen=True, slots=True)
class Labelled:
    """A request that teaches something: its prompt (``messages``) or, logged without it, its stored
    features (``row``, of the default feature configuration)."""

    request_id: str
    messages: tuple[Message, ...]
    label: float  # 1: needed more than tier 1; 0: tier 1 was enough
    source: str  # feedback | shadow | shadow_down | verify | gate
    row: FeatureRow | None = None

    @property
    def example(self) -> Example:
        return list(self.messages) if self.row is None else self.row


@dataclass
class LearnRun:
    """What one learning run found and did."""

    labelled: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    without_prompt: int = 0  # labelled, but the log holds neither their prompt nor their features
    from_features: int = 0  # labelled and learned from their stored features (no prompt stored)
    train: int = 0
    holdout: int = 0
    version: str | None = None  # of the fitted candidate, when one was fitted
    promoted: bool = False
    reason: str = ""
    comparison: Comparison | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["comparison"] = self.comparison.as_dict() if self.comparison else None
        return out


def label_of(record: Mapping[str, Any]) -> tuple[float, str] | None:
    """(label, source) for one routing record read back from the log, or None when it teaches nothing."""
    if record.get("router.status") != "ok":
        return None
    final = record.get("router.final_tier")
    feedback, shadow, verify = record.get("router.feedback"), record.get("router.shadow"), record.get("router.verify")
    if final == 1 and feedback is not None:
        return 1.0 - float(feedback["score"]), "feedback"
    if final == 1 and shadow is not None and shadow.get("tier") == 2:
        return (0.0 if shadow["agree"] else 1.0), "shadow"
    down = record.get("router.shadow_down")
    if final == 2 and down is not None and down.get("tier") == 1:
        return (0.0 if down["agree"] else 1.0), "shadow_down"
    if verify is not None and verify.get("tier") == 2:
        return (0.0 if verify["agree"] else 1.0), "verify"
    attempts = record.get("router.attempts") or ()
    tier1_rejected = any(a.get("tier") == 1 and a.get("router.outcome") == "rejected" for a in attempts)
    if tier1_rejected and final in (2, 3):
        return 1.0, "gate"
    return None


def labelled_requests(records: Iterable[Mapping[str, Any]]) -> tuple[list[Labelled], int]:
    """The records that teach something, with their prompts or, logged without them, their stored features;
    and how many taught something but hold neither (TIER_LOG_CONTENT and TIER_LOG_FEATURES off when they
    were logged, or features of another configuration)."""
    out, without_prompt = [], 0
    for record in records:
        found = label_of(record)
        if found is None:
            continue
        request_id, (label, source) = str(record["request_id"]), found
        prompt = record.get("router.prompt")
        if prompt:
            messages = tuple(read_leniently([{"role": m.get("role", "user"), "content": m.get("content") or ""}
                                             for m in prompt]))
            out.append(Labelled(request_id, messages, label, source))
        elif (row := _stored_row(record)) is not None:
            out.append(Labelled(request_id, (), label, source, row))
        else:
            without_prompt += 1
    return out, without_prompt


def _stored_row(record: Mapping[str, Any]) -> FeatureRow | None:
    """The record's stored features, if it has readable ones of the configuration ``fit`` uses."""
    text = record.get("router.features")
    if not text:
        return None
    try:
        config, row = decode(str(text))
    except StoredFeaturesError:
        return None
    return row if config == FeatureConfig() else None


def in_holdout(request_id: str) -> bool:
    """A fixed 30 % of requests, by a hash of the id: the same request is held out on every run."""
    digest = hashlib.sha256(request_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HOLDOUT_SHARE


def live_classifier(store: RoutingLogStore, heuristic: HeuristicClassifier) -> Classifier:
    """The classifier routers use now: the heuristic blended with the live model, or the heuristic alone."""
    stored = store.models.live()
    if stored is None or stored.model is None:
        return heuristic
    return BlendedClassifier(heuristic, LearnedModel.from_json(stored.model))


def learn(store: RoutingLogStore, heuristic: HeuristicClassifier | None = None, *, n_boot: int = 1000,
          seed: int = 0) -> LearnRun:
    """Fit a candidate on the log's outcomes, replay the held-out ones, store it: live if it is better, else a
    candidate with the reason. Raises LogStoreError when the log cannot be read or written."""
    heuristic = heuristic or HeuristicClassifier()
    store.flush()
    labelled, without_prompt = labelled_requests(store.recent(READ_LIMIT))
    run = LearnRun(labelled=len(labelled), without_prompt=without_prompt,
                   from_features=sum(item.row is not None for item in labelled),
                   sources=dict(Counter(item.source for item in labelled)))
    train = [item for item in labelled if not in_holdout(item.request_id)]
    held = [item for item in labelled if in_holdout(item.request_id)]
    run.train, run.holdout = len(train), len(held)
    if len(train) < MIN_TO_FIT:
        run.reason = _too_few(len(train), without_prompt)
        return run
    candidate = fit([item.example for item in train], [item.label for item in train], heuristic=heuristic)
    run.version = candidate.version
    live = live_classifier(store, heuristic)
    run.comparison = compare(_scores(live, held), _scores(BlendedClassifier(heuristic, candidate), held),
                             _outcomes(held), n_boot=n_boot, seed=seed)
    run.promoted, run.reason = run.comparison.promote, run.comparison.reason
    replay = {**run.comparison.as_dict(), "train": run.train, "holdout": run.holdout, "sources": run.sources}
    store.models.add(candidate.version, candidate.to_json(), candidate.n_train, replay, live=run.promoted)
    return run


def _scores(classifier: Classifier, items: Sequence[Labelled]) -> list[float]:
    options = RouteOptions()
    return [classifier.decide(item.messages, options).score if item.row is None
            else _score_features(classifier, item.row) for item in items]


def _score_features(classifier: Classifier, row: FeatureRow) -> float:
    """A classifier's score of a request known by its stored features: the heuristic's as it was logged, or
    the blend of it with the classifier's model."""
    if isinstance(classifier, BlendedClassifier):
        return classifier.score_features(row, FeatureConfig())
    return heuristic_score(row)


def _outcomes(items: Sequence[Labelled]) -> PairOutcomes:
    # Label 1 (needed more): tier 1 wrong, tier 2 right; label 0: both right; a graded feedback in between.
    return PairOutcomes.of([1.0 - item.label for item in items], [1.0] * len(items))


def _too_few(train: int, without_prompt: int) -> str:
    reason = f"only {train} labelled requests to fit on (at least {MIN_TO_FIT} are needed)"
    if without_prompt:
        reason += (f"; {without_prompt} more were labelled but logged without their prompt or features: learning "
                   "needs TIER_LOG_FEATURES=true (hashed features, not the text) or TIER_LOG_CONTENT=true")
    return reason
