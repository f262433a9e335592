"""Routing metrics (RouteLLM's PGR / APGR / CPT) on small hand-computed cases."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from tiered_router.evaluate.metrics import (
    Outcome,
    Point,
    apgr,
    auc,
    cascade_outcome,
    cpt,
    mix,
    oracle_scores,
    pgr,
    routellm_counts,
    sweep,
    tie_split,
)


def _pair(weak: list[float], strong: list[float]) -> tuple[list[Outcome], list[Outcome]]:
    keep = [Outcome(w, 0.0, (1.0, 0.0), 0.0) for w in weak]
    up = [Outcome(s, 1.0, (0.0, 1.0), 1.0) for s in strong]
    return keep, up


# ---- PGR ------------------------------------------------------------------------------------------


def test_pgr() -> None:
    assert pgr(0.7, 0.6, 0.8) == pytest.approx(0.5)
    assert pgr(0.6, 0.6, 0.8) == 0.0
    assert pgr(0.8, 0.6, 0.8) == pytest.approx(1.0)
    assert pgr(0.9, 0.6, 0.8) == pytest.approx(1.5)  # better than the strong model
    assert math.isnan(pgr(0.7, 0.7, 0.7))  # no gap to recover


# ---- the sweep grid -------------------------------------------------------------------------------


def test_routellm_counts_by_hand() -> None:
    # n = 5: cut-off i is at sorted position i*4/10; ">=" keeps positions >= ceil(i*4/10); the last uses ">".
    # i:       0    1    2    3    4    5    6    7    8    9   10
    # pos:     0   .4   .8  1.2  1.6  2.0  2.4  2.8  3.2  3.6   -
    # up:      5    4    4    3    3    3    2    2    1    1    0
    assert routellm_counts(5) == [5, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0]
    assert routellm_counts(11) == [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 0]
    assert routellm_counts(1) == [1] * 10 + [0]
    assert routellm_counts(0) == [0] * 11


@pytest.mark.parametrize("n", [4, 8, 12, 14, 18, 22, 104])
def test_routellm_counts_match_qcut_cutoffs(n: int) -> None:
    """The counts are what RouteLLM's qcut cut-offs select (n - 1 coprime to 10 avoids float-boundary noise)."""
    np = pytest.importorskip("numpy")
    scores = np.array(random.Random(n).sample(range(10_000), n), dtype=float)
    cutoffs = np.quantile(scores, np.linspace(0, 1, 11))  # pandas qcut's bins (linear interpolation)
    got = [int((scores >= c).sum()) if i != 10 else int((scores > c).sum()) for i, c in enumerate(cutoffs)]
    assert got == routellm_counts(n)


# ---- tie splitting --------------------------------------------------------------------------------


def test_tie_split_by_hand() -> None:
    assert tie_split([3, 2, 2, 1], 0) == [0, 0, 0, 0]
    assert tie_split([3, 2, 2, 1], 1) == [1, 0, 0, 0]
    assert tie_split([3, 2, 2, 1], 2) == [1, 0.5, 0.5, 0]  # one place left for a group of two
    assert tie_split([3, 2, 2, 1], 1.5) == [1, 0.25, 0.25, 0]
    assert tie_split([3, 2, 2, 1], 4) == [1, 1, 1, 1]
    assert tie_split([5, 5, 5, 5], 1) == [0.25] * 4  # a constant score is random routing
    assert tie_split([1, 2], 9) == [1, 1]  # clamped


def test_tie_split_is_the_expectation_over_orderings() -> None:
    """Splitting a tie group evenly gives the mean over every order of its members."""
    scores = [0.9, 0.5, 0.5, 0.5, 0.1]
    weak = [0, 1, 0, 0, 1]
    strong = [1, 0, 1, 1, 1]
    keep, up = _pair(weak, strong)
    for k in range(6):
        got = mix(keep, up, tie_split(scores, k)).accuracy
        accs = []
        for order in itertools.permutations([1, 2, 3]):
            ranked = [0, *order, 4]
            sent = set(ranked[:k])
            accs.append(sum(strong[i] if i in sent else weak[i] for i in range(5)) / 5)
        assert got == pytest.approx(sum(accs) / len(accs))


