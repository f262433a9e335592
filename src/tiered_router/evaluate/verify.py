"""The second opinion (``TIER_VERIFY``), replayed on recorded answers: ``bench-routing --verify BAND``.

A prompt whose classifier score lies within ``band`` of the heavy threshold (``|score − heavy| ≤ band``) is
answered by tier 1 and tier 2 at once, both paid for. If their answers disagree (``learn.agree``, with the
caller's answer format) the request goes to the top tier (the cloud), paid too; if they agree, tier 1's
answer is kept. A tier-1 answer the gate rejects is not compared: tier 2's answer, already in hand, goes on
through the cascade (gated, then the top tier if rejected). Prompts outside the band are routed as usual:
the classifier's starting tier and the gated cascade.

Each band gives an **operating point** (accuracy, cost, share of prompts answered by tier 2 and by the
cloud, PGR on the pair weak = tier 1, strong = top tier) and a **curve** for APGR: what the router knows at
that band ranks the prompts. In-band disagreements (and gate rejections) first, then the out-of-band
prompts by classifier score, then the in-band agreements; within each group the classifier score breaks
ties. At a band that covers every score this is the disagreement signal itself.

It needs three tiers with recorded answers (with two, tier 2 is the top tier and answers every verified
prompt anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tiered_router.learn import Interval, PairOutcomes, agree, bootstrap

from .generic import Dataset
from .metrics import Outcome, Point, cascade_outcome, mix, pgr

__all__ = ["DEFAULT_BANDS", "VerifyPoint", "verify"]

DEFAULT_BANDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


@dataclass
class VerifyPoint:
    """One band width: the share of prompts verified (both local tiers called), the share of those whose
    answers disagreed, the operating point, and the APGR of the band's curve with its interval."""

    band: float
    verified: float
    disagreed: float
    point: Point
    pgr: float
    apgr: Interval
    methods: dict[str, int] = field(default_factory=dict)

    @property
    def cloud_share(self) -> float:
        return self.point.calls[-1]


def verify(ds: Dataset, scores: Sequence[float], start: Sequence[int], rejected: Sequence[Sequence[bool | None]],
           heavy: float, bands: Sequence[float] = DEFAULT_BANDS, gated: Sequence[bool] = (True, True, False),
           n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[VerifyPoint]:
    """Replay the second opinion at each band width. ``scores``/``start`` are the classifier's score and
    starting model index per item, ``rejected[i][t]`` the gate's verdict on item ``i``'s tier ``t + 1``
    answer (None where not judged), ``gated[t]`` whether tier ``t + 1`` is gated."""
    m = len(ds.models)
    if m < 3 or not ds.has_responses:
        raise ValueError(f"{ds.name}: the second opinion needs three tiers with recorded answers")
    items = ds.items
    n = len(items)
    top = m - 1
    verdicts = [agree(it.answers[0].text, it.answers[1].text, ds.format_of(it)) for it in items]
    methods = Counter(v.method for v in verdicts)
    correct = [[a.correct for a in it.answers] for it in items]
    cost = [[a.cost for a in it.answers] for it in items]
    rej = [[bool(r) for r in row] for row in rejected]
    weak = np.array([c[0] for c in correct])
    strong = np.array([c[top] for c in correct])
    weak_acc, strong_acc = float(weak.mean()), float(strong.mean())
    outcomes = PairOutcomes(weak, strong)

    points: list[VerifyPoint] = []
    curves: list[list[float]] = []
    for band in bands:
        chosen: list[Outcome] = []
        ranked: list[float] = []
        n_verified = n_disagreed = 0
        for k in range(n):
            s = scores[k]
            if band > 0 and abs(s - heavy) <= band:
                n_verified += 1
                if rej[k][0]:  # tier 1 rejected: tier 2's answer goes on through the cascade
                    out = cascade_outcome(range(1, m), correct[k], cost[k], rej[k], gated)
                    out = Outcome(out.correct, out.cost + cost[k][0], _calls(out.calls, 0), out.strong)
                    ranked.append(2.0 + s)
                elif not verdicts[k].agrees:
                    n_disagreed += 1
                    out = Outcome(correct[k][top], cost[k][0] + cost[k][1] + cost[k][top],
                                  tuple(1.0 if t in (0, 1, top) else 0.0 for t in range(m)), 1.0)
                    ranked.append(2.0 + s)
                else:
                    out = Outcome(correct[k][0], cost[k][0] + cost[k][1],
                                  tuple(1.0 if t in (0, 1) else 0.0 for t in range(m)), 0.0)
                    ranked.append(s - 2.0)
            else:
                out = cascade_outcome(range(start[k], m), correct[k], cost[k], rej[k], gated)
                ranked.append(s)
            chosen.append(out)
        point = mix(chosen, chosen, [0.0] * n)
        curves.append(ranked)
        points.append(VerifyPoint(band, n_verified / n, n_disagreed / n_verified if n_verified else 0.0, point,
                                  pgr(point.accuracy, weak_acc, strong_acc), _placeholder(level),
                                  dict(methods.most_common())))
    intervals, _ = bootstrap(curves, outcomes, n_boot, seed, level)
    for p, iv in zip(points, intervals, strict=True):
        p.apgr = iv
    return points


def _calls(calls: tuple[float, ...], also: int) -> tuple[float, ...]:
    return tuple(1.0 if i == also else c for i, c in enumerate(calls))


def _placeholder(level: float) -> Interval:
    return Interval(float("nan"), float("nan"), float("nan"), level, 0)
