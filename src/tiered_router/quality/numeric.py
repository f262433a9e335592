"""Number answers (``answer_format="number"`` / ``"integer"``): the final number, hedged or several
conclusions, explicit answer lines, a calculation cut off, counts; and the public ``extract_number`` helper.
The arithmetic of the working is checked by ``arithmetic``."""

from __future__ import annotations

import re

from .arithmetic import arithmetic_errors, supported_by_working
from .common import NUMBER, OK, RULE_CHARS, LazyPattern, QualityVerdict, has_any, straighten, to_float

__all__ = ["check_number", "extract_number"]

_NUMBER_RE = LazyPattern(NUMBER)
_GSM_FINAL_RE = LazyPattern(r"####\s*(" + NUMBER + r")")
_BOXED_RE = LazyPattern(r"\\boxed\{\s*(" + NUMBER + r")")
_ANSWER_NUMBER_RE = LazyPattern(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|would\s+be|will\s+be|=|:|equals)?\s*"
    r"[:=]?\s*(?:approximately\s+|about\s+|around\s+|roughly\s+|~\s*)?\**\s*(" + NUMBER + r")",
    re.IGNORECASE,
)
_WHOLE_NUMBER_RE = LazyPattern(r"^\W{0,3}(" + NUMBER + r")\s*%?\s*[\w\s]{0,20}?[.!]?\W{0,3}$")
# Hedges in the sentence that states the final answer.
_HEDGE_RE = LazyPattern(
    r"\b(?:maybe|perhaps|probably|possibly|i\s+think|i\s+believe|i\s+guess|might\s+be|could\s+be|not\s+sure|"
    r"somewhere\s+between|or\s+so|give\s+or\s+take)\b"
    r"|\b(?:approximately|approx\.?|about|around|roughly|nearly|almost|estimated(?:\s+at)?|close\s+to)\s*\$?\s*\d"
    r"|[~≈]\s*\$?\s*\d|\bbetween\s+\$?\d[\d,.]*\s+and\s+\$?\d"
)
# Two alternative final numbers: "42 or 44", "90 minutes or 1 hour".
_ALTERNATIVES_RE = LazyPattern(NUMBER + r"\s*%?\s*(?:[a-z]+\s+){0,2}or\s+(?:maybe\s+|possibly\s+)?" + NUMBER)
# Explicit final-answer statements, and what an answer statement may say after its number.
_ANSWER_MARK_RE = LazyPattern(r"####|\b(?:final\s+answer|the\s+answer\s+is|answer\s*:)", re.IGNORECASE)
_NUMBER_TOKEN_RE = LazyPattern(r"(?<![\w.,])\$?\d[\d,]*(?:\.\d+)?")
_EXPLANATION_RE = LazyPattern(r"\b(?:because|since|as|given|from|which|where|when|so|after|since)\b|[=;]", re.I)
# A number cut off at the end: "880,00", "12 x".
_CUT_NUMBER_RE = LazyPattern(r"\d,\d{1,2}[.!]?$|\d\s+[x×]$")
_CANNOT_DETERMINE_RE = LazyPattern(
    r"\b(?:(?:not\s+|im)possible\s+to\s+(?:determine|calculate|know|tell|say)|cannot\s+be\s+(?:determined|calculated)"
    r"|can'?t\s+be\s+(?:determined|calculated)|(?:not\s+enough|insufficient)\s+(?:information|data))\b",
    re.IGNORECASE,
)
_CANNOT_WORDS = ("possible", "determine", "calculate", "enough", "insufficient")
_HOW_MANY_RE = LazyPattern(
    r"\bhow\s+many\s+(?:more\s+|fewer\s+|less\s+|total\s+|additional\s+|extra\s+)?([a-z]+)", re.I
)
# Units a "how many" question may measure in (fractional answers are fine there).
_MEASURE_UNITS = frozenset(
    """
    second seconds minute minutes hour hours day days week weeks month months year years decade decades
    dollar dollars cent cents euro euros pound pounds penny pennies ounce ounces gram grams kilogram kilograms kg
    g mg lb lbs oz ton tons tonne tonnes mile miles kilometer kilometers kilometre kilometres km meter meters
    metre metres m cm mm foot feet inch inches yard yards gallon gallons liter liters litre litres ml quart
    quarts pint pints cup cups tablespoon tablespoons teaspoon teaspoons calorie calories degree degrees
    percent percentage square cubic acre acres hectare hectares mph times
    """.split()
)


def extract_number(text: str) -> float | None:
    """The final numeric answer: "#### 42", "\\boxed{42}", "The answer is 42", "63", or the last number of
    the last line that has one. None if no number is found."""
    if not text:
        return None
    t = straighten(text)
    tail = t[-4000:]
    for rx in (_GSM_FINAL_RE, _BOXED_RE):
        found = rx.findall(tail)
        if found:
            return to_float(found[-1])
    found = _ANSWER_NUMBER_RE.findall(tail)
    if found:
        return to_float(found[-1])
    stripped = t.strip()
    m = _WHOLE_NUMBER_RE.match(stripped)
    if m:
        return to_float(m.group(1))
    for line in reversed(tail.splitlines()):
        nums = _NUMBER_RE.findall(line)
        if nums:
            return to_float(nums[-1])
    return None


