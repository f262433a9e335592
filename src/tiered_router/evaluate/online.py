"""The learner, scored online: outcomes arrive in a seeded random order, the learner trains on the first K %
and every router is scored on the rest (``bench-routing --online K``).

For each K the held-out prompts are replayed, on the routed pair (weak = tier 1, strong = top tier), under:

* the heuristic classifier alone (what a cold start routes by), and prompt length;
* the learned model alone, and the blend the router would use (``learn.BlendedClassifier``: the learned
  weight is ``default_weight(n_train)``);
* when the answers were recorded, each of these with the quality gate, as the "classifier + gate" row
  combines them (a rejected tier-1 answer escalates first).

Each APGR has a bootstrap interval on the held-out prompts (all routers on the same resamples), and the
promotion test (``learn.compare``) says whether the blend would replace the heuristic on this evidence.

Training labels come from the recorded outcomes as the router's own log gives them: did the next tier up
(tier 2) do better than tier 1 (``learn.outcome_label``). A label of "tier 1 was rejected" alone was
measured to do much worse: it says nothing about the prompts where tier 1 is wrong and well-formed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tiered_router.chat import read_leniently
from tiered_router.classify import HeuristicClassifier
from tiered_router.learn import (
    Comparison,
    FeatureConfig,
    FeatureRow,
    Interval,
    PairOutcomes,
    bootstrap,
    compare,
    default_weight,
    featurize,
    fit,
    outcome_label,
)
from tiered_router.options import RouteOptions

from .generic import Dataset

__all__ = ["OnlineResult", "OnlineRow", "featurize_dataset", "online"]

DEFAULT_PERCENTS = (10, 25, 50)


@dataclass
class OnlineRow:
    key: str
    label: str
    apgr: Interval


@dataclass
class OnlineResult:
    """One K: how many outcomes trained the learner and how many scored it, the blend weight, every router's
    held-out APGR with its interval, and the promotion verdict (blend vs heuristic)."""

    percent: float
    seed: int
    n_train: int
    n_test: int
    blend_weight: float
    train_seconds: float
    rows: list[OnlineRow] = field(default_factory=list)
    promotion: Comparison | None = None

    def row(self, key: str) -> OnlineRow:
        return next(r for r in self.rows if r.key == key)


def featurize_dataset(ds: Dataset, heuristic: HeuristicClassifier | None = None,
                      config: FeatureConfig | None = None) -> tuple[list[FeatureRow], list[float]]:
    """Every item's features and heuristic score (the heuristic's decision is part of the features);
    duplicate prompts are read once."""
    heuristic = heuristic or HeuristicClassifier()
    config = config or FeatureConfig()
    options = RouteOptions()
    rows: list[FeatureRow] = []
    scores: list[float] = []
    seen: dict[str, tuple[FeatureRow, float]] = {}
    for it in ds.items:
        hit = seen.get(it.key)
        if hit is None:
            messages = read_leniently(it.task)
            decision = heuristic.decide(messages, options)
            hit = seen[it.key] = (featurize(messages, decision, config), decision.score)
        rows.append(hit[0])
        scores.append(hit[1])
    return rows, scores


def online(ds: Dataset, percents: Sequence[float] = DEFAULT_PERCENTS, seed: int = 0,
           rejected: Sequence[bool] | None = None, n_boot: int = 1000, level: float = 0.95,
           features: tuple[list[FeatureRow], list[float]] | None = None) -> list[OnlineResult]:
    """Train on the first K % of a seeded shuffle of ``ds`` and score on the rest, for each K in ``percents``.
    ``rejected[i]``: the gate rejected item ``i``'s tier-1 answer (None when answers were not recorded)."""
    if len(ds.models) < 2:
        raise ValueError(f"{ds.name}: the learner needs at least two tiers")
    rows, heur = features or featurize_dataset(ds)
    n = len(ds.items)
    weak = np.array([it.answers[0].correct for it in ds.items])
    strong = np.array([it.answers[-1].correct for it in ds.items])
    labels = np.array([outcome_label(it.answers[0].correct, it.answers[1].correct) for it in ds.items])
    lengths = np.array([float(len(it.prompt)) for it in ds.items])
    heur_arr = np.array(heur)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    results: list[OnlineResult] = []
    for pct in percents:
        if not 0 < pct < 100:
            raise ValueError(f"--online takes a percentage between 0 and 100, got {pct}")
        cut = int(n * pct / 100)
        train, test = np.array(order[:cut], dtype=np.int64), np.array(order[cut:], dtype=np.int64)
        if cut == 0 or test.size == 0:
            raise ValueError(f"{ds.name}: {pct}% of {n} prompts leaves nothing to train on or to score")
        t0 = time.perf_counter()
        model = fit([rows[i] for i in train], labels[train])
        seconds = time.perf_counter() - t0
        learned = model.score_rows([rows[i] for i in test])
        w = default_weight(model.n_train)
        blended = (1.0 - w) * heur_arr[test] + w * learned
        routers: list[tuple[str, str, npt.NDArray[np.float64]]] = [
            ("heuristic", "heuristic classifier (no training)", heur_arr[test]),
            ("length", "prompt length", lengths[test]),
            ("learned", "learned model alone", learned),
            ("blend", f"blend (learned weight {w:.2f})", blended),
        ]
        if rejected is not None:
            rej = np.array([bool(rejected[i]) for i in test])
            routers += [(f"{key}+gate", f"{label} + gate", np.where(rej, 2.0, scores))
                        for key, label, scores in routers if key != "length"]
        outcomes = PairOutcomes(weak[test], strong[test])
        intervals, _ = bootstrap([r[2] for r in routers], outcomes, n_boot, seed, level)
        result = OnlineResult(pct, seed, int(cut), int(test.size), w, seconds,
                              [OnlineRow(k, label, iv) for (k, label, _), iv in zip(routers, intervals, strict=True)])
        live, cand = ("heuristic+gate", "blend+gate") if rejected is not None else ("heuristic", "blend")
        scores_of = {k: s for k, _, s in routers}
        result.promotion = compare(scores_of[live], scores_of[cand], outcomes, n_boot=n_boot, seed=seed, level=level)
        results.append(result)
    return results
