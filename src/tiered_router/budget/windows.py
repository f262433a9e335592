"""The budget's calendar: which local day and month an instant counts in, where they start and end,
and the summary of one window.

Limits are per calendar day and month in the tracker's IANA time zone, so these are the only places
where a time zone is applied; the ledger only ever sees window keys and epoch-microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .ledger import Windows, WindowStats
from .money import micro_to_usd


def zone(timezone: str) -> ZoneInfo:
    """The IANA time zone ``timezone``; ``ValueError`` when there is no such zone."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {timezone!r}") from exc


def utc_now() -> datetime:
    """The tracker's default clock."""
    return datetime.now(UTC)


def aware(dt: datetime) -> datetime:
    """``dt`` itself, or ``ValueError`` when it is naive: a naive time has no day or month to count in."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"the budget clock must return timezone-aware datetimes, got {dt!r}")
    return dt


def windows_at(at: datetime, tz: ZoneInfo) -> Windows:
    """The day and month keys of ``at`` in ``tz``."""
    local = aware(at).astimezone(tz)
    return Windows(day=local.date().isoformat(), month=f"{local.year:04d}-{local.month:02d}")


def window_bounds(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, datetime, datetime]:
    """Local start and end of the day and of the month containing ``at``."""
    local = aware(at).astimezone(tz)
    day_start = datetime(local.year, local.month, local.day, tzinfo=tz)
    next_day = local.date() + timedelta(days=1)
    day_end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz)
    month_start = datetime(local.year, local.month, 1, tzinfo=tz)
    ny, nm = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    month_end = datetime(ny, nm, 1, tzinfo=tz)
    return day_start, day_end, month_start, month_end


def window_summary(
    key: str, start: datetime, end: datetime, limit: int | None, stats: WindowStats
) -> dict[str, Any]:
    """One window of ``BudgetTracker.get_summary()``, in USD and in micro-dollars."""
    remaining = None if limit is None else max(0, limit - stats.spent - stats.reserved)
    return {
        "window": key,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "limit_usd": None if limit is None else micro_to_usd(limit),
        "spent_usd": micro_to_usd(stats.spent),
        "reserved_usd": micro_to_usd(stats.reserved),
        "remaining_usd": None if remaining is None else micro_to_usd(remaining),
        "limit_micro": limit,
        "spent_micro": stats.spent,
        "reserved_micro": stats.reserved,
        "remaining_micro": remaining,
        "calls": stats.calls,
        "estimated_calls": stats.estimated_calls,
        "open_reservations": stats.open_reservations,
        # Of the spend and calls above: reservations nobody settled within their TTL, charged at their worst case.
        "orphaned_calls": stats.orphaned_calls,
        "orphaned_usd": micro_to_usd(stats.orphaned_micro),
        "orphaned_micro": stats.orphaned_micro,
        "by_model": {
            name: {
                "cost_usd": micro_to_usd(v["cost_micro"]),
                "cost_micro": v["cost_micro"],
                "calls": v["calls"],
                "tokens_in": v["tokens_in"],
                "tokens_out": v["tokens_out"],
            }
            for name, v in sorted(stats.by_model.items())
        },
    }