def check_number(stripped: str, integer: bool, task_text: str = "") -> QualityVerdict:
    """The number checks of ``assess_response``, in order (``<check>:number`` or ``<check>:integer``)."""
    t = straighten(stripped)
    kind = "integer" if integer else "number"
    value = extract_number(t)
    if value is None:
        return QualityVerdict(True, f"wrong-format:{kind}")
    if _ends_mid_expression(t):
        return QualityVerdict(True, f"truncated:{kind}")
    final = _final_statement(t).lower()
    if _HEDGE_RE.search(final) or _HEDGE_RE.search(_last_lines(t, 2).lower()):
        return QualityVerdict(True, f"hedged:{kind}")
    answers = {to_float(x) for x in _ANSWER_NUMBER_RE.findall(t[-4000:])}
    answers |= {to_float(x) for x in _GSM_FINAL_RE.findall(t[-4000:])}
    answers.discard(None)
    if len(answers) > 1:
        last = extract_number(t)
        stated = [to_float(x) for x in _GSM_FINAL_RE.findall(t[-4000:])]
        if not stated or len(set(stated)) > 1 or last != stated[-1]:
            return QualityVerdict(True, f"hedged:{kind}")
    if _ALTERNATIVES_RE.search(final):
        return QualityVerdict(True, f"hedged:{kind}")
    line = _explicit_answer(t)
    if line is not None:
        verdict = _check_answer_line(line[1], kind)
        if verdict:
            return verdict
    if has_any(t[-600:].lower(), _CANNOT_WORDS) and _CANNOT_DETERMINE_RE.search(t[-600:]):
        return QualityVerdict(True, f"non-answer:{kind}")
    if integer and value != int(value):
        return QualityVerdict(True, "wrong-format:integer")
    if (value < 0 or value != int(value)) and _asks_for_count(task_text):
        return QualityVerdict(True, f"not-a-count:{kind}")
    if arithmetic_errors(t, limit=1):
        return QualityVerdict(True, f"wrong-arithmetic:{kind}")
    body = t[: line[0]] if line is not None else t
    if not supported_by_working(value, body):
        return QualityVerdict(True, f"unsupported:{kind}")
    return OK


def _final_statement(t: str) -> str:
    """The part of the answer that states the final result: a "####"/answer line, or the last line."""
    tail = t[-2000:]
    for rx in (_GSM_FINAL_RE, _BOXED_RE, _ANSWER_NUMBER_RE):
        ms = list(rx.finditer(tail))
        if ms:
            start = tail.rfind("\n", 0, ms[-1].start()) + 1
            end = tail.find("\n", ms[-1].end())
            return tail[start : end if end >= 0 else len(tail)]
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _last_lines(t: str, n: int) -> str:
    """The last ``n`` non-empty lines (the conclusion of the answer)."""
    lines = [ln for ln in t[-1500:].splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _ends_mid_expression(t: str) -> bool:
    """The answer stops inside a calculation: on an operator or "=", inside a ``<<...`` annotation, or in
    the middle of a number ("880,00")."""
    s = t.rstrip()
    while s.endswith(("**", "`")):
        s = s.rstrip("*`").rstrip()
    if not s:
        return False
    last_line = s[s.rfind("\n") + 1 :].strip()
    if last_line and set(last_line) <= RULE_CHARS:
        return False  # a markdown rule ("---") after the answer
    if s[-1] in "+-*/=×÷(" or s.endswith("\\"):
        return True
    if s.rfind("<<") > s.rfind(">>"):
        return True
    return bool(_CUT_NUMBER_RE.search(s[-40:]))


def _explicit_answer(t: str) -> tuple[int, str] | None:
    """(where it starts, the text after the marker) of the last explicit answer statement: a ``####`` line,
    ``Answer:``, "the answer is", "final answer"; None if the answer has none."""
    offset = max(0, len(t) - 2000)
    tail = t[offset:]
    if "####" not in tail and "nswer" not in tail and "NSWER" not in tail:
        return None
    last = None
    for last in _ANSWER_MARK_RE.finditer(tail):  # noqa: B007 - the last match is wanted
        pass
    if last is None:
        return None
    end = tail.find("\n", last.end())
    return offset + last.start(), tail[last.end() : end if end >= 0 else len(tail)][:200]


def _check_answer_line(after: str, kind: str) -> QualityVerdict | None:
    """An explicit answer statement must state one number: none ("#### No valid solution"), or several
    distinct ones ("#### 86 glasses and 42 plates", "5 hours and 20 minutes (320 minutes)"), is not an
    answer. Numbers in a trailing explanation ("because 3 * 4 = 12") do not count."""
    m = _EXPLANATION_RE.search(after)
    statement = after[: m.start()] if m else after
    numbers = {to_float(x) for x in _NUMBER_TOKEN_RE.findall(statement)}
    numbers.discard(None)
    if not numbers:
        return None if _NUMBER_TOKEN_RE.search(after) else QualityVerdict(True, f"wrong-format:{kind}")
    if len(numbers) > 1:
        return QualityVerdict(True, f"hedged:{kind}")
    return None


def _asks_for_count(task_text: str) -> bool:
    """The task asks "how many <things>", things that are counted, not measured ("how many hours" is not a
    count: 2.5 hours is a fine answer; 2.5 people is not)."""
    if not task_text:
        return False
    m = _HOW_MANY_RE.search(task_text[-2000:])
    return bool(m) and m.group(1).lower() not in _MEASURE_UNITS
