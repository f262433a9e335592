"""Whether a newly trained model replaces the live one: only on evidence.

``compare(live_scores, candidate_scores, outcomes)`` replays the outcomes the candidate was not trained on
under both routers and measures the APGR gain with a paired bootstrap (the same resamples for both, so
the prompts' own difficulty cancels out). The candidate is promoted only when the gain is positive and its
confidence interval excludes zero; otherwise it is kept as a candidate, and ``reason`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .apgr import PairOutcomes, bootstrap, interval_of

__all__ = ["MIN_OUTCOMES", "Comparison", "compare"]

MIN_OUTCOMES = 30  # fewer held-out outcomes than this say nothing about a gain: never promote on them


@dataclass(frozen=True)
class Comparison:
    apgr_live: float
    apgr_candidate: float
    gain: float
    ci_low: float
    ci_high: float
    promote: bool
    reason: str
    n: int = 0
    level: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        """The fields, an undefined figure (NaN: too few outcomes, or APGR undefined) as None: what JSON holds."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


def compare(live_scores: Sequence[float] | npt.NDArray[np.float64],
            candidate_scores: Sequence[float] | npt.NDArray[np.float64],
            outcomes: PairOutcomes | Sequence[tuple[float, float]], n_boot: int = 1000, seed: int = 0,
            level: float = 0.95) -> Comparison:
    """Compare two routers' scores on held-out ``outcomes`` (``PairOutcomes``, or (weak, strong) correctness
    pairs, one per prompt). Promote when APGR(candidate) − APGR(live) > 0 with its ``level`` bootstrap
    interval above zero."""
    if not isinstance(outcomes, PairOutcomes):
        pairs = list(outcomes)
        outcomes = PairOutcomes.of([p[0] for p in pairs], [p[1] for p in pairs])
    n = len(outcomes)
    if len(live_scores) != n or len(candidate_scores) != n:
        raise ValueError("one live score and one candidate score per outcome are needed")
    if n < MIN_OUTCOMES:
        return Comparison(math.nan, math.nan, math.nan, math.nan, math.nan, False,
                          f"only {n} held-out outcomes (at least {MIN_OUTCOMES} are needed)", n, level)
    (live, cand), samples = bootstrap([live_scores, candidate_scores], outcomes, n_boot, seed, level)
    if math.isnan(live.value) or math.isnan(cand.value):
        return Comparison(live.value, cand.value, math.nan, math.nan, math.nan, False,
                          "APGR undefined on these outcomes: the weaker and stronger tiers did equally well",
                          n, level)
    gain = interval_of(cand.value - live.value, samples[:, 1] - samples[:, 0], level)
    pct = f"{100 * level:.0f}%"
    if gain.value <= 0:
        reason = f"no APGR gain ({gain.value:+.3f}; {pct} CI {gain.low:+.3f} to {gain.high:+.3f})"
        promote = False
    elif not gain.excludes_zero():
        reason = (f"APGR gain {gain.value:+.3f} not significant ({pct} CI {gain.low:+.3f} to {gain.high:+.3f} "
                  f"includes zero)")
        promote = False
    else:
        reason = f"APGR gain {gain.value:+.3f} ({pct} CI {gain.low:+.3f} to {gain.high:+.3f}) on {n} outcomes"
        promote = True
    return Comparison(live.value, cand.value, gain.value, gain.low, gain.high, promote, reason, n, level)