def test_constant_score_is_random_routing() -> None:
    """Ties neither help nor hurt: a constant score gives APGR 0.5 and CPT(x) = x on any data."""
    rng = random.Random(7)
    weak = [float(rng.random() < 0.6) for _ in range(137)]
    strong = [float(rng.random() < 0.85) for _ in range(137)]
    keep, up = _pair(weak, strong)
    w, s = sum(weak) / 137, sum(strong) / 137
    curve = sweep([0.0] * 137, keep, up)
    assert apgr(curve, w, s) == pytest.approx(0.5)
    assert cpt(curve, 0.5, w, s) == pytest.approx(50.0)
    assert cpt(curve, 0.8, w, s) == pytest.approx(80.0)


# ---- APGR / AUC / CPT on a toy table --------------------------------------------------------------


def test_apgr_toy_table_by_hand() -> None:
    # prompt:          0     1     2     3
    # score:          0.9   0.7   0.5   0.1   (sent up in this order)
    # weak correct:    0     1     0     1    -> weak acc 0.50
    # strong correct:  1     0     1     1    -> strong acc 0.75
    #
    # up  %strong  answers (w=weak, s=strong)  accuracy
    #  0     0     w w w w  -> 0 1 0 1          0.50
    #  1    25     s w w w  -> 1 1 0 1          0.75
    #  2    50     s s w w  -> 1 0 0 1          0.50
    #  3    75     s s s w  -> 1 0 1 1          0.75
    #  4   100     s s s s  -> 1 0 1 1          0.75
    # AUC = 0.25 * ((.5+.75)/2 + (.75+.5)/2 + (.5+.75)/2 + (.75+.75)/2) = 0.25 * 2.625 = 0.65625
    # weak AUC = 0.5 * 1 = 0.5, strong AUC = 0.75 * 1 = 0.75
    # APGR = (0.65625 - 0.5) / (0.75 - 0.5) = 0.625
    # CPT(50%): target 0.5 + 0.5*0.25 = 0.625, crossed on the first segment: 25 * 0.125/0.25 = 12.5 %
    # CPT(80%): target 0.7: 25 * 0.2/0.25 = 20 %
    keep, up = _pair([0, 1, 0, 1], [1, 0, 1, 1])
    curve = sweep([0.9, 0.7, 0.5, 0.1], keep, up, counts=[0, 1, 2, 3, 4])
    assert [p.strong_pct for p in curve] == [0, 25, 50, 75, 100]
    assert [p.accuracy for p in curve] == [0.5, 0.75, 0.5, 0.75, 0.75]
    assert auc(curve) == pytest.approx(0.65625)
    assert apgr(curve, 0.5, 0.75) == pytest.approx(0.625)
    assert cpt(curve, 0.5, 0.5, 0.75) == pytest.approx(12.5)
    assert cpt(curve, 0.8, 0.5, 0.75) == pytest.approx(20.0)
    # Cost is the mean of what each prompt paid (strong calls cost 1 here): the share sent up.
    assert [p.cost for p in curve] == [0, 0.25, 0.5, 0.75, 1.0]


def test_apgr_uses_the_covered_range_like_routellm() -> None:
    # RouteLLM integrates the weak/strong constants over the same x values as the router's points.
    pts = [Point(0, 20, 0.6, 0, ()), Point(0, 60, 0.7, 0, ())]
    # AUC = 0.4 * 0.65 = 0.26; weak AUC = 0.4 * 0.6 = 0.24; strong AUC = 0.4 * 0.8 = 0.32 -> 0.02 / 0.08
    assert apgr(pts, 0.6, 0.8) == pytest.approx(0.25)
    assert math.isnan(apgr(pts[:1], 0.6, 0.8))


