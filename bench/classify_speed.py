"""Time ``tiered_router.classify`` per prompt: the shared dev set and synthetic ~2 kB prompts.

Usage: .venv/bin/python bench/classify_speed.py [--reps N]

Each prompt is classified once to warm up, then timed ``--reps`` times with ``time.perf_counter_ns``;
the table shows the median and p99 of all per-call timings, in microseconds. The dev set is read from
``$TIER_EVAL_DIR/tiers_dev.jsonl`` (default ``<repo>/../shared/eval``); a built-in sample of short prompts
is used when it is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter_ns

from rich.console import Console
from rich.table import Table

from tiered_router.classify import classify

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = Path(os.environ.get("TIER_EVAL_DIR", REPO.parent / "shared" / "eval"))
TARGET_MEDIAN_US = 50.0

FALLBACK_PROMPTS = [
    "Walk to the next room",
    "What is the capital of Italy?",
    "Plan the optimal path to become Hortator",
    "Design a REST API for a library system with loans, holds, fines and notifications; explain versioning.",
]

_SENTENCES = [
    "The service handles about 1,200 requests per second at peak and stores events in PostgreSQL.",
    "Customers complain that the dashboard sometimes shows stale numbers after a deploy.",
    "We tried increasing the cache TTL to 300 seconds, but the problem got worse.",
    "The team has two backend engineers and one part-time SRE.",
    "Our budget for new infrastructure this quarter is $8,000.",
    "def load(user_id):\n    rows = db.query('select * from events where user_id = %s', user_id)\n    return rows",
    "The guard at the north gate asks for a toll of 30 gold coins.",
    "Compare the two options and recommend one, considering cost, risk and time to ship.",
    "Please keep the answer short and avoid jargon where you can.",
    "In the second chapter the hero loses her map and must find another way through the marsh.",
]
_QUESTIONS = [
    "What is going wrong, and how should we fix it?",
    "Summarize the situation in three bullet points.",
    "Walk to the next room.",
    "Design a plan that solves this without downtime.",
]


def synthetic_prompts(n: int = 40, size: int = 2048, seed: int = 7) -> list[str]:
    """Realistic-looking ~2 kB prompts: context sentences (prose, numbers, code) and a final request."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size - 120:
            parts.append(rng.choice(_SENTENCES))
        parts.append(rng.choice(_QUESTIONS))
        prompts.append(" ".join(parts)[:size])
    return prompts


def dev_prompts() -> tuple[str, list[str]]:
    path = EVAL_DIR / "tiers_dev.jsonl"
    if not path.exists():
        return "built-in sample (dev set missing)", FALLBACK_PROMPTS
    with path.open(encoding="utf-8") as fh:
        prompts = [json.loads(line)["prompt"] for line in fh if line.strip()]
    return f"tiers_dev.jsonl ({len(prompts)} prompts)", prompts


def time_prompts(prompts: Sequence[str], reps: int) -> list[int]:
    for p in prompts:  # warm-up
        classify(p)
    samples: list[int] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(reps):
            for p in prompts:
                t0 = perf_counter_ns()
                classify(p)
                samples.append(perf_counter_ns() - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def percentile(sorted_samples: Sequence[int], q: float) -> float:
    idx = min(len(sorted_samples) - 1, max(0, round(q * (len(sorted_samples) - 1))))
    return float(sorted_samples[idx])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="timed repetitions per prompt (default 300)")
    args = parser.parse_args(argv)

    console = Console()
    dev_label, dev = dev_prompts()
    synth = synthetic_prompts()
    rows = [
        (dev_label, dev, sum(map(len, dev)) / len(dev)),
        (f"synthetic ~2 kB ({len(synth)} prompts)", synth, sum(map(len, synth)) / len(synth)),
    ]

    table = Table(title="tiered_router.classify: time per call (µs)")
    table.add_column("prompts")
    table.add_column("mean chars", justify="right")
    table.add_column("calls", justify="right")
    table.add_column("median µs", justify="right")
    table.add_column("p99 µs", justify="right")
    medians = []
    for label, prompts, mean_chars in rows:
        samples = sorted(time_prompts(prompts, args.reps))
        med = statistics.median(samples) / 1000
        medians.append(med)
        table.add_row(
            label, f"{mean_chars:.0f}", str(len(samples)), f"{med:.1f}", f"{percentile(samples, 0.99) / 1000:.1f}"
        )

    console.print(table)
    console.print(
        f"machine: {platform.platform()} | CPU: {cpu_model()} ({os.cpu_count()} logical) | "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )
    console.print(f"date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    verdict = "met" if medians[0] < TARGET_MEDIAN_US else "NOT met"
    console.print(f"target: dev-set median < {TARGET_MEDIAN_US:.0f} µs -> {verdict} ({medians[0]:.1f} µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
