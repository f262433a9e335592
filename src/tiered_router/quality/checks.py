"""The ordered checks of the quality gate. ``assess_response`` runs, in order:

1. ``empty`` - nothing but whitespace.
2. ``truncated`` - the backend stopped on its token limit (``finish_reason == "length"``).
3. ``placeholder`` - junk instead of an answer (``null``, ``N/A``, ``...``, ``TODO``, lorem ipsum) or
   stray chat-template tokens (``<|im_end|>``, ``</s>``, ``[INST]``...). (``degenerate``)
4. ``refusal`` / ``ai-disclaimer`` - the answer declines, or lectures instead of answering. Judged on how
   the answer opens (its first sentences) and on its dominant intent: a refusal or lecture that is
   followed by real content (steps, a list, "here's how") is not a refusal; a passing "sorry" in the
   middle of compliant content is ignored. (``refusal``) An inability that is still an answer ("I can't
   access your email, but here's how to check it", "No, I can't browse the web" to "Can you browse the
   web?") overrules the decline rules. (``capability``)
5. ``refusal`` - a plain capability disclaimer that is the whole answer: "I cannot browse the internet.",
   "That is not something I can do." (``capability``)
6. ``non-answer`` - "I don't know", "I'm not sure", a bare request for clarification. (``refusal``)
7. ``repetition`` - degenerate loops: one token repeated, repeated n-grams, repeated lines. (``degenerate``)
8. format checks - ``invalid-json`` when JSON was asked for (``expect_json=True``, or the task says
   "as JSON", "JSON object"...); with ``answer_format`` also ``"choice"``, ``"number"``/``"integer"``,
   ``"json"`` and ``"code"`` (reasons ``<check>:<format>``; ``answer_formats``, ``numeric``, ``arithmetic``):

   * choice: a single A-E letter, not hedged, one of the task's listed options;
   * number: a final number, no hedged conclusion, one stated answer, not cut off mid-calculation, an
     explicit answer line ("####", "Answer:") stating exactly one number, consistent arithmetic in the
     working (``arithmetic_errors``), a final number that is a result of the working, a whole
     non-negative number when the task asks "how many <counted things>";
   * code: Python that parses, defines a function when one is asked for, no stub bodies or TODOs.
9. ``too-short`` - with no format stated, an answer far shorter than what the request asks for: 3 words
   or fewer for explain / why / how does / compare / steps / a text, fewer items than "list five" asks
   for. (``asks`` classifies the request, ``length`` measures the answer)

The first check that fires gives the verdict. With ``partial=True`` (the opening of a stream, gated before
it ends) the checks that need the whole answer are skipped: the formats, a disclaimer being the whole
answer, ``too-short``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tiered_router.chat import Message, last_user_text, read_leniently

from .answer_formats import asks_for_json, check_choice, check_code, parse_json
from .asks import brevity_requested
from .capability import capability_answer, capability_disclaimer
from .common import OK, OPENING_CHARS, QualityVerdict, straighten
from .degenerate import placeholder, repetitive
from .length import MAX_CHARS, too_short
from .numeric import check_number
from .refusal import non_answer, refusal_rule

__all__ = ["assess_response"]

# Refusal rules that a capability statement followed by help (or answering a question about abilities)
# overrules; lectures and apologies are not among them.
_CAPABILITY_OVERRULES = frozenset({"refusal/open-decline", "refusal/early-decline", "refusal/ai-decline"})
_EARLIER_TURNS = 3  # earlier user turns read for an instruction to be brief ("from now on, one word only")


def assess_response(
    task: str | Sequence[Message | Mapping[str, Any]],
    text: str | None,
    finish_reason: str | None = None,
    expect_json: bool | None = None,
    answer_format: str | None = None,
    *,
    partial: bool = False,
) -> QualityVerdict:
    """Judge a tier-1 answer. ``low_quality=True`` means: escalate to a stronger tier.

    ``task`` is the prompt (a string, ``Message``s, or an OpenAI-style messages list), ``text`` the answer.
    ``expect_json=None`` infers from the task whether JSON was requested. ``answer_format`` (``"choice"``,
    ``"number"``, ``"integer"``, ``"json"``, ``"code"``) adds a task-aware validity check. ``partial=True``
    says that ``text`` is only the opening of an answer (a stream's head): it is not judged by its length,
    nor as a disclaimer with nothing after it.
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
        # An inability that is still an answer ("I can't access your email, but here's how to check it:
        # ...", or "No, I can't browse the web" to "Can you browse the web?") is not a refusal.
        if not (rule in _CAPABILITY_OVERRULES and capability_answer(norm, task_text)):
            return QualityVerdict(True, rule.split("/", 1)[0])
    elif not partial and capability_disclaimer(norm, stripped, task_text):
        return QualityVerdict(True, "refusal")
    if non_answer(norm, stripped):
        return QualityVerdict(True, "non-answer")
    if repetitive(stripped):
        return QualityVerdict(True, "repetition")
    if partial:
        return OK

    want_json = expect_json if expect_json is not None else asks_for_json(task_text)
    if (fmt == "json" or want_json) and parse_json(stripped) is None:
        return QualityVerdict(True, "invalid-json")
    if fmt in ("choice", "mcq", "multiple-choice", "letter"):
        return check_choice(stripped, task_text)
    if fmt in ("number", "integer", "int", "numeric", "float"):
        return check_number(stripped, integer=fmt in ("integer", "int"), task_text=task_text)
    if fmt in ("code", "python"):
        return check_code(stripped, task_text)
    # Last, and only without a stated format: a format says what a right answer looks like ("B", "42").
    if (
        fmt is None
        and not want_json
        and len(stripped) <= MAX_CHARS
        and too_short(stripped, task_text)
        and not _brevity_asked_before(task)
    ):
        return QualityVerdict(True, "too-short")
    return OK


def _brevity_asked_before(task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any] | None) -> bool:
    """A system prompt, or one of the last user turns before this one, asks for short answers ("Answer in one
    word.", "Reply in one or two sentences."): then a short answer is what was asked for. Read only when an
    answer would otherwise be flagged ``too-short``."""
    if task is None or isinstance(task, str):
        return False
    messages = read_leniently(task)
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=len(messages) - 1)
    earlier = [m for m in messages[:last_user] if m.role in ("system", "developer")]
    earlier += [m for m in messages[:last_user] if m.role == "user"][-_EARLIER_TURNS:]
    return any(brevity_requested(m.text) for m in earlier)


def _task_text(task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any] | None) -> str:
    if task is None:
        return ""
    if isinstance(task, str):
        return task
    return last_user_text(read_leniently(task))
