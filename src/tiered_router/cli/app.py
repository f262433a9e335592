"""The command group and what its commands share: the consoles, one-line errors, option parsers, the
routing log, the attempts table."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import AllTiersFailed, ConfigError, RouterError
from ..tiers import Tier

# Piped output gets a wide fixed width rather than rich's 80 columns, so tables stay readable in logs.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True, soft_wrap=True)  # an error is one line, however narrow the terminal

def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show configuration and routing errors as one clear line, never as a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), 2)
        except AllTiersFailed as exc:
            fail(str(exc))
        except RouterError as exc:
            fail(f"{getattr(exc, 'code', 'error')}: {exc}")

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


def since_option(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    from ..observe.stats import parse_since

    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def tier_option(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    try:
        return int(Tier.parse(value)) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def open_log() -> tuple[Any, Any]:
    from ..config import load_settings
    from ..observe.store import RoutingLogStore

    settings = load_settings()
    return settings, RoutingLogStore.from_settings(settings)


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def path_of(record: dict[str, Any]) -> str:
    steps = []
    for a in record["router.attempts"]:
        detail = a["error.type"] or (a["router.quality"] if a["router.outcome"] == "rejected" else "")
        detail = detail or (a["router.error"] if a["router.outcome"] == "skipped" else "")
        steps.append(f"{a['tier']}:{a['router.outcome']}" + (f"({detail})" if detail else ""))
    return " → ".join(steps) or "-"


def attempts_table(records: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for name in ("#", "request", "start", "final", "model", "path", "ms", "cost $"):
        table.add_column(name, justify="left" if name in ("request", "model", "path") else "right")
    for i, r in enumerate(records, 1):
        forced = r["router.forced_tier"]
        start = f"{forced} (forced)" if forced else str(r["router.classified_tier"])
        table.add_row(
            str(i), escape(r.get("demo.label", r["request_id"][:8])), start, str(r["router.final_tier"] or "-"),
            r["gen_ai.response.model"] or "-", escape(path_of(r)), f"{r['router.latency_ms']:.1f}",
            f"{r['router.cost_usd']:.6f}",
        )
    return table
