"""``tiered-router learn``: refit the learned classifier on the routing log, show the models, roll one back."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import click
from rich.table import Table

from .app import console, fail, guarded, main, open_log


@main.command()
@click.option("--status", is_flag=True, help="Show the live model and the latest candidates, with their replays.")
@click.option("--rollback", is_flag=True, help="Retire the live model and restore the one it replaced.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@guarded
def learn(status: bool, rollback: bool, as_json: bool) -> None:
    """Fit a classifier on the routing log's outcomes (feedback, shadow answers, second opinions, gate
    verdicts) and promote it only if replaying the outcomes it was not trained on shows an APGR gain whose 95%
    interval excludes zero.

    Learning needs the prompts, which the log keeps only with TIER_LOG_CONTENT=true, or their hashed features,
    which it keeps in their place with TIER_LOG_FEATURES=true."""
    from ..classify import HeuristicClassifier
    from ..learn.from_log import learn as learn_from_log
    from ..observe.store import LogStoreError

    if status and rollback:
        fail("--status and --rollback do not go together", 2)
    settings, store = open_log()
    if not settings.log_enabled:
        fail("learning reads the routing log, which is off (TIER_LOG_ENABLED=false)", 2)
    try:
        if rollback:
            try:
                live = store.models.rollback()
            except LookupError as exc:
                fail(str(exc))
            message = f"rolled back: {'model ' + live.version if live else 'the heuristic alone'} is live"
            click.echo(json.dumps({"live": live.version if live else None}) if as_json else message)
            return
        if not status:
            run = learn_from_log(store, HeuristicClassifier.from_settings(settings))
            if as_json:
                click.echo(json.dumps(run.to_dict(), allow_nan=False))
            else:
                _print_run(run)
            return
        models = store.models.recent(10)
    except LogStoreError as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([_model_dict(m) for m in models], allow_nan=False))
        return
    _print_status(models, store.db_description)


def _print_run(run: Any) -> None:
    sources = ", ".join(f"{n} {source}" for source, n in sorted(run.sources.items())) or "none"
    hashed = f"; {run.from_features} known by their stored features only" if run.from_features else ""
    console.print(f"labelled requests: {run.labelled} ({sources}){hashed}; fitted on {run.train}, replayed on "
                  f"{run.holdout}", highlight=False)
    c = run.comparison
    if c is not None:
        console.print(f"APGR on the held-out requests: live {_num(c.apgr_live)}, candidate {_num(c.apgr_candidate)}, "
                      f"gain {_num(c.gain, sign=True)} (95% CI {_num(c.ci_low, sign=True)} to "
                      f"{_num(c.ci_high, sign=True)})", highlight=False)
    verdict = f"promoted: model {run.version} is live" if run.promoted else (
        f"kept as a candidate ({run.version}): {run.reason}" if run.version else f"nothing fitted: {run.reason}")
    console.print(verdict, highlight=False, markup=False)


def _print_status(models: list[Any], where: str) -> None:
    if not models:
        console.print(f"no learned model yet ({where}): the router uses the heuristic classifier alone. "
                      "`tiered-router learn` fits one.", highlight=False, markup=False)
        return
    live = next((m for m in models if m.state == "live"), None)
    console.print(f"live: {live.version + f' (trained on {live.n_train})' if live else 'none (the heuristic alone)'}",
                  highlight=False)
    table = Table(title=f"learned models, newest first ({where})")
    for name in ("version", "state", "fitted", "trained on", "APGR live", "APGR model", "gain (95% CI)", "why"):
        table.add_column(name, justify="right" if name.startswith(("APGR", "trained")) else "left",
                         no_wrap=name == "version")
    for m in models:
        r = m.replay
        low, high = _num(r.get("ci_low"), sign=True), _num(r.get("ci_high"), sign=True)
        gain = f"{_num(r.get('gain'), sign=True)} ({low} to {high})"
        table.add_row(m.version, m.state, time.strftime("%Y-%m-%d %H:%M", time.localtime(m.created)), str(m.n_train),
                      _num(r.get("apgr_live")), _num(r.get("apgr_candidate")), gain, str(r.get("reason", "")))
    console.print(table)


def _model_dict(m: Any) -> dict[str, Any]:
    return {"version": m.version, "state": m.state, "created": m.created, "n_train": m.n_train, "replay": m.replay,
            "previous": m.previous}


def _num(value: float | None, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.3f}" if sign else f"{value:.3f}"
