"""Replay the router's cascade on recorded answers: no network, no model.

For every prompt of a :class:`~tiered_router.evaluate.datasets.Dataset`:

1. the real classifier (``tiered_router.classify.classify``) picks the starting tier from the prompt text;
2. the recorded answer of that tier goes through the real quality gate
   (``tiered_router.quality.assess_response``, with the dataset's caller-stated ``answer_format``);
3. a rejected answer escalates as the router does: to the next tier, gated again unless it is the last
   (``Settings.gate_tiers`` defaults to tiers 1 and 2; the last tier of a chain is never gated);
4. quality is the correctness of the answer finally kept; cost is the sum of the recorded costs of every
   tier tried.

Two views come out of it:

* **operating points** (the table): the product cascade at the given thresholds, and baselines (always
  tier 1/2/3, random and prompt-length routing at the same share sent up as the classifier, the oracle
  that picks the cheapest model that is right);
* **curves** on RouteLLM's protocol (:mod:`tiered_router.evaluate.metrics`), for the routed pair weak =
  tier-1 model, strong = top model (tier 2 is skipped in this view on the three-model RouterBench sets, so
  the figures compare with RouteLLM's). A "router" is a score and the outcome of each prompt kept or sent
  up:

  - *classifier*: the classifier score; kept = tier-1 answer, up = strong answer;
  - *gate*: 1 if the gate rejects the tier-1 answer, else 0 (ties split: the gate is a yes/no signal);
    every prompt pays for tier 1, a rejected one also for the strong model;
  - *classifier + gate*: for each classifier threshold, prompts above it go to the strong model and the
    rest start at tier 1, where a rejected answer escalates; the %strong axis counts every prompt that
    reached the strong model. Below the gate's own escalation rate the curve runs linearly from the weak
    model to the gate-only point (a random subset of the rejected answers escalated);
  - *prompt length*, *random* (a constant score) and *oracle* (``strong_correct - weak_correct``).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .datasets import DATASETS, Dataset, load
from .gatestats import GateStats, gate_stats
from .generic import exclude as exclude_rows
from .metrics import Outcome, Point, apgr, cascade_outcome, cpt, mix, oracle_scores, pgr, sweep, tie_split
from .online import OnlineResult, online
from .verify import VerifyPoint, verify

if TYPE_CHECKING:
    from tiered_router.classify import Classifier, Thresholds

__all__ = ["GateStats", "Report", "RouterResult", "evaluate", "run"]

# A prompt as the router is given it: a string, or OpenAI-style messages.
Task = str | list[dict[str, Any]]
# (task, answer text, answer_format) -> (escalate?, reason)
GateFn = Callable[[Any, str, "str | None"], tuple[bool, str]]
# task -> (score, starting tier 1..3)
ClassifyFn = Callable[[Any], tuple[float, int]]

DEFAULT_GATE_TIERS = (1, 2)  # tiered_router.config.Settings.gate_tiers default


@dataclass
class RouterResult:
    """One row of the table: an operating point, and the router's RouteLLM curve and metrics."""

    key: str
    label: str
    point: Point
    pgr: float
    apgr: float | None = None
    cpt50: float | None = None
    cpt80: float | None = None
    curve: list[Point] = field(default_factory=list)
    note: str = ""
    apgr_ci: tuple[float, float] | None = None  # bootstrap interval of the APGR (Report.ci_level)


@dataclass
class Report:
    dataset: str
    title: str
    n: int
    models: tuple[str, ...]
    cost_unit: str
    answer_format: str | None
    notes: tuple[str, ...]
    weak_acc: float
    strong_acc: float
    heavy_threshold: float
    cloud_threshold: float
    rows: list[RouterResult]
    gate: GateStats
    product_curve: list[Point]
    seconds: float = 0.0
    n_boot: int = 0
    ci_level: float = 0.95
    online: list[OnlineResult] = field(default_factory=list)
    verify: list[VerifyPoint] = field(default_factory=list)

    def row(self, key: str) -> RouterResult:
        return next(r for r in self.rows if r.key == key)

    def to_dict(self, curves: bool = True) -> dict[str, Any]:
        d = asdict(self)
        d["gate"]["precision"] = self.gate.precision
        d["gate"]["gap_recall"] = self.gate.gap_recall
        if not curves:
            for r in d["rows"]:
                r.pop("curve", None)
            d.pop("product_curve", None)
        out: dict[str, Any] = _finite(d)
        return out


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


