"""The ordered checks of the quality gate. ``assess_response`` runs, in order:

1. ``empty`` - nothing but whitespace.
2. ``truncated`` - the backend stopped on its token limit (``finish_reason == "length"``).
3. ``placeholder`` - junk instead of an answer (``null``, ``N/A``, ``...``, ``TODO``, lorem ipsum) or
   stray chat-template tokens (``<|im_end|>``, ``</s>``, ``[INST]``...). (``degenerate``)
4. ``refusal`` / ``ai-disclaimer`` - the answer declines, or lectures instead of answering. Judged on how
   the answer opens (its first sentences) and on its dominant intent: a refusal or lecture that is
   followed by real content (steps, a list, "here's how") is not a refusal; a passing "sorry" in the
   middle of compliant content is ignored. (``refusal``)
5. ``non-answer`` - "I don't know", "I'm not sure", a bare request for clarification. (``refusal``)
6. ``repetition`` - degenerate loops: one token repeated, repeated n-grams, repeated lines. (``degenerate``)
7. format checks - ``invalid-json`` when JSON was asked for (``expect_json=True``, or the task says
   "as JSON", "JSON object"...); with ``answer_format`` also ``"choice"``, ``"number"``/``"integer"``,
   ``"json"`` and ``"code"`` (reasons ``<check>:<format>``; ``answer_formats``, ``numeric``, ``arithmetic``):

   * choice: a single A-E letter, not hedged, one of the task's listed options;
   * number: a final number, no hedged conclusion, one stated answer, not cut off mid-calculation, an
     explicit answer line ("####", "Answer:") stating exactly one number, consistent arithmetic in the
     working (``arithmetic_errors``), a final number that is a result of the working, a whole
     non-negative number when the task asks "how many <counted things>";
   * code: Python that parses, defines a function when one is asked for, no stub bodies or TODOs.

The first check that fires gives the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tiered_router.chat import Message, last_user_text, read_leniently

from .answer_formats import asks_for_json, check_choice, check_code, parse_json
from .common import OK, OPENING_CHARS, QualityVerdict, straighten
from .degenerate import placeholder, repetitive
from .numeric import check_number
from .refusal import non_answer, refusal_rule

__all__ = ["assess_response"]


def assess_response(
    task: str | Sequence[Message | Mapping[str, Any]],
    text: str | None,
    finish_reason: str | None = None,
    expect_json: bool | None = None,
    answer_format: str | None = None,
) -> QualityVerdict:
    """Judge a tier-1 answer. ``low_quality=True`` means: escalate to a stronger tier.

    ``task`` is the prompt (a string, ``Message``s, or an OpenAI-style messages list), ``text`` the answer.
    ``expect_json=None`` infers from the task whether JSON was requested. ``answer_format`` (``"choice"``,
    ``"number"``, ``"integer"``, ``"json"``, ``"code"``) adds a task-aware validity check.
    """
    raw = text or ""
    stripped = raw.strip()
    if not stripped:
        return QualityVerdict(True, "empty")
    if finish_reason in ("length", "max_tokens", "max_output_tokens"):
        return QualityVerdict(True, "truncated")

    fmt = (answer_format or "").strip().lower() or None
    task_text = _task_text(task)

    verdict = placeholder(stripped, task_text, fmt)
    if verdict:
        return verdict
    norm = straighten(stripped[:OPENING_CHARS] if len(stripped) > OPENING_CHARS else stripped).lower()
    norm = norm.lstrip("\"'*#> \t\n")
    rule = refusal_rule(norm, stripped, task_text)
    if rule:
        return QualityVerdict(True, rule.split("/", 1)[0])
    if non_answer(norm, stripped):
        return QualityVerdict(True, "non-answer")
    if repetitive(stripped):
        return QualityVerdict(True, "repetition")

    want_json = expect_json if expect_json is not None else asks_for_json(task_text)
    if (fmt == "json" or want_json) and parse_json(stripped) is None:
        return QualityVerdict(True, "invalid-json")
    if fmt in ("choice", "mcq", "multiple-choice", "letter"):
        return check_choice(stripped, task_text)
    if fmt in ("number", "integer", "int", "numeric", "float"):
        return check_number(stripped, integer=fmt in ("integer", "int"), task_text=task_text)
    if fmt in ("code", "python"):
        return check_code(stripped, task_text)
    return OK


def _task_text(task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any] | None) -> str:
    if task is None:
        return ""
    if isinstance(task, str):
        return task
    return last_user_text(read_leniently(task))
