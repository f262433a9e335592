"""Time the learned classifier's decision (``learn.BlendedClassifier``) against the heuristic alone.

Usage: .venv/bin/python bench/learned_speed.py [--reps N]

A model is trained on the dev set's own labels (``$TIER_EVAL_DIR/tiers_dev.jsonl``: tier 2 = the stronger
tier is needed); the weights' values do not change the time, only the number of features read does. Each
prompt is classified once to warm up, then timed ``--reps`` times; the table shows the median and p99 of
all per-call timings in microseconds, for the heuristic alone, the blended decision, and the learned
model's part (features and dot product) on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from time import perf_counter_ns

from rich.console import Console
from rich.table import Table

from classify_speed import cpu_model, dev_prompts, percentile, synthetic_prompts
from tiered_router.chat import read_leniently
from tiered_router.classify import HeuristicClassifier
from tiered_router.learn import BlendedClassifier, featurize, fit
from tiered_router.options import RouteOptions

TARGET_MEDIAN_US = 50.0


def time_calls(fn: Callable[[object], object], inputs: Sequence[object], reps: int) -> list[int]:
    for x in inputs:  # warm-up
        fn(x)
    samples: list[int] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(reps):
            for x in inputs:
                t0 = perf_counter_ns()
                fn(x)
                samples.append(perf_counter_ns() - t0)
    finally:
        if enabled:
            gc.enable()
    return sorted(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="timed repetitions per prompt (default 300)")
    args = parser.parse_args(argv)
    dev_label, dev = dev_prompts()
    synth = synthetic_prompts()
    # Labels for the timing model: long prompts "need" the stronger tier. Any labels do; these need no file.
    labels = [1.0 if len(p) > 60 else 0.0 for p in dev + synth]
    model = fit(dev + synth, labels)
    heuristic = HeuristicClassifier()
    blended = BlendedClassifier(heuristic, model)
    options = RouteOptions()

    table = Table(title="learned classifier: time per decision (µs)")
    for name in ("prompts", "decision", "mean chars", "calls", "median µs", "p99 µs"):
        table.add_column(name, justify="left" if name in ("prompts", "decision") else "right")
    medians: dict[tuple[str, str], float] = {}
    for label, prompts in ((dev_label, dev), (f"synthetic ~2 kB ({len(synth)} prompts)", synth)):
        messages = [read_leniently(p) for p in prompts]
        decisions = [heuristic.decide(m, options) for m in messages]
        pairs = list(zip(messages, decisions, strict=True))
        cases: list[tuple[str, Callable[[object], object], Sequence[object]]] = [
            ("heuristic alone", lambda m: heuristic.decide(m, options), messages),  # type: ignore[arg-type]
            ("blended (heuristic + learned)", lambda m: blended.decide(m, options), messages),  # type: ignore[arg-type]
            ("learned part only", lambda md: model.score_row(featurize(md[0], md[1], model.config)),  # type: ignore[index]
             pairs),
        ]
        mean_chars = sum(map(len, prompts)) / len(prompts)
        for case, fn, inputs in cases:
            samples = time_calls(fn, inputs, args.reps)
            med = statistics.median(samples) / 1000
            medians[(label, case)] = med
            table.add_row(label, case, f"{mean_chars:.0f}", str(len(samples)), f"{med:.1f}",
                          f"{percentile(samples, 0.99) / 1000:.1f}")
    console = Console()
    console.print(table)
    console.print(f"machine: {platform.platform()} | CPU: {cpu_model()} ({os.cpu_count()} logical) | "
                  f"Python {platform.python_version()} | date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}")
    med = medians[(dev_label, "blended (heuristic + learned)")]
    console.print(f"target: dev-set median of the blended decision < {TARGET_MEDIAN_US:.0f} µs -> "
                  f"{'met' if med < TARGET_MEDIAN_US else 'NOT met'} ({med:.1f} µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
