"""What the router decided and spent: figures over the routing log, for ``tiered-router stats`` and
``GET /v1/router/stats``.

Every figure is one SQL query over ``router_requests`` / ``router_attempts`` that both SQLite and
PostgreSQL accept (grouped counts and sums; percentiles with window functions), so 100k logged
requests take a few tens of milliseconds.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..budget.money import redact_text

if TYPE_CHECKING:
    from .store import RoutingLogStore

TOP_REASONS = 10
_BUCKET_US = 15 * 60 * 1_000_000  # spend is summed per 15 minutes, then per local day (every UTC offset is n×15 min)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
# The strict form the HTTP API documents and accepts (an empty value means the default).
SINCE_PATTERN = r"^(|all|[1-9][0-9]{0,5}[smhdw])$"
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str | None, *, strict: bool = False) -> float | None:
    """A look-back window in seconds: ``30m``, ``24h``, ``7d``, ``2w``, ``90s``; ``all`` (or empty) is None.

    Raises ValueError for anything else. ``strict`` accepts only ``SINCE_PATTERN`` (the HTTP API).
    """
    if strict and (text is None or not re.fullmatch(SINCE_PATTERN, text)):
        raise ValueError(f"{text!r} is not a duration: use e.g. 30m, 24h, 7d or all")
    if text is None or text.strip().lower() in ("", "all"):
        return None
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration: use e.g. 30m, 24h, 7d or all")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2).lower()]
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{text!r}: the duration must be positive and finite")
    return seconds


def reason_class(reason: str | None) -> str:
    """'tier1-quality:refusal' stays; free text after a second ':' is dropped (as in the metrics)."""
    if not reason:
        return "unknown"
    return ":".join(reason.split(":")[:2])[:64]


def read_budget(get_summary: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
    """(summary, None), or (None, why) when the budget ledger cannot be read: stats never fail on it."""
    try:
        return get_summary(), None
    except Exception as exc:
        return None, redact_text(str(exc)) or type(exc).__name__


def compute_stats(store: RoutingLogStore, since_s: float | None, budget_summary: dict[str, Any] | None = None, *,
                  budget_error: str | None = None, timezone: str = "UTC", now: float | None = None) -> dict[str, Any]:
    """Figures over the requests of the last ``since_s`` seconds (all of them when None).

    ``budget_summary`` (``BudgetTracker.get_summary()``) is passed through as ``budget``, and
    ``budget_error`` says why it is missing. Days in ``spend.by_day`` are calendar days in
    ``timezone``. Raises LogStoreError when the log cannot be read.
    """
    now = time.time() if now is None else now
    start = None if since_s is None else max(0.0, now - since_s)  # windows longer than the epoch mean "all"
    tz = ZoneInfo(timezone)
    q = _Window(store, 0 if start is None else round(start * 1_000_000))

    rows = q(
        "SELECT final_tier, COUNT(*),"
        " SUM(CASE WHEN escalated THEN 1 ELSE 0 END), SUM(CASE WHEN degraded THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(cost_micro),"
        " SUM(CASE WHEN cost_estimated THEN 1 ELSE 0 END),"
        " SUM(gen_ai_usage_input_tokens), SUM(gen_ai_usage_output_tokens), MIN(time_us), MAX(time_us)"
        " FROM router_requests WHERE time_us >= ? GROUP BY final_tier"
    )
    total = sum(int(r[1]) for r in rows)
    escalated = sum(int(r[2] or 0) for r in rows)
    degraded = sum(int(r[3] or 0) for r in rows)
    errors = sum(int(r[4] or 0) for r in rows)
    spent_micro = sum(int(r[5] or 0) for r in rows)
    firsts = [int(r[9]) for r in rows if r[9] is not None]
    lasts = [int(r[10]) for r in rows if r[10] is not None]

    tiers: dict[str, dict[str, Any]] = {}
    for key in ("1", "2", "3"):
        tiers[key] = {"count": 0, "share": 0.0, "cost_usd": 0.0, "cost_micro": 0}
    for r in rows:
        key = str(int(r[0])) if r[0] is not None else "none"
        count = int(r[1])
        tiers[key] = {"count": count, "share": _ratio(count, total), "cost_usd": _usd(r[5]),
                      "cost_micro": int(r[5] or 0)}

    return {
        "since": _iso(start, tz) if start is not None else None,
        "since_s": since_s,
        "until": _iso(now, tz),
        "timezone": timezone,
        "first_request": _iso(min(firsts) / 1e6, tz) if firsts else None,
        "last_request": _iso(max(lasts) / 1e6, tz) if lasts else None,
        "requests": total,
        "tiers": tiers,
        "entry_points": {str(name or "unknown"): int(n) for name, n in q(
            "SELECT entry_point, COUNT(*) FROM router_requests WHERE time_us >= ? GROUP BY entry_point"
            " ORDER BY COUNT(*) DESC")},
        "escalations": {
            "count": escalated, "rate": _ratio(escalated, total),
            "top_reasons": _top(q("SELECT escalation_reason, COUNT(*) FROM router_requests"
                                  " WHERE time_us >= ? AND escalated = ? GROUP BY escalation_reason",
                                  True)),
        },
        "degraded": {
            "count": degraded, "rate": _ratio(degraded, total),
            "top_reasons": _top(q("SELECT degraded_reason, COUNT(*) FROM router_requests"
                                  " WHERE time_us >= ? AND degraded = ? GROUP BY degraded_reason",
                                  True)),
        },
        "errors": {
            "count": errors, "rate": _ratio(errors, total),
            "by_type": [{"type": t or "unknown", "count": int(n)} for t, n in q(
                "SELECT error_type, COUNT(*) FROM router_requests WHERE time_us >= ? AND status = 'error'"
                " GROUP BY error_type ORDER BY COUNT(*) DESC")],
        },
        "latency_ms": _latency(q),
        "spend": {
            "total_usd": _usd(spent_micro), "total_micro": spent_micro,
            "estimated_requests": sum(int(r[6] or 0) for r in rows),
            "input_tokens": sum(int(r[7] or 0) for r in rows),
            "output_tokens": sum(int(r[8] or 0) for r in rows),
            "by_model": _by_model(q),
            "by_day": _by_day(q, tz),
        },
        "tier1_failures": _tier1_failures(q),
        "budget": budget_summary,
        "budget_error": budget_error,
    }


def _latency(q: _Window) -> dict[str, dict[str, Any]]:
    """Nearest-rank p50/p95 of the whole request latency, per final tier."""
    rows = q(
        "SELECT final_tier, MAX(n),"
        " MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN latency_ms END),"
        " MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN latency_ms END),"
        " MAX(latency_ms)"
        " FROM (SELECT final_tier, latency_ms,"
        "   ROW_NUMBER() OVER (PARTITION BY final_tier ORDER BY latency_ms) AS rn,"
        "   COUNT(*) OVER (PARTITION BY final_tier) AS n"
        "   FROM router_requests WHERE time_us >= ? AND final_tier IS NOT NULL AND latency_ms IS NOT NULL) ranked"
        " GROUP BY final_tier ORDER BY final_tier"
    )
    out: dict[str, dict[str, Any]] = {}
    for tier, n, p50, p95, worst in rows:
        out[str(int(tier))] = {"count": int(n), "p50": _ms(p50), "p95": _ms(p95), "max": _ms(worst)}
    return out


def _by_model(q: _Window) -> list[dict[str, Any]]:
    """Every attempt that reached a model (not skipped), by model: a cascade pays for its failures too."""
    rows = q(
        "SELECT tier, gen_ai_provider_name, gen_ai_request_model, COUNT(*), SUM(cost_micro),"
        " SUM(gen_ai_usage_input_tokens), SUM(gen_ai_usage_output_tokens),"
        " SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END)"
        " FROM router_attempts WHERE time_us >= ? AND outcome <> 'skipped'"
        " GROUP BY tier, gen_ai_provider_name, gen_ai_request_model"
    )
    models = [
        {"model": f"{provider}/{model}", "provider": provider, "tier": tier, "calls": int(calls),
         "accepted": int(accepted or 0), "cost_usd": _usd(cost), "cost_micro": int(cost or 0),
         "input_tokens": int(tin or 0), "output_tokens": int(tout or 0)}
        for tier, provider, model, calls, cost, tin, tout, accepted in rows
    ]
    return sorted(models, key=lambda m: (-m["cost_micro"], -m["calls"], m["model"]))


def _by_day(q: _Window, tz: ZoneInfo) -> list[dict[str, Any]]:
    rows = q(
        f"SELECT time_us / {_BUCKET_US}, COUNT(*), SUM(cost_micro) FROM router_requests"
        f" WHERE time_us >= ? GROUP BY time_us / {_BUCKET_US}"
    )
    days: dict[str, list[int]] = {}
    for bucket, count, cost in rows:
        start = datetime.fromtimestamp(int(bucket) * _BUCKET_US / 1e6, UTC).astimezone(tz)
        day = days.setdefault(start.date().isoformat(), [0, 0])
        day[0] += int(count)
        day[1] += int(cost or 0)
    return [{"day": day, "requests": n, "cost_usd": _usd(cost), "cost_micro": cost}
            for day, (n, cost) in sorted(days.items())]


def _tier1_failures(q: _Window) -> dict[str, Any]:
    """Why tier 1 was left: the gate's verdict for a rejected answer, the error type for a failed call."""
    rows = q(
        "SELECT outcome, quality, error_type, COUNT(*) FROM router_attempts"
        " WHERE time_us >= ? AND tier = 1 AND outcome IN ('rejected', 'error')"
        " GROUP BY outcome, quality, error_type"
    )
    counts: Counter[tuple[str, str]] = Counter()
    for outcome, quality, error_type, n in rows:
        reason = (quality if outcome == "rejected" else error_type) or quality or error_type or "unknown"
        counts[(outcome, reason)] += int(n)
    attempts = sum(int(n) for n, in q(
        "SELECT COUNT(*) FROM router_attempts WHERE time_us >= ? AND tier = 1 AND outcome <> 'skipped'"))
    failures = sum(counts.values())
    return {
        "attempts": attempts, "count": failures, "rate": _ratio(failures, attempts),
        "reasons": [{"outcome": outcome, "reason": reason, "count": n}
                    for (outcome, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
    }


class _Window:
    """Runs a query over the window: ``time_us >= ?`` takes the window's start (the first parameter).

    Over all time the condition is dropped, so SQLite scans the table instead of walking the time index.
    """

    def __init__(self, store: RoutingLogStore, since_us: int) -> None:
        self.store, self.since_us = store, since_us

    def __call__(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.since_us:
            return self.store.query(sql, [self.since_us, *params])
        return self.store.query(sql.replace("time_us >= ?", "1 = 1"), list(params))


def _top(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for reason, n in rows:
        counts[reason_class(reason)] += int(n)
    return [{"reason": r, "count": n} for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:TOP_REASONS]


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _usd(micro: Any) -> float:
    return int(micro or 0) / 1_000_000


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _iso(epoch_s: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).astimezone(tz).isoformat(timespec="seconds")


__all__ = ["SINCE_PATTERN", "compute_stats", "parse_since", "read_budget", "reason_class"]
