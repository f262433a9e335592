"""What the quality gate does to tier-1 answers in a replay: how many it sends up, how many of those were
wrong, how many of the prompts the strong model fixes it catches, and why it rejected them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .metrics import pgr

__all__ = ["GateStats", "gate_stats"]


@dataclass
class GateStats:
    """What the gate does to tier-1 answers when every prompt starts at tier 1 and a rejection goes straight
    to the strong model."""

    available: bool
    n: int = 0
    rejected: int = 0
    escalation_rate: float = 0.0
    accuracy: float = 0.0
    pgr: float = math.nan
    rejected_wrong: int = 0  # rejected tier-1 answers that were wrong
    rejected_gap: int = 0  # ... wrong and the strong model right (the escalations that pay)
    rejected_harmful: int = 0  # right at tier 1, wrong at the strong model
    weak_wrong: int = 0
    gap: int = 0  # prompts the strong model fixes: tier 1 wrong, strong right
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # tier -> reason -> count

    @property
    def precision(self) -> float:
        return self.rejected_wrong / self.rejected if self.rejected else math.nan

    @property
    def gap_recall(self) -> float:
        return self.rejected_gap / self.gap if self.gap else math.nan


def gate_stats(
    available: bool, n: int, rej1: list[bool], correct: list[list[float]], top: int, reasons: dict[str, Counter[str]]
) -> GateStats:
    if not available:
        return GateStats(False, n)
    weak = [c[0] for c in correct]
    strong = [c[top] for c in correct]
    rejected = sum(rej1)
    acc = sum(s if r else w for r, w, s in zip(rej1, weak, strong, strict=True)) / n
    weak_acc = sum(weak) / n
    strong_acc = sum(strong) / n
    return GateStats(
        True, n, rejected, rejected / n, acc, pgr(acc, weak_acc, strong_acc),
        rejected_wrong=sum(1 for r, w in zip(rej1, weak, strict=True) if r and w == 0),
        rejected_gap=sum(1 for r, w, s in zip(rej1, weak, strong, strict=True) if r and w == 0 and s > 0),
        rejected_harmful=sum(1 for r, w, s in zip(rej1, weak, strong, strict=True) if r and w > 0 and s == 0),
        weak_wrong=sum(1 for w in weak if w == 0),
        gap=sum(1 for w, s in zip(weak, strong, strict=True) if w == 0 and s > 0),
        reasons={t: dict(c.most_common()) for t, c in reasons.items()},
    )
