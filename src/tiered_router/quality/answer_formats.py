"""Format checks for a caller-stated ``answer_format``: JSON, a multiple-choice letter, Python code (number
answers are in ``numeric``); and the public ``extract_choice`` helper."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from .common import FENCE_RE, HEAD_CHARS, OK, LazyPattern, QualityVerdict, straighten

__all__ = ["asks_for_json", "check_choice", "check_code", "extract_choice", "parse_json"]


# --------------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------------

_JSON_TASK_RE = LazyPattern(
    r"\b(?:as|in|into|to|return|returns|output|respond\s+with|reply\s+with|answer\s+with|give\s+me|format(?:ted)?"
    r"\s+as|valid|emit|produce|only)\s+(?:a\s+|an\s+|valid\s+|the\s+|pure\s+|raw\s+|strict\s+|well-formed\s+)*json\b"
    r"|\bjson\s+(?:object|array|format|output|response|only|with\s+(?:keys|fields)|schema|document)\b",
    re.IGNORECASE,
)


def asks_for_json(task_text: str) -> bool:
    """The task asks for JSON ("as JSON", "return a JSON object", ...), judged on its last 4,000 chars."""
    tail = task_text[-4000:]
    # Both branches of the pattern need the word "json": a lower-cased substring test (a C loop, ~1 µs on
    # 4 kB) rules out almost every prompt before the regex, which tries its alternation at every word
    # boundary (~0.2 ms on 4 kB of prose). Under IGNORECASE the pattern's "s" also matches "ſ" (U+017F),
    # which lower() keeps, hence the second test: the verdict is the regex's own.
    if "json" not in tail.lower() and "ſ" not in tail:
        return False
    return bool(_JSON_TASK_RE.search(tail))


def parse_json(stripped: str) -> Any | None:
    """The JSON value of the answer (whole text, a ```json fence, or the outermost {...}/[...])."""
    candidates = [stripped]
    if "```" in stripped:
        candidates.extend(m.group(2).strip() for m in FENCE_RE.finditer(stripped))
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    if starts:
        i = min(starts)
        j = stripped.rfind("}" if stripped[i] == "{" else "]")
        if i < j:
            candidates.append(stripped[i : j + 1])
    for c in candidates:
        if not c or c[0] not in "{[":
            continue
        try:
            return json.loads(c)
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------------
# Multiple choice
# --------------------------------------------------------------------------------------------------

_CHOICE_LETTERS = "ABCDE"
# "The answer is B", "Answer: (c)", "correct option is D". A lower-case letter only in brackets or before
# ")" or at the very end, so that "the answer is a dog" is not choice A.
_CHOICE_EXPLICIT_RE = LazyPattern(
    r"(?i:answer|option|choice|correct\s+(?:answer|option|choice|response))\s*(?i:is|would\s+be|:|=|-)?\s*"
    r"(?i:is\s+)?(?i:option\s+|choice\s+|letter\s+)?[\[*\"']*"
    r"(?:\(?([A-E])\b(?![\w'])|\(([a-e])\)|([a-e])\)|([a-e])\W{0,3}$)"
)
_CHOICE_ALONE_RE = LazyPattern(r"^\W{0,3}([A-E])(?:\W{0,3}$|[\).:\]]\s)")
_CHOICE_START_RE = LazyPattern(r"^\s*[\(\[*]*([A-E])[\)\].:](?:\s|$)")
_CHOICE_PAREN_RE = LazyPattern(r"\(([A-E])\)")
_CHOICE_HEDGE_RE = LazyPattern(
    r"(?:\b|\()([A-E])\)?\s*(?:or|and/or|/)\s*\(?(?:maybe\s+|possibly\s+|perhaps\s+)?\(?([A-E])\b(?:\)|\.|,|\s|$)"
    r"|\b(?:either|between)\s+\(?([A-E])\)?\s+(?:or|and)\s+\(?([A-E])\b"
)
# Multiple-choice options listed in the task ("A) ...", "(b) ...", "C. ..."), and answers that pick none.
_OPTION_A_RE = LazyPattern(r"^[ \t]*\(?[Aa][).:][ \t]", re.MULTILINE)
_OPTION_LINE_RE = LazyPattern(r"^[ \t]*\(?([A-Ja-j])[).:][ \t]+([^\n]*)", re.MULTILINE)
_NONE_OF_ABOVE_RE = LazyPattern(
    r"\b(?:none|all|neither|both)\s+of\s+(?:the\s+)?(?:above|these|those|them|options|choices)", re.I
)


def extract_choice(text: str) -> str | None:
    """The multiple-choice letter (A-E) an answer commits to, or None if there is none or it hedges.

    Accepts "B", "(B)", "B) Paris", "The answer is B", "Answer: C)", "**Answer: (d)**". Several
    different explicit answers, or "A or B", give None.
    """
    if not text:
        return None
    t = straighten(text).strip()
    if not t:
        return None
    if _CHOICE_HEDGE_RE.search(t[-600:]):
        return None
    explicit = _explicit_choices(t)
    # "answer is a" must not read an article as a letter: keep lower-case letters only when they stand alone.
    if explicit:
        distinct = set(explicit)
        return explicit[-1] if len(distinct) == 1 else _last_distinct_if_final(t, explicit)
    if len(t) <= 5 and t.strip("()[]{}.:*`'\" ").upper() in _CHOICE_LETTERS and t.strip("()[]{}.:*`'\" "):
        return t.strip("()[]{}.:*`'\" ").upper()
    m = _CHOICE_ALONE_RE.match(t) or _CHOICE_START_RE.match(t)
    if m:
        return str(m.group(1))
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    if lines:
        m = _CHOICE_ALONE_RE.match(lines[-1]) or _CHOICE_START_RE.match(lines[-1])
        if m:
            return str(m.group(1))
    parens = set(_CHOICE_PAREN_RE.findall(t[-1000:]))
    if len(parens) == 1:
        return str(parens.pop())
    return None


def _explicit_choices(t: str) -> list[str]:
    return [next(g for g in m.groups() if g).upper() for m in _CHOICE_EXPLICIT_RE.finditer(t[-4000:])]


def _last_distinct_if_final(t: str, explicit: list[str]) -> str | None:
    """Several explicit letters: accept the last only if it is stated as the final/correct answer."""
    tail = t[-300:].lower()
    if "final answer" in tail or "correct answer is" in tail or "therefore" in tail or "so the answer" in tail:
        return explicit[-1]
    return None


def check_choice(stripped: str, task_text: str = "") -> QualityVerdict:
    """One A-E letter, not hedged, and one of the options the task lists (when it lists them)."""
    t = straighten(stripped)
    if _CHOICE_HEDGE_RE.search(t[-600:]):
        return QualityVerdict(True, "hedged:choice")
    letter = extract_choice(t)
    if letter is None:
        explicit = set(_explicit_choices(t))
        if len(explicit) > 1:
            return QualityVerdict(True, "hedged:choice")
        return QualityVerdict(True, "wrong-format:choice")
    options = _task_options(task_text)
    if options:
        if letter not in options:
            return QualityVerdict(True, "not-an-option:choice")
        m = _NONE_OF_ABOVE_RE.search(t[-600:])
        if m and m.group(0).lower() not in options[letter]:
            return QualityVerdict(True, "not-an-option:choice")
    return OK


def _task_options(task_text: str) -> dict[str, str]:
    """The options of the last multiple-choice question in the task: letter -> lower-cased option text
    ({} when the task lists fewer than two lettered options)."""
    if not task_text or "\n" not in task_text:
        return {}
    tail = task_text[-3000:]
    starts = [m.start() for m in _OPTION_A_RE.finditer(tail)]
    if not starts:
        return {}
    options = {m.group(1).upper(): m.group(2).lower() for m in _OPTION_LINE_RE.finditer(tail, starts[-1])}
    return options if len(options) >= 2 else {}


# --------------------------------------------------------------------------------------------------
# Code
# --------------------------------------------------------------------------------------------------

# The task asks for a function, or for a stub; placeholder comments inside an answer's code.
_FUNCTION_TASK_RE = LazyPattern(r"\b(?:function|def|method)\b", re.IGNORECASE)
_STUB_TASK_RE = LazyPattern(
    r"\b(?:stubs?|skeleton|abstract|interface|protocol|placeholders?|signatures?|template)\b", re.I
)
_TODO_RE = LazyPattern(
    r"#\s*(?:TODO|FIXME|XXX)\b|#\s*(?:add\s+|insert\s+|write\s+|put\s+)?your\s+(?:own\s+)?(?:code|logic|implementation)"
    r"|#\s*implement\s+(?:this|here|me|the\s+(?:logic|function))\b",
    re.IGNORECASE,
)
# Code blocks in an answer: [PYTHON] / <code> blocks; where code starts in unfenced text; Python fences.
_TAGGED_CODE_RE = LazyPattern(r"\[PYTHON\]\s*\n?(.*?)\[/PYTHON\]|<code>(?:\s*\n)?(.*?)</code>", re.DOTALL | re.I)
_CODE_START_RE = LazyPattern(r"^(?:def |class |import |from \w+ import |async def |@\w)", re.MULTILINE)
_PYTHON_FENCES = ("", "python", "py", "python3")


def check_code(stripped: str, task_text: str = "") -> QualityVerdict:
    """Python code must parse (a ```python / ``` fence, a [PYTHON] block, or the code lines of the text); when
    the task asks for a function, one must be defined; and no function may be a stub (``pass``, ``...``,
    ``raise NotImplementedError``, a TODO / "your code here" comment) unless the task asks for a stub."""
    trees = _code_trees(stripped)
    if not trees:
        return QualityVerdict(True, "wrong-format:code")
    functions = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    task = task_text[-2000:]
    stub = any(_is_stub(f) for f in functions) or ("#" in stripped and bool(_TODO_RE.search(stripped[-HEAD_CHARS:])))
    if stub and not (task and _STUB_TASK_RE.search(task)):
        return QualityVerdict(True, "placeholder:code")
    lambdas = not functions and any(isinstance(n, ast.Lambda) for tree in trees for n in ast.walk(tree))
    if task and not functions and not lambdas and _FUNCTION_TASK_RE.search(task):
        return QualityVerdict(True, "no-function:code")
    return OK


def _code_trees(stripped: str) -> list[ast.Module]:
    """The parsed Python of the answer: every ```python / ``` fence and [PYTHON] / <code> block that parses;
    without blocks, the whole text, else the code lines from the first ``def``/``class``/``import`` with
    trailing prose trimmed. A block fenced as another language does not count."""
    blocks = [(lang.lower(), body) for lang, body in FENCE_RE.findall(stripped)]
    blocks += [("python", a or b) for a, b in _TAGGED_CODE_RE.findall(stripped)]
    if blocks:
        return [tree for lang, body in blocks if lang in _PYTHON_FENCES for tree in _parse(body)]
    trees = _parse(stripped)
    if trees:
        return trees
    m = _CODE_START_RE.search(stripped)
    if m:
        lines = stripped[m.start() :].splitlines()
        for end in range(len(lines), max(0, len(lines) - 30), -1):
            trees = _parse("\n".join(lines[:end]))
            if trees:
                return trees
    return []


def _is_stub(f: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function whose body is only a docstring, ``pass``, ``...`` or ``raise NotImplementedError``
    (``@abstractmethod`` and ``@overload`` stubs are fine)."""
    for d in f.decorator_list:
        name = d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else ""
        if "abstract" in name or name == "overload":
            return False
    return all(_is_filler(stmt) for stmt in f.body)


def _is_filler(stmt: ast.stmt) -> bool:
    """``pass``, ``...``, a docstring, or ``raise NotImplementedError``."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)
    return isinstance(stmt, ast.Raise) and stmt.exc is not None and "NotImplemented" in ast.dump(stmt.exc)


def _parse(code: str) -> list[ast.Module]:
    """``[tree]`` if ``code`` is Python, else ``[]``."""
    if not code.strip():
        return []
    try:
        return [ast.parse(code)]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
