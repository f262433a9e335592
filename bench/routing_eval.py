"""Replay the router on the four recorded routing benchmarks and publish the results.

    .venv/bin/python bench/routing_eval.py [--data-dir DIR] [--no-publish] [--seed N] [--n-boot N]

Writes the ARC-Challenge cost-quality plot to docs/img/routing-arc.png, the table into BENCHMARKS.md
(between the routing-eval markers), and every plot plus the full figures as JSON to artifacts/. Needs
matplotlib. Every APGR has a bootstrap interval; each data set is also scored with the learner trained
online on 10, 25 and 50 % of its outcomes, and the second opinion at a sweep of band widths (three-tier
sets with answers). MMLU is scored a second time without its ``moral_scenarios`` subject (a row's
``meta``, excluded as ``--exclude subject=moral_scenarios`` would). The same run, one dataset at a time:
``tiered-router bench-routing DATASET --online 10,25,50 --verify sweep``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console

from tiered_router.evaluate import DATASETS, run
from tiered_router.evaluate.online import DEFAULT_PERCENTS
from tiered_router.evaluate.plot import plot_report
from tiered_router.evaluate.report import markdown, rich_tables, update_section
from tiered_router.evaluate.verify import DEFAULT_BANDS

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="benchmark data [env TIER_EVAL_DIR; default ../shared/eval]")
    parser.add_argument("--no-publish", action="store_true",
                        help="write only to artifacts/, not docs/ or BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=0, help="seed of the online order and the bootstrap")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    reports = run(DATASETS, args.data_dir, n_boot=args.n_boot, seed=args.seed, online_percents=DEFAULT_PERCENTS,
                  verify_bands=DEFAULT_BANDS)
    reports += run(("mmlu",), args.data_dir, exclude=[("subject", "moral_scenarios")], n_boot=args.n_boot,
                   seed=args.seed, online_percents=DEFAULT_PERCENTS)
    elapsed = time.perf_counter() - t0
    artifacts = REPO / "artifacts"
    artifacts.mkdir(exist_ok=True)
    for rep in reports:
        plot_report(rep, artifacts / f"routing-{rep.dataset}.png")
    (artifacts / "routing-eval.json").write_text(json.dumps([r.to_dict() for r in reports], indent=1), "utf-8")
    (artifacts / "routing-eval.md").write_text(markdown(reports), "utf-8")
    if not args.no_publish:
        arc = next(r for r in reports if r.dataset == "arc")
        plot_report(arc, REPO / "docs" / "img" / "routing-arc.png", dpi=80)
        update_section(REPO / "BENCHMARKS.md", markdown(reports))

    console = Console(width=160)
    for table in rich_tables(reports):
        console.print(table)
    console.print(f"replayed {sum(r.n for r in reports)} prompts in {elapsed:.1f} s; outputs in {artifacts}"
                  + ("" if args.no_publish else ", docs/img/routing-arc.png, BENCHMARKS.md"), highlight=False)


if __name__ == "__main__":
    main()
