"""What the quality gate's modules share: the verdict, lazily compiled patterns, the bounds on long
answers and a few small text helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QualityVerdict:
    """``low_quality`` is True when the answer should be escalated; ``reason`` says why (``"ok"`` if not)."""

    low_quality: bool
    reason: str


OK = QualityVerdict(False, "ok")


class LazyPattern:
    """A regular expression compiled on first use.

    The gate has ~70 patterns, several of them large alternations; compiling them all at import took
    ~50 ms, and most answers only ever reach a few of them. After the first call the methods are the
    compiled pattern's own (instance slots), so there is no per-call overhead.
    """

    __slots__ = ("_flags", "_source", "findall", "finditer", "fullmatch", "match", "search", "sub")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        compiled = re.compile(self._source, self._flags)
        for attr in ("findall", "finditer", "fullmatch", "match", "search", "sub"):
            object.__setattr__(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)


# Bounds for long answers: the opening is judged on its first characters, repetition on a head and a tail.
OPENING_CHARS = 700
BODY_CHARS = 3000
HEAD_CHARS = 8192
TAIL_CHARS = 4096

# Characters of a markdown rule ("-----", "==="): not a degenerate run, not a cut-off calculation.
RULE_CHARS = frozenset("-=_*#~.|`+:")
# A number as written in an answer: sign, dollar sign, thousands separators, decimals.
NUMBER = r"[-−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# Fenced code blocks: (language, body).
FENCE_RE = LazyPattern(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def straighten(s: str) -> str:
    if "’" in s or "‘" in s or "“" in s or "”" in s:
        s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return s


def has_any(text: str, needles: tuple[str, ...]) -> bool:
    """Cheap substring pre-check before a regex search (``in`` is a C loop)."""
    return any(n in text for n in needles)


def to_float(s: str) -> float | None:
    s = s.replace("$", "").replace(",", "").replace("−", "-").replace(" ", "")
    try:
        return float(s)
    except ValueError:
        return None