def test_cpt_matches_np_interp_on_increasing_curves() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(3)
    for _ in range(50):
        xs = sorted(rng.sample(range(101), 6))
        accs = sorted(rng.sample(range(500, 900), 6))
        pts = [Point(0, float(x), a / 1000, 0, ()) for x, a in zip(xs, accs, strict=True)]
        weak, strong = 0.55, 0.92
        for target in (0.2, 0.5, 0.8, 1.0):
            want = float(np.interp(target * (strong - weak) + weak, [a / 1000 for a in accs], xs))
            assert cpt(pts, target, weak, strong) == pytest.approx(want)


def test_cpt_clamps_like_np_interp() -> None:
    pts = [Point(0, 0, 0.6, 0, ()), Point(0, 100, 0.8, 0, ())]
    assert cpt(pts, 0.0, 0.6, 0.8) == 0.0  # already there at 0 %
    assert cpt(pts, 1.5, 0.6, 0.8) == 100.0  # never reached: the last point


def test_oracle_scores_send_the_fixable_prompts_first() -> None:
    weak, strong = [0, 1, 0, 1], [1, 1, 0, 0]
    keep, up = _pair(weak, strong)
    scores = oracle_scores(weak, strong)
    assert scores == [1, 0, 0, -1]
    best = mix(keep, up, tie_split(scores, 1))
    assert best.accuracy == pytest.approx(0.75)  # 0.5 + the one prompt only the strong model gets


# ---- the cascade: every tier tried is paid for ----------------------------------------------------


def test_cascade_cost_sums_every_attempt() -> None:
    correct, cost = [0.0, 0.0, 1.0], [1.0, 10.0, 100.0]
    out = cascade_outcome([0, 1, 2], correct, cost, [True, True, False])
    assert out == Outcome(1.0, 111.0, (1.0, 1.0, 1.0), 1.0)
    out = cascade_outcome([0, 1, 2], correct, cost, [True, False, None])
    assert out == Outcome(0.0, 11.0, (1.0, 1.0, 0.0), 0.0)
    out = cascade_outcome([0, 1, 2], correct, cost, [False, True, True])
    assert out == Outcome(0.0, 1.0, (1.0, 0.0, 0.0), 0.0)


def test_cascade_keeps_the_last_tier_and_skips_ungated_tiers() -> None:
    correct, cost = [1.0, 0.0, 1.0], [1.0, 10.0, 100.0]
    # The last tier's answer is kept even if the gate dislikes it.
    assert cascade_outcome([1, 2], correct, cost, [None, True, True]).cost == 110.0
    assert cascade_outcome([1, 2], correct, cost, [None, True, True]).correct == 1.0
    # A tier outside gate_tiers is never rejected.
    out = cascade_outcome([1, 2], correct, cost, [None, True, None], gated=[True, False, False])
    assert (out.correct, out.cost, out.strong) == (0.0, 10.0, 0.0)
    # Two-model data: "strong" is the last model.
    out = cascade_outcome([0, 1], [0.0, 1.0], [0.0, 1.0], [True, None])
    assert out == Outcome(1.0, 1.0, (1.0, 1.0), 1.0)
    with pytest.raises(ValueError):
        cascade_outcome([], correct, cost, [None] * 3)


def test_escalation_cost_in_a_sweep() -> None:
    """A prompt escalated by the gate pays for tier 1 and the strong model; one sent straight up pays once."""
    weak_kept = [Outcome(0.0, 1.0, (1.0, 0.0), 0.0), Outcome(1.0, 1.0, (1.0, 0.0), 0.0)]
    via_weak = Outcome(1.0, 1.0 + 30.0, (1.0, 1.0), 1.0)
    direct = Outcome(1.0, 30.0, (0.0, 1.0), 1.0)
    up = [via_weak, direct]
    pt = mix(weak_kept, up, [1.0, 0.0])
    assert pt.cost == pytest.approx((31.0 + 1.0) / 2)
    assert pt.calls == (1.0, 0.5)
    assert pt.strong_pct == pytest.approx(50.0)
    pt = mix(weak_kept, up, [1.0, 1.0])
    assert pt.cost == pytest.approx((31.0 + 30.0) / 2)
