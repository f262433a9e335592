"""The ``tiered-router`` command: route, ask, simulate, demo, eval."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import AllTiersFailed, ConfigError, RouterError
from .tiers import Tier

# Piped output gets a wide fixed width rather than rich's 80 columns, so tables stay readable in logs.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True, soft_wrap=True)  # an error is one line, however narrow the terminal


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show configuration and routing errors as one clear line, never as a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _fail(str(exc), 2)
        except AllTiersFailed as exc:
            _fail(str(exc))
        except RouterError as exc:
            _fail(f"{getattr(exc, 'code', 'error')}: {exc}")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log routing decisions to stderr.")
@click.version_option(package_name="tiered-router")
def main(verbose: bool) -> None:
    """Route LLM requests across a small local model, a large local model and the cloud."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--tier", help="Force a tier (1/2/3 or a name).")
@_guarded
def route(text: str, as_json: bool, tier: str | None) -> None:
    """Classify TEXT only: the tier it would start on, its score and why. No model is called."""
    from .classify import HeuristicClassifier, decide_with
    from .config import load_settings

    classifier = HeuristicClassifier.from_settings(load_settings())
    try:
        decision = decide_with(classifier, text, {"tier": tier} if tier else None)
    except ValueError as exc:
        _fail(str(exc), 2)
    out = {"tier": int(decision.tier), "tier_name": decision.tier.name, "score": round(decision.score, 4),
           "reasons": list(decision.reasons)}
    if as_json:
        click.echo(json.dumps(out))
    else:
        console.print(f"tier {out['tier']} ({decision.tier.name})  score {out['score']}  "
                      f"reasons: {', '.join(decision.reasons) or '-'}", highlight=False)


