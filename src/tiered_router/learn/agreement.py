"""Whether two answers to the same request agree: the second opinion's test (``TIER_VERIFY``).

What can be compared is extracted and compared exactly; otherwise the texts are compared loosely:

* ``choice``: the multiple-choice letter each answer commits to (``quality.extract_choice``);
* ``number``: the final number of each (``quality.extract_number``), equal within 1e-6 relative;
* ``json``: both parse as JSON (a fence or the outermost braces are found) and the values are equal;
* ``code-signature``: the interface of each code block's functions: name, number of positional parameters,
  ``*``/``**`` and keyword-only names (Python's ``ast`` when it parses, else ``def``/``function`` lines),
  compared as sets. Bodies and positional parameters' names may differ (``side`` and ``side_length`` are the
  same interface to a caller);
* ``text``: normalised word similarity (lower-cased words, Jaccard of the word sets), agreeing at 0.5
  or above.

With ``answer_format`` given (``"choice"``, ``"number"``, ``"json"``, ``"code"``) that method is tried first;
otherwise the first of choice/JSON/code/number that both answers yield decides. When the preferred method
extracts nothing from one answer, the next is tried, and ``text`` is the last resort, so every comparison
says which method it used.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

from tiered_router.quality import extract_choice, extract_number
from tiered_router.quality.answer_formats import parse_json

__all__ = ["METHODS", "TEXT_AGREEMENT", "Agreement", "agree"]

METHODS = ("choice", "number", "json", "code-signature", "text")
TEXT_AGREEMENT = 0.5  # word-set Jaccard at or above which two free-text answers are taken to agree

_FORMAT_METHOD = {
    "choice": "choice", "mcq": "choice", "multiple-choice": "choice", "letter": "choice",
    "number": "number", "integer": "number", "int": "number", "numeric": "number", "float": "number",
    "json": "json",
    "code": "code-signature", "python": "code-signature",
}
_FENCE_RE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DEF_LINE_RE = re.compile(r"^\s*(?:async\s+)?(?:def|function)\s+([A-Za-z_$][\w$]*)\s*\(([^)]*)\)", re.MULTILINE)
_WORD_RE = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Agreement:
    """``agrees``: the two answers say the same; ``method``: how that was judged (one of ``METHODS``);
    ``similarity``: 1.0 or 0.0 for an exact method, the word similarity for ``text``."""

    agrees: bool
    method: str
    similarity: float


def agree(a: str | None, b: str | None, answer_format: str | None = None) -> Agreement:
    """Compare two answers (see the module docstring). A missing or empty answer agrees with nothing."""
    a, b = a or "", b or ""
    preferred = _FORMAT_METHOD.get((answer_format or "").strip().lower())
    order = [m for m in ("choice", "json", "code-signature", "number") if m != preferred]
    if preferred:
        order.insert(0, preferred)
    for method in order:
        found = _compare(method, a, b, explicit=method == preferred)
        if found is not None:
            return found
    sim = text_similarity(a, b)
    return Agreement(sim >= TEXT_AGREEMENT and bool(a.strip()) and bool(b.strip()), "text", sim)


def _compare(method: str, a: str, b: str, explicit: bool) -> Agreement | None:
    if method == "choice":
        ca, cb = extract_choice(a), extract_choice(b)
        if ca is None or cb is None:
            return None
        # Unless a choice was asked for, two short letters are needed: "A dog..." is not option A.
        if not explicit and (len(a.strip()) > 40 or len(b.strip()) > 40):
            return None
        return _exact(method, ca == cb)
    if method == "number":
        na, nb = extract_number(a), extract_number(b)
        if na is None or nb is None:
            return None
        return _exact(method, math.isclose(na, nb, rel_tol=1e-6, abs_tol=1e-9))
    if method == "json":
        ja, jb = _json(a, explicit), _json(b, explicit)
        if ja is None or jb is None:
            return None
        return _exact(method, ja == jb)
    sa, sb = code_signatures(a, explicit), code_signatures(b, explicit)
    if not sa or not sb:
        return None
    return _exact(method, sa == sb)


def _exact(method: str, same: bool) -> Agreement:
    return Agreement(same, method, 1.0 if same else 0.0)


def _json(text: str, explicit: bool) -> Any | None:
    """The JSON value of an answer; unless JSON was asked for, only an answer that is JSON (or opens a
    fence with it), not prose with braces in it."""
    stripped = text.strip()
    looks_like_json = stripped[:1] in ("{", "[") or stripped.startswith("```json")
    if not explicit and not looks_like_json:
        return None
    value = parse_json(stripped) if stripped else None
    return value if isinstance(value, dict | list) else None


def code_signatures(text: str, explicit: bool = True) -> frozenset[str]:
    """``name(positional count[,*][,keyword-only names][,**])`` of each function the answer defines, from its
    code blocks (the whole answer when code was asked for and there is no fence)."""
    blocks = [m.group(2) for m in _FENCE_RE.finditer(text)]
    if not blocks:
        if not explicit:
            return frozenset()
        blocks = [text]
    out: set[str] = set()
    for code in blocks:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            out.update(f"{name}({_arity(params)})" for name, params in _DEF_LINE_RE.findall(code))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                parts = [str(len(args.posonlyargs) + len(args.args))]
                parts += ["*"] if args.vararg else []
                parts += [p.arg for p in args.kwonlyargs]
                parts += ["**"] if args.kwarg else []
                out.add(f"{node.name}({','.join(parts)})")
    return frozenset(out)


def _arity(raw: str) -> str:
    """The number of parameters of a non-Python signature line."""
    return str(sum(1 for part in raw.split(",") if part.strip()))


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two answers' lower-cased word sets (1.0 for two empty answers)."""
    wa, wb = set(_WORD_RE.findall(a.lower())), set(_WORD_RE.findall(b.lower()))
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)
