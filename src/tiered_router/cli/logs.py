"""Commands that read the routing log: stats, log, feedback."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .app import (
    console,
    fail,
    guarded,
    main,
    num,
    open_log,
    path_of,
    since_option,
    tier_option,
)


@main.command()
@click.option("--since", "since_s", default="24h", show_default=True, callback=since_option,
              help="Look back this far: 30m, 24h, 7d, or all.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@guarded
def stats(since_s: float | None, as_json: bool) -> None:
    """What the router decided and spent: requests per tier, escalations, latency, spend (from the routing log)."""
    from ..observe.stats import compute_stats
    from ..observe.store import LogStoreError

    settings, store = open_log()
    try:
        budget, budget_error = _budget_summary(settings, store)
        figures = compute_stats(store, since_s, budget, budget_error=budget_error, timezone=settings.budget_timezone)
    except LogStoreError as exc:
        fail(str(exc))
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
                      num(lat.get("p50")), num(lat.get("p95")), f"{t['cost_usd']:.6f}")
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
    from ..observe.stats import read_budget
    from ..routing.spend import Spend

    if not settings.cloud_enabled or not store.exists():
        return None, None
    spend = Spend(settings)
    try:
        return read_budget(lambda: spend.tracker.get_summary())
    finally:
        spend.close()


@main.command(name="log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many requests.")
@click.option("--tier", callback=tier_option, help="Only requests answered by this tier (1/2/3 or a name).")
@click.option("--escalated", is_flag=True, help="Only requests that escalated.")
@click.option("--since", "since_s", default="all", callback=since_option, help="Look back this far: 30m, 24h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines, newest first.")
@guarded
def log_(limit: int, tier: int | None, escalated: bool, since_s: float | None, as_json: bool) -> None:
    """The latest routing decisions from the routing log, newest first."""
    from ..observe.store import LogStoreError

    _settings, store = open_log()
    try:
        records = store.recent(limit, tier=tier, escalated=True if escalated else None,
                               since=None if since_s is None else time.time() - since_s)
    except LogStoreError as exc:
        fail(str(exc))
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
            escape(r["gen_ai.response.model"] or "-"), escape(path_of(r)), f"{r['router.latency_ms']:.1f}",
            f"{r['router.cost_usd']:.6f}", escape(status),
        )
    console.print(table)
    console.print("tiers: start→final ('!' = forced); path: every tier tried, with why it was left.",
                  highlight=False, markup=False)


@main.command()
@click.argument("request_id")
@click.argument("score")
@click.option("--comment", default=None, help="Why (kept with the feedback, at most 2000 characters).")
@guarded
def feedback(request_id: str, score: str, comment: str | None) -> None:
    """Say how good the answer to REQUEST_ID was: SCORE is good, bad, or a number from 0 (bad) to 1 (good).

    Stored with the request in the routing log, where `tiered-router learn` reads it; sending it again
    replaces it."""
    from ..observe.store import Judgement, LogStoreError, parse_score

    try:
        value = parse_score(score)
    except ValueError as exc:
        fail(str(exc), 2)
    settings, store = open_log()
    if not settings.log_enabled:
        fail("feedback is kept in the routing log, which is off (TIER_LOG_ENABLED=false)", 2)
    try:
        found = store.add_judgement(Judgement(request_id, "feedback", value, comment or None))
    except LogStoreError as exc:
        fail(str(exc))
    finally:
        store.close()
    if not found:
        fail(f"no request {request_id!r} in the routing log ({store.db_description}); "
              "`tiered-router log` lists the latest request ids")
    console.print(f"feedback on {request_id}: {value:g}" + (f" ({comment})" if comment else ""), highlight=False,
                  markup=False)
