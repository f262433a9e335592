"""Routing metrics: PGR, APGR and CPT as RouteLLM defines them, on expected (tie-split) sweeps.

Reference: lm-sys/RouteLLM, ``routellm/evals/evaluate.py`` (``generate_results``: ``auc_metric``,
``apgr_metric``, ``pct_call_metric``) and ``routellm/evals/benchmarks.py`` (``GSM8K.evaluate`` /
``MMLU.evaluate``: the threshold sweep; ``get_optimal_accuracy``: the oracle).

* **Sweep** (``benchmarks.py``): ``pd.qcut(scores, num_results=10, retbins=True)`` gives 11 cut-offs at
  the 0, 10, ..., 100 % quantiles (linear interpolation); cut-off ``i`` sends prompts with
  ``score >= cutoff`` to the strong model, the last one ``score > cutoff`` (nobody). With distinct
  scores, cut-off ``i`` sends exactly ``n - ceil(i * (n - 1) / num_results)`` prompts up
  (:func:`routellm_counts`, in exact integer arithmetic). Here the same counts are sent up in score order,
  and a group of equal scores that straddles a cut-off is split in expectation (every member goes up with
  the same probability), so ties neither help nor hurt: a constant score is exactly random routing.
  RouteLLM itself raises on duplicate cut-offs (``qcut`` default) and sends whole tie groups up.
* **%strong** (``evaluate.py``): ``model_counts[strong] / total * 100``, here the expected share of
  prompts that called the strong model (a cascade also counts prompts that reached it by escalation).
* **AUC / APGR** (``auc_metric``, ``apgr_metric``): points sorted by %strong, trapezoid rule of accuracy
  over ``strong_percentage / 100``; ``APGR = (AUC - weak_AUC) / (strong_AUC - weak_AUC)`` where the
  weak/strong AUCs integrate the constant weak/strong accuracy over the same x values.
* **PGR**: ``(acc - weak_acc) / (strong_acc - weak_acc)`` (the quantity APGR averages).
* **CPT(x%)** (``pct_call_metric``): ``np.interp(x * (strong - weak) + weak, accuracies, strong_pcts)``
  over the points in %strong order. On a strictly increasing curve this is what :func:`cpt` returns; where
  the curve is not monotone (``np.interp`` is undefined there) :func:`cpt` takes the first crossing.
* **Oracle** (``get_optimal_accuracy``): send up exactly the prompts the weak model gets wrong and the
  strong model gets right; as a score, ``strong_correct - weak_correct`` (:func:`oracle_scores`).

Everything is plain Python (no numpy): a four-dataset run is dominated by loading the CSV files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = [
    "Outcome",
    "Point",
    "apgr",
    "auc",
    "cascade_outcome",
    "cpt",
    "mix",
    "oracle_scores",
    "pgr",
    "routellm_counts",
    "sweep",
    "tie_split",
]


@dataclass(frozen=True)
class Outcome:
    """What one prompt costs and earns under one routing choice.

    ``correct`` is 0/1 (or an expectation), ``cost`` the sum paid for every tier called, ``calls[i]`` 1 when
    tier ``i + 1`` was called, ``strong`` 1 when the strong (top) model was called.
    """

    correct: float
    cost: float
    calls: tuple[float, ...]
    strong: float


@dataclass(frozen=True)
class Point:
    """One operating point, as expectations over the prompts.

    ``share_up``: fraction the router sent up; ``strong_pct``: % of prompts that called the strong model
    (RouteLLM's x axis); ``accuracy`` in [0, 1]; ``cost``: mean cost per prompt; ``calls[i]``: fraction of
    prompts that called tier ``i + 1`` (a cascade can call several tiers, so these can add up to > 1).
    """

    share_up: float
    strong_pct: float
    accuracy: float
    cost: float
    calls: tuple[float, ...]


def pgr(accuracy: float, weak: float, strong: float) -> float:
    """Performance gap recovered: 0 at the weak model's accuracy, 1 at the strong model's."""
    gap = strong - weak
    if gap == 0:
        return math.nan
    return (accuracy - weak) / gap


def routellm_counts(n: int, num_results: int = 10) -> list[int]:
    """How many prompts RouteLLM's ``qcut`` cut-offs send up, for ``n`` distinct scores.

    Cut-off ``i`` (``i = 0 .. num_results``) is the ``i / num_results`` quantile, at position
    ``p = i * (n - 1) / num_results`` of the sorted scores; ``score >= cutoff`` keeps the sorted positions
    ``>= ceil(p)``, so ``n - ceil(p)`` prompts go up. The last cut-off uses ``>`` and sends none.
    """
    if n <= 0:
        return [0] * (num_results + 1)
    counts = [n - (-(-i * (n - 1) // num_results)) for i in range(num_results)]
    return [*counts, 0]


def tie_split(scores: Sequence[float], k: float) -> list[float]:
    """The probability that each prompt goes up when the ``k`` highest-scoring prompts go up.

    Groups of equal score are split evenly: if a group of ``g`` prompts has ``r < g`` places left, each
    member goes up with probability ``r / g``. ``k`` may be fractional.
    """
    n = len(scores)
    k = max(0.0, min(float(k), float(n)))
    p = [0.0] * n
    order = sorted(range(n), key=lambda i: scores[i], reverse=True)
    left = k
    start = 0
    while start < n and left > 0:
        end = start + 1
        s = scores[order[start]]
        while end < n and scores[order[end]] == s:
            end += 1
        size = end - start
        share = 1.0 if left >= size else left / size
        for j in range(start, end):
            p[order[j]] = share
        left -= size * share
        start = end
    return p


def mix(keep: Sequence[Outcome], up: Sequence[Outcome], p: Sequence[float]) -> Point:
    """The expected operating point when prompt ``i`` takes ``up[i]`` with probability ``p[i]``."""
    n = len(keep)
    if n == 0:
        return Point(0.0, 0.0, 0.0, 0.0, ())
    width = len(keep[0].calls)
    correct = cost = strong = share = 0.0
    calls = [0.0] * width
    for k, u, q in zip(keep, up, p, strict=True):
        r = 1.0 - q
        share += q
        correct += r * k.correct + q * u.correct
        cost += r * k.cost + q * u.cost
        strong += r * k.strong + q * u.strong
        for t in range(width):
            calls[t] += r * k.calls[t] + q * u.calls[t]
    return Point(share / n, 100.0 * strong / n, correct / n, cost / n, tuple(c / n for c in calls))


def sweep(
    scores: Sequence[float],
    keep: Sequence[Outcome],
    up: Sequence[Outcome],
    counts: Sequence[float] | None = None,
    num_results: int = 10,
) -> list[Point]:
    """The router's curve: for each count (default :func:`routellm_counts`), send that many prompts up in
    score order (ties split in expectation). Points are returned sorted by %strong."""
    if not (len(scores) == len(keep) == len(up)):
        raise ValueError("scores, keep and up must have the same length")
    if counts is None:
        counts = routellm_counts(len(scores), num_results)
    points = [mix(keep, up, tie_split(scores, k)) for k in counts]
    return sorted(points, key=lambda pt: (pt.strong_pct, pt.share_up))


def auc(points: Sequence[Point]) -> float:
    """Area under accuracy vs. strong-call fraction (trapezoid rule over ``strong_pct / 100``)."""
    pts = sorted(points, key=lambda pt: pt.strong_pct)
    area = 0.0
    for a, b in pairwise(pts):
        area += (b.strong_pct - a.strong_pct) / 100.0 * (a.accuracy + b.accuracy) / 2.0
    return area


def apgr(points: Sequence[Point], weak: float, strong: float) -> float:
    """Average performance gap recovered: RouteLLM's ``(AUC - weak_AUC) / (strong_AUC - weak_AUC)``."""
    if len(points) < 2:
        return math.nan
    xs = [pt.strong_pct for pt in points]
    span = (max(xs) - min(xs)) / 100.0
    weak_auc = weak * span
    strong_auc = strong * span
    if strong_auc == weak_auc:
        return math.nan
    return (auc(points) - weak_auc) / (strong_auc - weak_auc)


def cpt(points: Sequence[Point], target_pgr: float, weak: float, strong: float) -> float:
    """Calls to the strong model (in %) needed to reach ``target_pgr`` of the gap (CPT(x%)).

    ``np.interp(target_acc, accuracies, strong_pcts)`` over the points in %strong order: below the first
    point's accuracy it is the first point's %strong, beyond every point the last one's. Between, the first
    segment that crosses the target is interpolated linearly (the same as ``np.interp`` when the
    accuracies increase strictly).
    """
    if not points:
        return math.nan
    pts = sorted(points, key=lambda pt: pt.strong_pct)
    target = weak + target_pgr * (strong - weak)
    if target <= pts[0].accuracy:
        return pts[0].strong_pct
    for a, b in pairwise(pts):
        if a.accuracy < target <= b.accuracy:
            return a.strong_pct + (target - a.accuracy) / (b.accuracy - a.accuracy) * (b.strong_pct - a.strong_pct)
    return pts[-1].strong_pct


def oracle_scores(weak_correct: Sequence[float], strong_correct: Sequence[float]) -> list[float]:
    """RouteLLM's optimal router as a score: prompts the strong model fixes first, those it breaks last."""
    return [s - w for w, s in zip(weak_correct, strong_correct, strict=True)]


def cascade_outcome(
    chain: Sequence[int],
    correct: Sequence[float],
    cost: Sequence[float],
    rejected: Sequence[bool | None],
    gated: Sequence[bool] | None = None,
    strong_index: int | None = None,
) -> Outcome:
    """Replay one request through a cascade, as the router runs it.

    ``chain`` lists the model indices to try in order (the start tier and those above it). Every model tried
    is paid for. A model's answer is accepted unless the gate rejected it (``rejected[i]`` True), the model is
    gated (``gated[i]``, default all) and it is not the last in the chain; the last answer is always kept.
    ``correct`` / ``cost`` / ``rejected`` are indexed by model; ``strong_index`` defaults to the last model.
    """
    if not chain:
        raise ValueError("empty chain")
    width = len(correct)
    strong_index = width - 1 if strong_index is None else strong_index
    calls = [0.0] * width
    paid = 0.0
    final = chain[-1]
    for pos, i in enumerate(chain):
        calls[i] = 1.0
        paid += cost[i]
        last = pos == len(chain) - 1
        is_gated = True if gated is None else gated[i]
        if last or not (is_gated and rejected[i]):
            final = i
            break
    return Outcome(correct[final], paid, tuple(calls), calls[strong_index])
