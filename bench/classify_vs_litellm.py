"""Classification time per prompt: tiered-router's classifier against LiteLLM's rule-based complexity router.

Both run in this one invocation on the same prompts and machine: ours in-process, LiteLLM's
(``auto_router/complexity_router``, its default heuristic scorer) in a subprocess of the LiteLLM
virtualenv that ``bench/proxy_overhead.py`` installs (``bench/.litellm-venv``; pass
``--install-litellm`` to create it here). Also prints each classifier's agreement with the dev
labels, mapping LiteLLM's SIMPLE/MEDIUM to tier 1 and COMPLEX/REASONING to tier 2.

    .venv/bin/python bench/classify_vs_litellm.py [--reps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine, machine_line
from tiered_router.classify import classify

REPO = Path(__file__).resolve().parent.parent
LITELLM_PY = REPO / "bench" / ".litellm-venv" / "bin" / "python"
EVAL = Path(os.environ.get("TIER_EVAL_DIR", REPO.parent / "shared" / "eval"))

# Runs inside the LiteLLM venv: times ComplexityRouter.classify on the prompts in argv[1].
LITELLM_TIMER = r"""
import json, sys, time, statistics, logging
logging.disable(logging.WARNING)
from litellm.router_strategy.complexity_router.complexity_router import ComplexityRouter
router = ComplexityRouter(model_name="auto", litellm_router_instance=None, derive_savings_baseline=False,
    complexity_router_config={"tiers": {"SIMPLE": "a", "MEDIUM": "a", "COMPLEX": "b", "REASONING": "b"}})
sets = json.load(open(sys.argv[1])); reps = int(sys.argv[2]); out = {}
for name, prompts in sets.items():
    for p in prompts: router.classify(p)
    times = []
    for _ in range(reps):
        for p in prompts:
            t = time.perf_counter_ns(); router.classify(p); times.append(time.perf_counter_ns() - t)
    names = [getattr(t, "value", str(t)) for t in (router.classify(p)[0] for p in prompts)]
    tiers = [1 if n in ("SIMPLE", "MEDIUM") else 2 for n in names]
    out[name] = {"times_ns": times, "tiers": tiers}
print(json.dumps(out))
"""


def synthetic_prompts(n: int = 40, size: int = 2048) -> list[str]:
    """Deterministic ~2 kB prompts mixing game actions, questions and planning language."""
    parts = ["Walk to the next room and check the chest.", "What is the capital of Italy?",
             "Plan a route through the Ashlands that avoids storms, explaining each leg.",
             "def parse(line):\n    return line.split(',')\n", "Compare the three approaches and recommend one.",
             "The guard says the bridge is closed until dawn; the merchant wants 40 gold."]
    prompts = []
    for i in range(n):
        text, j = "", i
        while len(text) < size:
            text += parts[j % len(parts)] + " "
            j += 3
        prompts.append(text[:size])
    return prompts


def summary(times_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(times_ns)
    return statistics.median(ordered) / 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1000


def time_ours(prompts: list[str], reps: int) -> tuple[list[int], list[int]]:
    for p in prompts:
        classify(p)
    times = []
    for _ in range(reps):
        for p in prompts:
            t = time.perf_counter_ns()
            classify(p)
            times.append(time.perf_counter_ns() - t)
    return times, [int(classify(p).tier) for p in prompts]


def time_litellm(sets: dict[str, list[str]], reps: int) -> dict[str, dict] | None:
    if not LITELLM_PY.exists():
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(sets, fh)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}
    try:
        done = subprocess.run([str(LITELLM_PY), "-c", LITELLM_TIMER, fh.name, str(reps)], capture_output=True,
                              text=True, timeout=600, env=env)
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        print(f"LiteLLM timing failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200, help="passes over each prompt set")
    ap.add_argument("--install-litellm", action="store_true", help="create bench/.litellm-venv if missing")
    args = ap.parse_args()
    if args.install_litellm and not LITELLM_PY.exists():
        from proxy_overhead import ensure_litellm

        ensure_litellm()
    rows = [json.loads(line) for line in (EVAL / "tiers_dev.jsonl").read_text().splitlines() if line.strip()]
    sets = {"dev set": [r["prompt"] for r in rows], "synthetic ~2 kB": synthetic_prompts()}
    labels = [int(r["tier"]) for r in rows]
    theirs = time_litellm(sets, max(1, args.reps // 4))

    table = Table(title="classification time per prompt (µs), one run, same prompts")
    for name in ("prompts", "classifier", "median µs", "p99 µs", "dev accuracy", "tier-2 → tier 1"):
        table.add_column(name, justify="left" if name in ("prompts", "classifier") else "right")
    for name, prompts in sets.items():
        times, tiers = time_ours(prompts, args.reps)
        med, p99 = summary(times)
        acc = under = ""
        if name == "dev set":
            acc = f"{sum(a == b for a, b in zip(tiers, labels, strict=True)) / len(labels):.3f}"
            under = f"{sum(a == 1 and b == 2 for a, b in zip(tiers, labels, strict=True))}/{labels.count(2)}"
        table.add_row(name, "tiered-router", f"{med:.1f}", f"{p99:.1f}", acc, under)
        if theirs is None:
            table.add_row(name, "LiteLLM complexity_router", "not installed", "", "", "")
            continue
        med, p99 = summary(theirs[name]["times_ns"])
        acc = under = ""
        if name == "dev set":
            lt = theirs[name]["tiers"]
            acc = f"{sum(a == b for a, b in zip(lt, labels, strict=True)) / len(labels):.3f}"
            under = f"{sum(a == 1 and b == 2 for a, b in zip(lt, labels, strict=True))}/{labels.count(2)}"
        table.add_row(name, "LiteLLM complexity_router", f"{med:.1f}", f"{p99:.1f}", acc, under)
    console = Console(width=130)
    console.print(table)
    console.print(machine_line(machine(["litellm"] if theirs else [])), highlight=False)


if __name__ == "__main__":
    main()