@main.command()
@click.argument("text")
@click.option("--tier", help="Force a tier (1/2/3 or a name).")
@click.option("--no-cloud", is_flag=True, help="Never use the cloud tier for this request.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and routing record as JSON.")
@_guarded
def ask(text: str, tier: str | None, no_cloud: bool, as_json: bool) -> None:
    """Route TEXT for real (configured by TIER_* variables) and print the answer and how it was reached."""
    from .routing import TieredModelRouter

    context: dict[str, Any] = {"entry_point": "cli"}
    if tier:
        context["tier"] = tier
    if no_cloud:
        context["allow_cloud"] = False
    with TieredModelRouter(sinks=[]) as router:
        response = router.complete_sync(text, context)
        record = router.records[-1]
    if as_json:
        click.echo(json.dumps({"text": response.text, "record": record}, default=str))
        return
    console.print(response.text, highlight=False, markup=False)
    console.print()
    console.print(_attempts_table([record], title="routing"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=11434, show_default=True, type=int)
@click.option("--ttft-ms", default=None, type=float, help="Delay before the first token [env TIER_SIM_TTFT_MS].")
@click.option("--token-ms", default=None, type=float, help="Delay per token [env TIER_SIM_TOKEN_MS].")
def simulate(host: str, port: int, ttft_ms: float | None, token_ms: float | None) -> None:
    """Serve simulated models over the Ollama, OpenAI and Anthropic wire protocols.

    --ttft-ms/--token-ms default to $TIER_SIM_TTFT_MS/$TIER_SIM_TOKEN_MS, then 0."""
    import uvicorn

    from .server.http import HTTP_PROTOCOL
    from .sim import Simulator, create_app

    sim = Simulator(ttft_ms=ttft_ms, token_ms=token_ms)
    click.echo(f"simulator on http://{host}:{port} (Ollama /api/chat, OpenAI /v1/chat/completions, "
               f"Anthropic /v1/messages); Ctrl-C stops it", err=True)
    uvicorn.run(create_app(sim), host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=2, http=HTTP_PROTOCOL)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the routing records as JSON lines.")
@_guarded
def demo(as_json: bool) -> None:
    """Run a scripted session through all three tiers against the built-in simulator."""
    from .demo import run_demo

    records = run_demo()
    if as_json:
        for record in records:
            click.echo(json.dumps(record, default=str))
        return
    console.print(_attempts_table(records, title="tiered-router demo (simulated models)"))
    console.print("Each row is one request; 'path' shows every tier tried, with why a tier was left. "
                  "Markers like [[sim:refuse@llama3.1:8b]] in a prompt make the simulator misbehave on purpose.",
                  highlight=False, markup=False)
    from .budget import redact_url
    from .config import load_settings

    spent = sum(r["router.cost_usd"] for r in records)
    console.print(f"Logged to {redact_url(load_settings().db)}: see `tiered-router stats` and `tiered-router log`. "
                  f"The simulated cloud calls (${spent:.6f}) count against today's budget in that database; "
                  "set TIER_DB to keep demo runs apart.", highlight=False, markup=False)


@main.command()
@click.option("--host", default=None, help="Address to bind [env TIER_HOST; default 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port [env TIER_PORT; default 8080].")
@_guarded
def serve(host: str | None, port: int | None) -> None:
    """Serve the router: OpenAI /v1/chat/completions, Ollama /api/chat, metrics and the router API."""
    import uvicorn

    from .config import load_settings
    from .server.app import create_app
    from .server.http import http_protocol

    settings = load_settings()
    host = host or settings.host
    port = port if port is not None else settings.port
    app = create_app(settings=settings)
    if not settings.client_keys() and host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] serving on {host} with no TIER_API_KEYS: anyone who can reach it "
                          "can spend your cloud budget", highlight=False)
    click.echo(f"tiered-router on http://{host}:{port} (OpenAI /v1, Ollama /api, /metrics)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                http=http_protocol(settings.client_timeout_s), limit_concurrency=settings.max_connections)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_guarded
def budget(as_json: bool) -> None:
    """Show cloud spend, open reservations and what is left, today and this month."""
    from .budget import BudgetError
    from .config import load_settings
    from .routing.spend import Spend

    spend = Spend(load_settings())
    try:
        summary = spend.tracker.get_summary()
    except BudgetError as exc:
        _fail(f"budget ledger unavailable: {exc}")
    finally:
        spend.close()
    if as_json:
        click.echo(json.dumps(summary, default=str))
        return
    table = Table(title=f"cloud budget ({summary['timezone']}, {summary['db']})")
    for name in ("window", "spent $", "reserved $", "limit $", "remaining $", "calls"):
        table.add_column(name, justify="left" if name == "window" else "right")
    for key in ("daily", "monthly"):
        w = summary[key]
        limit = "-" if w["limit_usd"] is None else f"{w['limit_usd']:.4f}"
        remaining = "-" if w["remaining_usd"] is None else f"{w['remaining_usd']:.4f}"
        table.add_row(f"{key} {w['window']}", f"{w['spent_usd']:.6f}", f"{w['reserved_usd']:.6f}", limit,
                      remaining, str(w["calls"]))
    console.print(table)
    by_model = summary["monthly"].get("by_model") or {}
    if by_model:
        models = Table(title="this month by model")
        models.add_column("model")
        models.add_column("cost $", justify="right")
        for name, v in sorted(by_model.items(), key=lambda kv: -kv[1]["cost_usd"]):
            models.add_row(name, f"{v['cost_usd']:.6f}")
        console.print(models)


def _since_option(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    from .observe.stats import parse_since

    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _tier_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    try:
        return int(Tier.parse(value)) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _log_store() -> tuple[Any, Any]:
    from .config import load_settings
    from .observe.store import RoutingLogStore

    settings = load_settings()
    return settings, RoutingLogStore.from_settings(settings)


@main.command()
@click.option("--since", "since_s", default="24h", show_default=True, callback=_since_option,
              help="Look back this far: 30m, 24h, 7d, or all.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@_guarded
def stats(since_s: float | None, as_json: bool) -> None:
    """What the router decided and spent: requests per tier, escalations, latency, spend (from the routing log)."""
    from .observe.stats import compute_stats
    from .observe.store import LogStoreError

    settings, store = _log_store()
    try:
        budget, budget_error = _budget_summary(settings, store)
        figures = compute_stats(store, since_s, budget, budget_error=budget_error, timezone=settings.budget_timezone)
    except LogStoreError as exc:
        _fail(str(exc))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(figures, default=str))
        return
    window = "all time" if since_s is None else f"since {figures['since']}"
    if not figures["requests"]:
        console.print(f"no requests logged yet ({window}, {store.db_description})", highlight=False)
        return
    esc, t1 = figures["escalations"], figures["tier1_failures"]
    tiers = Table(title=f"{figures['requests']} requests, {window} ({store.db_description})")
    for name in ("final tier", "requests", "share", "p50 ms", "p95 ms", "cost $"):
        tiers.add_column(name, justify="left" if name == "final tier" else "right")
    for key, t in figures["tiers"].items():
        lat = figures["latency_ms"].get(key, {})
        tiers.add_row("no answer" if key == "none" else f"tier {key}", str(t["count"]), f"{t['share']:.1%}",
                      _num(lat.get("p50")), _num(lat.get("p95")), f"{t['cost_usd']:.6f}")
    console.print(tiers)
    console.print(f"escalated {esc['count']} ({esc['rate']:.1%})   degraded {figures['degraded']['count']}   "
                  f"errors {figures['errors']['count']}   tier-1 answers rejected or failed {t1['count']} of "
                  f"{t1['attempts']} ({t1['rate']:.1%})   spent ${figures['spend']['total_usd']:.6f}",
                  highlight=False)
    reasons = Table(title="why requests moved up")
    for name in ("kind", "reason", "count"):
        reasons.add_column(name, justify="right" if name == "count" else "left")
    for r in esc["top_reasons"]:
        reasons.add_row("escalation", escape(r["reason"]), str(r["count"]))
    for r in t1["reasons"]:
        reasons.add_row(f"tier 1 {r['outcome']}", escape(r["reason"]), str(r["count"]))
    for r in figures["degraded"]["top_reasons"]:
        reasons.add_row("degraded", escape(r["reason"]), str(r["count"]))
    for r in figures["errors"]["by_type"]:
        reasons.add_row("error", escape(r["type"]), str(r["count"]))
    if reasons.row_count:
        console.print(reasons)
    models = Table(title="spend by model (every attempt)")
    for name in ("model", "tier", "calls", "tokens in", "tokens out", "cost $"):
        models.add_column(name, justify="left" if name == "model" else "right")
    for m in figures["spend"]["by_model"]:
        models.add_row(escape(m["model"]), str(m["tier"]), str(m["calls"]), str(m["input_tokens"]),
                       str(m["output_tokens"]), f"{m['cost_usd']:.6f}")
    console.print(models)
    days = Table(title=f"by day ({figures['timezone']})")
    for name in ("day", "requests", "cost $"):
        days.add_column(name, justify="left" if name == "day" else "right")
    for d in figures["spend"]["by_day"]:
        days.add_row(d["day"], str(d["requests"]), f"{d['cost_usd']:.6f}")
    console.print(days)
    budget = figures["budget"]
    if budget:
        parts = []
        for key in ("daily", "monthly"):
            w = budget[key]
            limit = "no limit" if w["limit_usd"] is None else f"of ${w['limit_usd']:.2f}"
            parts.append(f"{key} ${w['spent_usd']:.6f} {limit}")
        console.print("cloud budget ledger: " + ", ".join(parts), highlight=False)


def _budget_summary(settings: Any, store: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The ledger's summary when there is a cloud tier and a ledger to read (an unreadable one is no error)."""
    from .observe.stats import read_budget
    from .routing.spend import Spend

    if not settings.cloud_enabled or not store.exists():
        return None, None
    spend = Spend(settings)
    try:
        return read_budget(lambda: spend.tracker.get_summary())
    finally:
        spend.close()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@main.command(name="log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many requests.")
@click.option("--tier", callback=_tier_option, help="Only requests answered by this tier (1/2/3 or a name).")
@click.option("--escalated", is_flag=True, help="Only requests that escalated.")
@click.option("--since", "since_s", default="all", callback=_since_option, help="Look back this far: 30m, 24h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines, newest first.")
@_guarded
def log_(limit: int, tier: int | None, escalated: bool, since_s: float | None, as_json: bool) -> None:
    """The latest routing decisions from the routing log, newest first."""
    from .observe.store import LogStoreError

    _settings, store = _log_store()
    try:
        records = store.recent(limit, tier=tier, escalated=True if escalated else None,
                               since=None if since_s is None else time.time() - since_s)
    except LogStoreError as exc:
        _fail(str(exc))
    finally:
        store.close()
    if as_json:
        for record in records:
            click.echo(json.dumps(record, default=str))
        return
    if not records:
        console.print(f"no requests logged yet ({store.db_description})", highlight=False)
        return
    table = Table(title=f"latest {len(records)} routing decisions ({store.db_description})")
    for name in ("time", "request", "entry", "tiers", "model", "path", "ms", "cost $", "status"):
        table.add_column(name, justify="right" if name in ("ms", "cost $") else "left")
    for r in records:
        forced = r["router.forced_tier"]
        start = f"{forced}!" if forced else str(r["router.classified_tier"] or "-")
        status = r["router.status"] if r["router.status"] == "ok" else f"{r['router.status']}: {r['error.type']}"
        table.add_row(
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["time"])), escape(r["request_id"]),
            escape(r["router.entry_point"] or "-"), f"{start}→{r['router.final_tier'] or '-'}",
            escape(r["gen_ai.response.model"] or "-"), escape(_path(r)), f"{r['router.latency_ms']:.1f}",
            f"{r['router.cost_usd']:.6f}", escape(status),
        )
    console.print(table)
    console.print("tiers: start→final ('!' = forced); path: every tier tried, with why it was left.",
                  highlight=False, markup=False)


@main.command()
@click.argument("request_id")
@click.argument("score")
@click.option("--comment", default=None, help="Why (kept with the feedback, at most 2000 characters).")
@_guarded
def feedback(request_id: str, score: str, comment: str | None) -> None:
    """Say how good the answer to REQUEST_ID was: SCORE is good, bad, or a number from 0 (bad) to 1 (good).

    Stored with the request in the routing log, where `tiered-router learn` reads it; sending it again
    replaces it."""
    from .observe.store import Judgement, LogStoreError, parse_score

    try:
        value = parse_score(score)
    except ValueError as exc:
        _fail(str(exc), 2)
    settings, store = _log_store()
    if not settings.log_enabled:
        _fail("feedback is kept in the routing log, which is off (TIER_LOG_ENABLED=false)", 2)
    try:
        found = store.add_judgement(Judgement(request_id, "feedback", value, comment or None))
    except LogStoreError as exc:
        _fail(str(exc))
    finally:
        store.close()
    if not found:
        _fail(f"no request {request_id!r} in the routing log ({store.db_description}); "
              "`tiered-router log` lists the latest request ids")
    console.print(f"feedback on {request_id}: {value:g}" + (f" ({comment})" if comment else ""), highlight=False,
                  markup=False)


@main.command(name="eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_(path: Path, as_json: bool) -> None:
    """Score the classifier on a JSONL file of {"prompt", "tier"} rows."""
    from rich.progress import track

    from .classify import HeuristicClassifier, decide_with
    from .config import load_settings

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
    from .evaluate import DATASETS, run
    from .evaluate.report import markdown, rich_tables, update_section
    from .evaluate.verify import DEFAULT_BANDS

    if dataset == "all":
        names: tuple[str, ...] = DATASETS
    elif dataset in DATASETS or Path(dataset).is_file():
        names = (dataset,)
    else:
        _fail(f"unknown dataset {dataset!r}: use {', '.join(DATASETS)}, all, or a .jsonl file", 2)
    try:
        percents = [float(x) for spec in online_pct for x in spec.split(",") if x.strip()]
        bands: list[float] = []
        if verify_bands:
            bands = list(DEFAULT_BANDS) if verify_bands.strip() == "sweep" else [
                float(x) for x in verify_bands.split(",") if x.strip()]
    except ValueError as exc:
        _fail(f"--online takes percentages and --verify band widths: {exc}", 2)
    if any(not 0 < p < 100 for p in percents):
        _fail("--online takes percentages between 0 and 100", 2)
    if any(not 0 <= b <= 1 for b in bands):
        _fail("--verify takes band widths between 0 and 1", 2)
    pairs = []
    for spec in exclude:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            _fail(f"--exclude takes KEY=VALUE, got {spec!r}", 2)
        pairs.append((key, value))
    try:
        reports = run(names, data_dir, exclude=pairs, n_boot=n_boot, seed=seed, online_percents=percents,
                      verify_bands=bands)
    except FileNotFoundError as exc:
        _fail(f"benchmark data not found: {exc} (set TIER_EVAL_DIR or --data-dir)", 2)
    except ValueError as exc:
        _fail(str(exc), 2)
    if plot_path is not None:
        from .evaluate.plot import plot_report

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
            _fail(f"{path}:{number}: expected {{\"prompt\": str, \"tier\": 1|2|3}} ({exc})", 2)
        rows.append(row)
    if not rows:
        _fail(f"{path}: no rows", 2)
    return rows


def _path(record: dict[str, Any]) -> str:
    steps = []
    for a in record["router.attempts"]:
        detail = a["error.type"] or (a["router.quality"] if a["router.outcome"] == "rejected" else "")
        detail = detail or (a["router.error"] if a["router.outcome"] == "skipped" else "")
        steps.append(f"{a['tier']}:{a['router.outcome']}" + (f"({detail})" if detail else ""))
    return " → ".join(steps) or "-"


def _attempts_table(records: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for name in ("#", "request", "start", "final", "model", "path", "ms", "cost $"):
        table.add_column(name, justify="left" if name in ("request", "model", "path") else "right")
    for i, r in enumerate(records, 1):
        forced = r["router.forced_tier"]
        start = f"{forced} (forced)" if forced else str(r["router.classified_tier"])
        table.add_row(
            str(i), escape(r.get("demo.label", r["request_id"][:8])), start, str(r["router.final_tier"] or "-"),
            r["gen_ai.response.model"] or "-", escape(_path(r)), f"{r['router.latency_ms']:.1f}",
            f"{r['router.cost_usd']:.6f}",
        )
    return table


if __name__ == "__main__":
    main()
