"""APGR on weighted outcomes, in numpy, and its bootstrap confidence interval.

The same metric as ``tiered_router.evaluate.metrics`` (RouteLLM's APGR over the ``qcut`` sweep, ties split
in expectation), for the routed pair: keeping a prompt earns the weak answer and no strong call, sending it
up earns the strong answer and one strong call. Here it is computed in closed form so that a thousand
bootstrap resamples of 14,000 prompts take about a second (the evaluate package is above this one and its
pure-Python sweep is the reference; the tests check that both agree).

**Why a closed form exists.** Sort the prompts by score, highest first. Sending the top ``k`` up (a group of
equal scores that straddles ``k`` goes up with a uniform probability) earns, in expectation, the weak
accuracy plus the cumulative "strong − weak" gain of the prompts sent up, and that expected cumulative gain
is the straight line between its values at the tie groups' ends: ``np.interp`` over the group ends. A
bootstrap resample is the same prompts with integer weights (how often each was drawn), so the order and
the tie groups are the original ones and only the cumulative sums change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Interval", "PairOutcomes", "Ranking", "apgr", "bootstrap", "routellm_counts"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval (``level``, e.g. 0.95); ``dropped`` counts the
    resamples where the metric was undefined (weak and strong equally good)."""

    value: float
    low: float
    high: float
    level: float
    n_boot: int
    dropped: int = 0

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


@dataclass(frozen=True)
class PairOutcomes:
    """Per prompt, the correctness (0/1 or an expectation) of the weak answer (kept) and the strong one
    (sent up)."""

    weak: Array
    strong: Array

    @classmethod
    def of(cls, weak: Sequence[float] | Array, strong: Sequence[float] | Array) -> PairOutcomes:
        w, s = np.asarray(weak, dtype=np.float64), np.asarray(strong, dtype=np.float64)
        if w.shape != s.shape or w.ndim != 1:
            raise ValueError("weak and strong must be 1-D and of the same length")
        return cls(w, s)

    def __len__(self) -> int:
        return int(self.weak.size)

    def subset(self, index: Sequence[int] | npt.NDArray[np.int64]) -> PairOutcomes:
        idx = np.asarray(index, dtype=np.int64)
        return PairOutcomes(self.weak[idx], self.strong[idx])


def routellm_counts(n: int, num_results: int = 10) -> npt.NDArray[np.int64]:
    """How many prompts each of RouteLLM's ``qcut`` cut-offs sends up (``evaluate.metrics.routellm_counts``)."""
    if n <= 0:
        return np.zeros(num_results + 1, dtype=np.int64)
    counts = [n - (-(-i * (n - 1) // num_results)) for i in range(num_results)]
    return np.array([*counts, 0], dtype=np.int64)


class Ranking:
    """A router's scores, sorted once: the order, highest first, and where each tie group ends."""

    def __init__(self, scores: Sequence[float] | Array) -> None:
        s = np.asarray(scores, dtype=np.float64)
        if s.ndim != 1:
            raise ValueError("scores must be 1-D")
        self.order = np.argsort(-s, kind="stable")
        ranked = s[self.order]
        # Index (exclusive) of the end of each tie group in the sorted order.
        self.group_end = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True)) + 1 if s.size else np.zeros(
            0, dtype=np.int64)

    def apgr(self, outcomes: PairOutcomes, weights: Array | None = None, num_results: int = 10) -> float:
        """APGR with prompt ``i`` counted ``weights[i]`` times (1 each by default)."""
        w = np.ones(len(outcomes)) if weights is None else np.asarray(weights, dtype=np.float64)
        n = float(w.sum())
        if n <= 0:
            return math.nan
        weak_acc = float(w @ outcomes.weak) / n
        strong_acc = float(w @ outcomes.strong) / n
        if strong_acc == weak_acc:
            return math.nan
        ordered_w = w[self.order]
        gain = (outcomes.strong - outcomes.weak)[self.order] * ordered_w
        ends = self.group_end - 1
        xp = np.concatenate(([0.0], np.cumsum(ordered_w)[ends]))
        fp = np.concatenate(([0.0], np.cumsum(gain)[ends]))
        counts = routellm_counts(round(n), num_results).astype(np.float64)
        acc = weak_acc + np.interp(counts, xp, fp) / n
        x = counts / n  # share sent up = share of strong calls
        order = np.argsort(x, kind="stable")
        x, acc = x[order], acc[order]
        area = float(np.sum((x[1:] - x[:-1]) * (acc[1:] + acc[:-1]) / 2.0))
        span = float(x[-1] - x[0])
        if span == 0:
            return math.nan
        return (area - weak_acc * span) / ((strong_acc - weak_acc) * span)


def apgr(scores: Sequence[float] | Array, outcomes: PairOutcomes, num_results: int = 10) -> float:
    """RouteLLM's APGR of a router's ``scores`` (higher = send up) on ``outcomes``."""
    return Ranking(scores).apgr(outcomes, num_results=num_results)


def bootstrap(score_sets: Sequence[Sequence[float] | Array], outcomes: PairOutcomes, n_boot: int = 1000,
              seed: int = 0, level: float = 0.95, num_results: int = 10,
              ) -> tuple[list[Interval], npt.NDArray[np.float64]]:
    """APGR of each router in ``score_sets`` with a percentile bootstrap interval, all on the same resamples
    of the prompts (paired: differences between routers are measured on equal footing).

    Returns the intervals and the ``(n_boot, routers)`` matrix of resampled APGRs (NaN where undefined), from
    which intervals of differences can be read."""
    n = len(outcomes)
    if not 0.0 < level < 1.0:
        raise ValueError("level must be in (0, 1)")
    rankings = [Ranking(s) for s in score_sets]
    for s in score_sets:
        if len(s) != n:
            raise ValueError("every score set must have one score per outcome")
    rng = np.random.default_rng(seed)
    samples = np.full((n_boot, len(rankings)), np.nan)
    for b in range(n_boot):
        weights = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        for j, r in enumerate(rankings):
            samples[b, j] = r.apgr(outcomes, weights, num_results)
    intervals = [_interval(r.apgr(outcomes, num_results=num_results), samples[:, j], level)
                 for j, r in enumerate(rankings)]
    return intervals, samples


def _interval(value: float, samples: Array, level: float) -> Interval:
    ok = samples[~np.isnan(samples)]
    if ok.size == 0:
        return Interval(value, math.nan, math.nan, level, int(samples.size), int(samples.size))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(ok, [tail, 1.0 - tail])
    return Interval(value, float(low), float(high), level, int(samples.size), int(samples.size - ok.size))


def interval_of(value: float, samples: Array, level: float = 0.95) -> Interval:
    """A percentile interval around ``value`` from resampled values (NaN resamples dropped)."""
    return _interval(value, np.asarray(samples, dtype=np.float64), level)