# --------------------------------------------------------------------------------------------------


def classifier_fn(classifier: Classifier) -> ClassifyFn:
    """Any ``Classifier`` (the heuristic one, a learned one) as the replay's prompt → (score, tier)."""
    from tiered_router.classify import decide_with

    def fn(prompt: str) -> tuple[float, int]:
        d = decide_with(classifier, prompt)
        return d.score, int(d.tier)

    return fn


def default_classify(thresholds: Thresholds | None = None) -> ClassifyFn:
    from tiered_router.classify import HeuristicClassifier

    return classifier_fn(HeuristicClassifier(thresholds))


def default_gate(prompt: Task, text: str, answer_format: str | None) -> tuple[bool, str]:
    from tiered_router.quality import assess_response

    v = assess_response(prompt, text, answer_format=answer_format)
    return v.low_quality, v.reason


def _one_hot(width: int, *idx: int) -> tuple[float, ...]:
    return tuple(1.0 if i in idx else 0.0 for i in range(width))


def evaluate(
    ds: Dataset,
    classify_fn: ClassifyFn | None = None,
    gate_fn: GateFn | None = None,
    heavy_threshold: float = math.nan,
    cloud_threshold: float = math.nan,
    gate_tiers: Sequence[int] = DEFAULT_GATE_TIERS,
    num_results: int = 10,
    cache: dict[str, tuple[float, int]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    online_percents: Sequence[float] = (),
    verify_bands: Sequence[float] = (),
    level: float = 0.95,
) -> Report:
    """Replay ``ds`` and compute every row of the table.

    ``classify_fn`` defaults to the real classifier at its default thresholds, ``gate_fn`` to the real gate.
    ``cache`` (prompt -> (score, tier)) is filled and reused, so duplicate prompts are classified once.
    The thresholds are recorded in the report; the heavy one also centres the ``verify_bands``.
    Every APGR gets a ``level`` bootstrap interval from ``n_boot`` resamples of the prompts (0: none), all
    routers on the same resamples (``seed``). ``online_percents`` adds the learner trained online on each
    percentage of the outcomes (``online``); ``verify_bands`` the second opinion at each band width
    (``verify``, three tiers with answers only).
    """
    t0 = time.perf_counter()
    classify_fn = classify_fn or default_classify()
    gate_fn = gate_fn or default_gate
    cache = {} if cache is None else cache
    items = ds.items
    n = len(items)
    if n == 0:
        raise ValueError(f"{ds.name}: no prompts")
    m = len(ds.models)
    top = m - 1
    heavy = min(1, top)  # model index of tier 2

    # ---- classification (cached per prompt) and the gate on every gated, non-top answer ----
    scores: list[float] = []
    start: list[int] = []
    for it in items:
        hit = cache.get(it.key)
        if hit is None:
            hit = cache[it.key] = classify_fn(it.task)
        scores.append(hit[0])
        start.append(min(int(hit[1]), m) - 1)
    gated = [((i + 1) in gate_tiers) and i < top for i in range(m)]
    rejected: list[list[bool | None]] = []
    reasons: dict[str, Counter[str]] = {str(i + 1): Counter() for i in range(top) if gated[i]}
    for it in items:
        row: list[bool | None] = [None] * m
        for i in range(top):
            text = it.answers[i].text
            if gated[i] and text is not None:
                low, why = gate_fn(it.task, text, ds.format_of(it))
                row[i] = low
                if low:
                    reasons[str(i + 1)][why] += 1
        rejected.append(row)
    gate_available = ds.has_responses

    # ---- per-prompt outcomes ----
    correct = [[a.correct for a in it.answers] for it in items]
    cost = [[a.cost for a in it.answers] for it in items]
    fixed = [[Outcome(correct[k][i], cost[k][i], _one_hot(m, i), float(i == top)) for i in range(m)] for k in range(n)]
    from_tier = [
        [cascade_outcome(range(s, m), correct[k], cost[k], [bool(r) for r in rejected[k]], gated) for s in range(m)]
        for k in range(n)
    ]
    weak_kept = [f[0] for f in fixed]
    strong_direct = [f[top] for f in fixed]
    # Tier 1 tried first, then the strong model (the pair view of an escalation).
    via_weak = [Outcome(correct[k][top], cost[k][0] + cost[k][top], _one_hot(m, 0, top), 1.0) for k in range(n)]
    rej1 = [bool(r[0]) for r in rejected]

    weak_acc = sum(c[0] for c in correct) / n
    strong_acc = sum(c[top] for c in correct) / n

    def curve_metrics(curve: list[Point]) -> dict[str, Any]:
        return {
            "apgr": apgr(curve, weak_acc, strong_acc),
            "cpt50": cpt(curve, 0.5, weak_acc, strong_acc),
            "cpt80": cpt(curve, 0.8, weak_acc, strong_acc),
            "curve": curve,
        }

    def result(key: str, label: str, point: Point, curve: list[Point] | None = None, note: str = "") -> RouterResult:
        extra = curve_metrics(curve) if curve else {}
        return RouterResult(key, label, point, pgr(point.accuracy, weak_acc, strong_acc), note=note, **extra)

    ones = [1.0] * n
    rows: list[RouterResult] = []
    names = _tier_labels(ds)
    for i in range(m):
        rows.append(result(f"always-{i + 1}", f"always {names[i]}", mix(weak_kept, [f[i] for f in fixed], ones)))

    # Share the classifier starts above tier 1 at the given thresholds: random and length get the same.
    share_up = sum(1 for s in start if s > 0) / n
    k_up = share_up * n
    heavy_out = [f[heavy] for f in fixed]
    const = [0.0] * n
    rows.append(result("random", "random", mix(weak_kept, heavy_out, [share_up] * n),
                       sweep(const, weak_kept, strong_direct, num_results=num_results),
                       note="expected value (ties split); same share sent up as the classifier"))
    lengths = [float(len(it.prompt)) for it in items]
    rows.append(result("length", "prompt length", mix(weak_kept, heavy_out, tie_split(lengths, k_up)),
                       sweep(lengths, weak_kept, strong_direct, num_results=num_results),
                       note="longer prompt goes up; same share sent up as the classifier"))
    cheapest = [_cheapest_correct(correct[k], cost[k]) for k in range(n)]
    rows.append(result("oracle", "oracle", mix(weak_kept, [fixed[k][cheapest[k]] for k in range(n)], ones),
                       sweep(oracle_scores([c[0] for c in correct], [c[top] for c in correct]), weak_kept,
                             strong_direct, num_results=num_results),
                       note="cheapest model that is right"))

    rows.append(result("classifier", "classifier only (no gate)",
                       mix(weak_kept, [fixed[k][start[k]] for k in range(n)], ones),
                       sweep(scores, weak_kept, strong_direct, num_results=num_results)))
    if gate_available:
        gate_scores = [1.0 if r else 0.0 for r in rej1]
        rows.append(result("gate", "gate only (start at tier 1)", mix(weak_kept, [f[0] for f in from_tier], ones),
                           sweep(gate_scores, weak_kept, via_weak, num_results=num_results)))
        combined_scores = [2.0 if r else s for r, s in zip(rej1, scores, strict=True)]
        combined_up = [via_weak[k] if rej1[k] else strong_direct[k] for k in range(n)]
        rows.append(result("cascade", "cascade: classifier + gate",
                           mix(weak_kept, [from_tier[k][start[k]] for k in range(n)], ones),
                           sweep(combined_scores, weak_kept, combined_up, num_results=num_results)))

    # ---- the product cascade as the heavy threshold moves (cost-quality curve) ----
    product_curve = sweep(scores, [f[0] for f in from_tier], [f[heavy] for f in from_tier],
                          num_results=max(20, num_results))

    # ---- bootstrap intervals of every APGR: each curve above is a score on the weak/strong pair ----
    if n_boot > 0:
        curve_scores: dict[str, Sequence[float]] = {
            "random": const, "length": lengths,
            "oracle": oracle_scores([c[0] for c in correct], [c[top] for c in correct]), "classifier": scores,
        }
        if gate_available:
            curve_scores["gate"] = gate_scores
            curve_scores["cascade"] = combined_scores
        _attach_intervals(rows, curve_scores, [c[0] for c in correct], [c[top] for c in correct], n_boot, seed,
                          level, num_results)

    gate = gate_stats(gate_available, n, rej1, correct, top, reasons)
    report = Report(
        ds.name, ds.title, n, ds.models, ds.cost_unit, ds.answer_format, ds.notes, weak_acc, strong_acc,
        heavy_threshold, cloud_threshold, rows, gate, product_curve, n_boot=n_boot, ci_level=level,
    )
    if online_percents:
        report.online = online(ds, online_percents, seed, rej1 if gate_available else None, max(n_boot, 1), level)
    if verify_bands and m >= 3 and gate_available:
        th = 0.5 if math.isnan(heavy_threshold) else heavy_threshold
        report.verify = verify(ds, scores, start, rejected, th, verify_bands, gated, max(n_boot, 1), seed, level)
    report.seconds = time.perf_counter() - t0
    return report


def _attach_intervals(rows: list[RouterResult], curve_scores: dict[str, Sequence[float]], weak: Sequence[float],
                      strong: Sequence[float], n_boot: int, seed: int, level: float, num_results: int) -> None:
    from tiered_router.learn import PairOutcomes, bootstrap

    keys = [r.key for r in rows if r.key in curve_scores]
    intervals, _ = bootstrap([curve_scores[k] for k in keys], PairOutcomes.of(weak, strong), n_boot, seed, level,
                             num_results)
    by_key = dict(zip(keys, intervals, strict=True))
    for r in rows:
        iv = by_key.get(r.key)
        if iv is not None:
            r.apgr_ci = (iv.low, iv.high)


def _tier_labels(ds: Dataset) -> list[str]:
    if len(ds.models) == 2:
        return ["tier 1 (weak)", "strong"]
    return ["tier 1", "tier 2", "tier 3 (cloud)"][: len(ds.models)]


def _cheapest_correct(correct: Sequence[float], cost: Sequence[float]) -> int:
    right = [i for i, c in enumerate(correct) if c > 0]
    if not right:
        return min(range(len(cost)), key=lambda i: (cost[i], i))
    return min(right, key=lambda i: (cost[i], i))


def run(
    names: Sequence[str] = DATASETS,
    data_dir: Path | str | None = None,
    heavy: float | None = None,
    cloud: float | None = None,
    num_results: int = 10,
    classifier: Classifier | None = None,
    exclude: Sequence[tuple[str, str]] = (),
    n_boot: int = 1000,
    seed: int = 0,
    online_percents: Sequence[float] = (),
    verify_bands: Sequence[float] = (),
) -> list[Report]:
    """Load and replay each named dataset (or generic JSON Lines file) with the real gate and ``classifier``
    (the heuristic one by default; ``heavy``/``cloud`` are its thresholds, defaulting to its own).
    ``exclude`` drops the rows whose ``meta[key] == value``; the other options are :func:`evaluate`'s."""
    from tiered_router.classify import HeuristicClassifier, Thresholds

    base = Thresholds()
    th = Thresholds(heavy=base.heavy if heavy is None else heavy, cloud=base.cloud if cloud is None else cloud)
    classify_fn = classifier_fn(classifier or HeuristicClassifier(th))
    cache: dict[str, tuple[float, int]] = {}
    reports = []
    for name in names:
        t0 = time.perf_counter()
        ds = exclude_rows(load(name, data_dir), exclude)
        rep = evaluate(ds, classify_fn, default_gate, th.heavy, th.cloud, num_results=num_results, cache=cache,
                       n_boot=n_boot, seed=seed, online_percents=online_percents, verify_bands=verify_bands)
        rep.seconds = time.perf_counter() - t0
        reports.append(rep)
    return reports
