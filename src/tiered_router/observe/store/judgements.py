"""Judgements: what is learned about a request after its record was written, stored beside it.

Four kinds, one row per request and kind in ``router_judgements`` (migration 2), keyed by the request's
``log_id`` so that retention removes them with the request:

- ``feedback``: a score in [0, 1] from the user (1 good, 0 bad) and an optional comment
  (``POST /v1/router/feedback``, ``router.feedback``, ``tiered-router feedback``);
- ``shadow``: the next tier up answered the same request after the client had its answer; ``score`` is
  1 when the two answers agreed, 0 when not, with the tier, model, comparison method and cost;
- ``shadow_down``: tier 1 answered a request that tier 2 had answered, after the client had its answer;
  ``score`` is 1 when tier 1 would have done (its answer passes the gate and agrees), 0 when not, with tier
  1's tier, model, method (``gate:REASON`` when the gate would have rejected it) and cost;
- ``verify``: the second opinion (``TIER_VERIFY``) had tier 1 and tier 2 answer the request and compared the
  two answers; the same fields as ``shadow``, with tier 2's tier, model and cost.

Writing one again replaces it (the newest feedback counts), so sending the same feedback twice is
harmless. Reads give them back in the record's shape, as ``router.feedback``, ``router.shadow``,
``router.shadow_down`` and ``router.verify``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...budget.money import micro_to_usd, usd_to_micro
from .direct import DirectConnection

KINDS = ("feedback", "shadow", "shadow_down", "verify")
MAX_COMMENT_CHARS = 2000
_COLUMNS = ("log_id", "kind", "request_id", "time_us", "score", "comment", "tier", "model", "method", "cost_micro")
_UPSERT = (f"INSERT INTO router_judgements ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           "ON CONFLICT (log_id, kind) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:]))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM router_judgements"


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judgement of a request. ``score`` is in [0, 1]; the other fields depend on the kind."""

    request_id: str
    kind: str
    score: float
    comment: str | None = None
    tier: int | None = None
    model: str | None = None
    method: str | None = None
    cost_usd: float = 0.0
    time: float = 0.0

    def as_field(self) -> dict[str, Any]:
        """The value of ``router.feedback``, ``router.shadow``, ... in a record read back."""
        if self.kind == "feedback":
            return {"score": self.score, "comment": self.comment, "time": self.time}
        return {"agree": self.score >= 0.5, "tier": self.tier, "model": self.model, "method": self.method,
                "cost_usd": self.cost_usd, "time": self.time}


def parse_score(value: object) -> float:
    """A feedback score: ``good`` (1), ``bad`` (0), or a number in [0, 1]. ValueError says what is accepted."""
    accepted = "score must be good, bad or a number from 0 to 1"
    number: object = value
    if isinstance(value, str):
        named = {"good": 1.0, "bad": 0.0}.get(value.strip().lower())
        if named is not None:
            return named
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{accepted}, not {value[:40]!r}") from None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number) \
            or not 0 <= number <= 1:
        raise ValueError(f"{accepted}, not {str(value)[:40]}")
    return float(number)


class JudgementLog:
    """Writes and reads ``router_judgements`` (one statement each, on a ``DirectConnection``)."""

    def __init__(self, connection: DirectConnection) -> None:
        self._db = connection

    def put(self, log_id: str, judgement: Judgement) -> None:
        if judgement.kind not in KINDS:
            raise ValueError(f"unknown judgement kind {judgement.kind!r}")
        comment = judgement.comment[:MAX_COMMENT_CHARS] if judgement.comment else None
        j = judgement
        row = (log_id, j.kind, j.request_id, round((j.time or time.time()) * 1_000_000), j.score, comment, j.tier,
               j.model, j.method, usd_to_micro(j.cost_usd))
        self._db.run(_UPSERT, row)

    def for_logs(self, log_ids: Sequence[str]) -> dict[str, list[Judgement]]:
        """The judgements of these requests (by log_id)."""
        found: dict[str, list[Judgement]] = {}
        for start in range(0, len(log_ids), 500):
            chunk = list(log_ids[start:start + 500])
            rows = self._db.run(f"{_SELECT} WHERE log_id IN ({', '.join('?' * len(chunk))})", chunk)
            for row in rows:
                found.setdefault(row[0], []).append(_judgement(row))
        return found


def _judgement(row: Sequence[Any]) -> Judgement:
    _log_id, kind, request_id, time_us, score, comment, tier, model, method, cost_micro = row
    return Judgement(request_id, kind, float(score), comment, tier, model, method, micro_to_usd(cost_micro or 0),
                   time_us / 1_000_000)
