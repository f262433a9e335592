"""Commands that route or serve: route, ask, simulate, demo, serve, budget."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from .app import (
    attempts_table,
    console,
    err_console,
    fail,
    guarded,
    main,
)


@main.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--tier", help="Force a tier (1/2/3 or a name).")
@guarded
def route(text: str, as_json: bool, tier: str | None) -> None:
    """Classify TEXT only: the tier it would start on, its score and why. No model is called."""
    from ..classify import HeuristicClassifier, decide_with
    from ..config import load_settings

    classifier = HeuristicClassifier.from_settings(load_settings())
    try:
        decision = decide_with(classifier, text, {"tier": tier} if tier else None)
    except ValueError as exc:
        fail(str(exc), 2)
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
@guarded
def ask(text: str, tier: str | None, no_cloud: bool, as_json: bool) -> None:
    """Route TEXT for real (configured by TIER_* variables) and print the answer and how it was reached."""
    from ..routing import TieredModelRouter

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
    console.print(attempts_table([record], title="routing"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=11434, show_default=True, type=int)
@click.option("--ttft-ms", default=None, type=float, help="Delay before the first token [env TIER_SIM_TTFT_MS].")
@click.option("--token-ms", default=None, type=float, help="Delay per token [env TIER_SIM_TOKEN_MS].")
def simulate(host: str, port: int, ttft_ms: float | None, token_ms: float | None) -> None:
    """Serve simulated models over the Ollama, OpenAI and Anthropic wire protocols.

    --ttft-ms/--token-ms default to $TIER_SIM_TTFT_MS/$TIER_SIM_TOKEN_MS, then 0."""
    import uvicorn

    from ..server.http import HTTP_PROTOCOL
    from ..sim import Simulator, create_app

    sim = Simulator(ttft_ms=ttft_ms, token_ms=token_ms)
    click.echo(f"simulator on http://{host}:{port} (Ollama /api/chat, OpenAI /v1/chat/completions, "
               f"Anthropic /v1/messages); Ctrl-C stops it", err=True)
    uvicorn.run(create_app(sim), host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=2, http=HTTP_PROTOCOL)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the routing records as JSON lines.")
@guarded
def demo(as_json: bool) -> None:
    """Run a scripted session through all three tiers against the built-in simulator."""
    from ..demo import run_demo

    records = run_demo()
    if as_json:
        for record in records:
            click.echo(json.dumps(record, default=str))
        return
    console.print(attempts_table(records, title="tiered-router demo (simulated models)"))
    console.print("Each row is one request; 'path' shows every tier tried, with why a tier was left. "
                  "Markers like [[sim:refuse@llama3.1:8b]] in a prompt make the simulator misbehave on purpose.",
                  highlight=False, markup=False)
    from ..budget import redact_url
    from ..config import load_settings

    spent = sum(r["router.cost_usd"] for r in records)
    console.print(f"Logged to {redact_url(load_settings().db)}: see `tiered-router stats` and `tiered-router log`. "
                  f"The simulated cloud calls (${spent:.6f}) count against today's budget in that database; "
                  "set TIER_DB to keep demo runs apart.", highlight=False, markup=False)


@main.command()
@click.option("--host", default=None, help="Address to bind [env TIER_HOST; default 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port [env TIER_PORT; default 8080].")
@guarded
def serve(host: str | None, port: int | None) -> None:
    """Serve the router: OpenAI /v1/chat/completions, Ollama /api/chat, metrics and the router API."""
    import uvicorn

    from ..config import load_settings
    from ..server.app import create_app, over_capacity
    from ..server.http import http_protocol

    settings = load_settings()
    host = host or settings.host
    port = port if port is not None else settings.port
    app = create_app(settings=settings)
    if not settings.client_keys() and host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] serving on {host} with no TIER_API_KEYS: anyone who can reach it "
                          "can spend your cloud budget", highlight=False)
    click.echo(f"tiered-router on http://{host}:{port} (OpenAI /v1, Ollama /api, /metrics)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                http=http_protocol(settings.client_timeout_s, over_capacity),
                limit_concurrency=settings.max_connections)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@guarded
def budget(as_json: bool) -> None:
    """Show cloud spend, open reservations and what is left, today and this month."""
    from ..budget import BudgetError
    from ..config import load_settings
    from ..routing.spend import Spend

    spend = Spend(load_settings())
    try:
        summary = spend.tracker.get_summary()
    except BudgetError as exc:
        fail(f"budget ledger unavailable: {exc}")
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
    orphaned = summary["monthly"].get("orphaned_calls")
    if orphaned:
        console.print(f"charged from orphaned reservations (nobody settled them within the TTL), included above: "
                      f"{orphaned} call(s) this month, ${summary['monthly']['orphaned_usd']:.6f}, at their reserved "
                      "worst case", highlight=False, markup=False)
    journal = summary.get("journal") or {}
    if journal.get("pending"):
        where = journal["path"] or "in memory"
        console.print(f"journalled while the ledger was unreachable, not yet in the windows above: "
                      f"{journal['pending']} call(s), ${journal['pending_usd']:.6f} ({where}); "
                      "written to the ledger before its next reservation", highlight=False, markup=False)
    by_model = summary["monthly"].get("by_model") or {}
    if by_model:
        models = Table(title="this month by model")
        models.add_column("model")
        models.add_column("cost $", justify="right")
        for name, v in sorted(by_model.items(), key=lambda kv: -kv[1]["cost_usd"]):
            models.add_row(name, f"{v['cost_usd']:.6f}")
        console.print(models)
