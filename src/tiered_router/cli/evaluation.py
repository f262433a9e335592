"""Commands that measure routing: eval (the classifier on labelled prompts) and bench-routing (the cascade
replayed on recorded benchmark answers)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..tiers import Tier
from .app import (
    console,
    err_console,
    fail,
    main,
)


@main.command(name="eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_(path: Path, as_json: bool) -> None:
    """Score the classifier on a JSONL file of {"prompt", "tier"} rows."""
    from rich.progress import track

    from ..classify import HeuristicClassifier, decide_with
    from ..config import load_settings

    classifier = HeuristicClassifier.from_settings(load_settings())
    rows = _read_labelled(path)
    confusion = {(a, p): 0 for a in Tier for p in Tier}
    elapsed_ns = 0
    for row in track(rows, description="classifying", console=err_console, disable=as_json):
        t0 = time.perf_counter_ns()
        decision = decide_with(classifier, row["prompt"])
        elapsed_ns += time.perf_counter_ns() - t0
        confusion[(Tier.parse(row["tier"]), decision.tier)] += 1
    total = len(rows)
    correct = sum(n for (a, p), n in confusion.items() if a == p)
    heavy = sum(n for (a, _), n in confusion.items() if a == Tier.LOCAL_HEAVY)
    under = confusion[(Tier.LOCAL_HEAVY, Tier.LOCAL_FAST)]
    figures = {
        "rows": total, "accuracy": correct / total if total else 0.0,
        "tier2_to_tier1_rate": under / heavy if heavy else 0.0,
        "mean_classify_us": elapsed_ns / total / 1000 if total else 0.0,
        "confusion": {f"{int(a)}->{int(p)}": n for (a, p), n in confusion.items()},
    }
    if as_json:
        click.echo(json.dumps(figures))
        return
    table = Table(title=f"confusion matrix ({total} rows): actual ↓ / predicted →")
    table.add_column("actual")
    for p in Tier:
        table.add_column(f"tier {int(p)}", justify="right")
    for a in Tier:
        table.add_row(f"tier {int(a)}", *(str(confusion[(a, p)]) for p in Tier))
    console.print(table)
    console.print(f"accuracy {figures['accuracy']:.3f}   tier-2 rows sent to tier 1: "
                  f"{figures['tier2_to_tier1_rate']:.3f}   mean classification {figures['mean_classify_us']:.1f} µs",
                  highlight=False)


@main.command(name="bench-routing")
@click.argument("dataset", metavar="DATASET")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the cost-quality curve (PNG; with 'all', one file per dataset: NAME-<dataset>.png).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (every APGR with its interval).")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Benchmark data [env TIER_EVAL_DIR; default <repo>/../shared/eval].")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the table into this Markdown file, between the routing-eval markers.")
@click.option("--online", "online_pct", multiple=True, metavar="K",
              help="Train the learner on the first K% of the outcomes (seeded order), score on the rest; "
                   "repeat or list (10,25,50).")
@click.option("--verify", "verify_bands", metavar="BAND",
              help="Score the second opinion at these band widths around the heavy threshold (0.2, a list "
                   "0.1,0.2,0.5, or 'sweep').")
@click.option("--exclude", "exclude", multiple=True, metavar="KEY=VALUE",
              help="Leave out the rows whose meta KEY is VALUE (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the online order and the bootstrap.")
@click.option("--n-boot", type=click.IntRange(0, 100_000), default=1000, show_default=True,
              help="Bootstrap resamples for the confidence intervals (0: none).")
def bench_routing(dataset: str, plot_path: Path | None, as_json: bool, data_dir: Path | None, md_path: Path | None,
                  online_pct: tuple[str, ...], verify_bands: str | None, exclude: tuple[str, ...], seed: int,
                  n_boot: int) -> None:
    """Replay the cascade on recorded answers: accuracy, cost, APGR (with confidence intervals) and CPT, no
    model called. DATASET is arc, mbpp, gsm8k, mmlu, all, or a JSON Lines file of recorded outcomes in the
    generic format (docs/routing-eval.md)."""
    from ..evaluate import DATASETS, run
    from ..evaluate.report import markdown, rich_tables, update_section
    from ..evaluate.verify import DEFAULT_BANDS

    if dataset == "all":
        names: tuple[str, ...] = DATASETS
    elif dataset in DATASETS or Path(dataset).is_file():
        names = (dataset,)
    else:
        fail(f"unknown dataset {dataset!r}: use {', '.join(DATASETS)}, all, or a .jsonl file", 2)
    try:
        percents = [float(x) for spec in online_pct for x in spec.split(",") if x.strip()]
        bands: list[float] = []
        if verify_bands:
            bands = list(DEFAULT_BANDS) if verify_bands.strip() == "sweep" else [
                float(x) for x in verify_bands.split(",") if x.strip()]
    except ValueError as exc:
        fail(f"--online takes percentages and --verify band widths: {exc}", 2)
    if any(not 0 < p < 100 for p in percents):
        fail("--online takes percentages between 0 and 100", 2)
    if any(not 0 <= b <= 1 for b in bands):
        fail("--verify takes band widths between 0 and 1", 2)
    pairs = []
    for spec in exclude:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            fail(f"--exclude takes KEY=VALUE, got {spec!r}", 2)
        pairs.append((key, value))
    try:
        reports = run(names, data_dir, exclude=pairs, n_boot=n_boot, seed=seed, online_percents=percents,
                      verify_bands=bands)
    except FileNotFoundError as exc:
        fail(f"benchmark data not found: {exc} (set TIER_EVAL_DIR or --data-dir)", 2)
    except ValueError as exc:
        fail(str(exc), 2)
    if plot_path is not None:
        from ..evaluate.plot import plot_report

        for rep in reports:
            target = plot_path if len(reports) == 1 else plot_path.with_name(
                f"{plot_path.stem}-{rep.dataset}{plot_path.suffix or '.png'}")
            plot_report(rep, target)
            err_console.print(f"plot: {target}", highlight=False)
    if md_path is not None:
        update_section(md_path, markdown(reports))
        err_console.print(f"table: {md_path}", highlight=False)
    if as_json:
        click.echo(json.dumps([rep.to_dict(curves=True) for rep in reports]))
        return
    for table in rich_tables(reports):
        console.print(table)


def _read_labelled(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            Tier.parse(row["tier"])
            if not isinstance(row["prompt"], str):
                raise TypeError("prompt must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            fail(f"{path}:{number}: expected {{\"prompt\": str, \"tier\": 1|2|3}} ({exc})", 2)
        rows.append(row)
    if not rows:
        fail(f"{path}: no rows", 2)
    return rows
