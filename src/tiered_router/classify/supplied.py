"""Content a request supplies, and the question or edit around it: whether text is code or an equation
(``code_or_math``), whether an edit only changes layout (``layout_edit``), where an instruction ends and pasted
content starts (``head_before_content``), and whether a question asks for a value found in pasted data
(``question_before_data``, ``value_in_data``) or ends a chat message after its context
(``question_after_context``); whether a simple action ends a scene or comes before pasted content
(``simple_action``, ``action_before_content``); and, from all of these, how a request reads once what it
supplies is set apart (``supplied_content``). Each reads text the caller already has; none scores anything:
``intent`` decides what a reading means."""

from __future__ import annotations

import re
from typing import NamedTuple

from .lexicon import ACTION_LEAD, DELIVERABLES, GENERIC_LEAD, HEAVY_NOUN, MEDIUM_LEAD, REASON_VERBS, STRONG_ANY
from .readings import value_question
from .text import Text, closing_request, enumeration, split_head

__all__ = ["CLOSING_ACTION_WORDS", "CODE_BEHAVIOUR", "NOT_MECHANICAL", "Supplied", "action_before_content",
           "code_or_math", "head_before_content", "layout_edit", "material", "question_after_context",
           "question_before_data", "simple_action", "supplied_content", "value_in_data"]

_WORD_RE = re.compile(r"[a-z][a-z'-]*")
# The head of a mechanical edit holds none of these: "Fix this deadlock and explain it: ..." is not one.
NOT_MECHANICAL = HEAVY_NOUN | STRONG_ANY | REASON_VERBS | DELIVERABLES | MEDIUM_LEAD
_CLOSING_QUESTION_WORDS = 10  # "... so we agreed I'd ask you to settle it: how many legs does a spider have?"
# A game's status line before the scene: "Turn 7.", "Round 3:", "Day 12 —".
_STATUS_LINE_RE = re.compile(r"\s*(?:turn|round|day|wave|act|chapter|level)\s+\d+\s*[.:\u2014-]")
CLOSING_ACTION_WORDS = 20  # "anyway: turn off all the downstairs lights and set the thermostat to 18 degrees"
# An edit that says it changes nothing else: "nothing else", "leave everything else", "no other changes".
_ALL_ELSE = frozenset({"nothing", "everything", "anything"})
_NO_OTHER = frozenset({"no", "other"})
_REPAIRS = frozenset({"fix", "correct", "repair", "resolve", "solve", "debug", "improve", "optimise", "optimize",
                      "make"})
_PARAGRAPH_WORDS = 30  # a first paragraph or line before pasted content is at most this many words
# Supplied content that is code or an equation is a problem to work on, not material to reformat.
_CODE_OR_MATH = ("```", "{", "==", "=>", "->", "def ", "();", " = ", "\n    ")
# Edits that change code's layout or names, not what it does: code supplied to them is material, not a problem.
_CODE_SAFE_EDITS = frozenset({"rename", "reformat", "format", "indent", "prettify", "pretty", "minify", "sort",
                              "uppercase", "lowercase", "capitalise", "capitalize", "replace", "swap", "extract",
                              "copy", "count", "remove", "delete"})
_LAYOUT_WORDS = frozenset({"spelling", "typo", "typos", "comments", "indentation", "whitespace", "formatting",
                           "capitalisation", "capitalization", "uppercase", "lowercase", "camelcase", "grammar",
                           "punctuation",
                           "docstring", "docstrings"})
# The last question of a first paragraph, after a comma, a sentence end or a colon: "here's our log, what's
# the first timestamp?"; at most ten words.
_LAST_QUESTION_RE = re.compile(
    r"(?:^|[,;:.!?]\s+)((?:what|whats|what's|which|who|when|where|how)\b(?:\s*[^\s?]+){0,9}\s*\?)$"
)
# Quantities written as words: "three times as many", "two more", "half as many", "a dozen".
_NUMBER_WORDS = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                           "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "dozen",
                           "dozens", "half", "twice", "thrice", "double", "triple", "times"})
# A question about what code does, not a value in data: "what is the output", "how many times does it loop".
CODE_BEHAVIOUR = frozenset({"output", "outputs", "return", "returns", "print", "prints", "loop", "loops", "run",
                             "runs", "execute", "executes", "evaluate", "evaluates", "compile", "compiles", "crash",
                             "crashes", "bug", "bugs", "wrong", "fail", "fails", "happen", "happens"})


def code_or_math(lowered: str) -> bool:
    """Whether the text holds code or an equation: supplied to a request, a problem to work on, not material."""
    return any(token in lowered for token in _CODE_OR_MATH)


def layout_edit(verb: str, head: frozenset[str]) -> bool:
    """Whether an edit changes code's layout, names or spelling, not what it does ("rename tmp", "fix the
    spelling in the comments"), or limits itself to what it names ("change the port to 9090 and leave
    everything else alone", "add a docstring, keep the code unchanged", "no other changes"): code supplied
    to it is material, not a problem."""
    if verb in _CODE_SAFE_EDITS or not head.isdisjoint(_LAYOUT_WORDS):
        return True
    # "Fix the race condition, change nothing else" limits a repair, which is still a problem to solve.
    return verb not in _REPAIRS and _scope_limited(head)


def _scope_limited(head: frozenset[str]) -> bool:
    return "unchanged" in head or ("else" in head and not head.isdisjoint(_ALL_ELSE)) or head >= _NO_OTHER


def material(content: str) -> bool:
    """Whether supplied content is material to transform or read, not a problem to work on: not code or an
    equation, or JSON data ("convert this to csv: [{"id": 101, ...}]")."""
    return not code_or_math(content) or _json_data(content)


def _json_data(content: str) -> bool:
    data = content.lstrip()
    return data[:1] in "{[" and '":' in data[:400]


def question_after_context(lowered: str) -> int:
    """Where a short value question that ends the request starts, after a comma or a colon ("strategy guide
    says to 'kite' enemies, what does kite mean in games?"), or 0. Not after quantities, in digits or in words
    ("If Cindy has four pets, how many pets do the three have?" is a word problem)."""
    end = lowered.rstrip()
    m = _LAST_QUESTION_RE.search(end, max(0, len(end) - 160))  # at most ten words: the end is enough
    if m is None or m.start(1) == 0 or not value_question(lowered, m.start(1)):
        return 0
    return m.start(1) if _NUMBER_WORDS.isdisjoint(_WORD_RE.findall(lowered, 0, m.start(1))) else 0


def head_before_content(lowered: str) -> tuple[int, list[str] | None]:
    """(where the content starts, the instruction's words) when a first paragraph of at most 30 words ends at
    a blank line, or a first line that is a question ends at a line break ("Which IP shows up most in this
    snippet?\n<the log>"); (0, None) otherwise."""
    head_end, head_words = split_head(lowered)
    if head_words is not None and "\n\n" in lowered[head_end - 1:head_end + 1]:
        return head_end, head_words
    line_end = lowered.find("\n")
    if 0 < line_end <= 300 and lowered[:line_end].rstrip().endswith("?") and lowered[line_end:].strip():
        words = [w.replace("'", "") for w in _WORD_RE.findall(lowered, 0, line_end)]
        if len(words) <= _PARAGRAPH_WORDS:
            return line_end + 1, words
    return 0, None


def question_before_data(lowered: str) -> tuple[frozenset[str], int, int] | None:
    """(the question's words, their count, the characters supplied) when a first paragraph asks for a value
    and data follows it: "here's a chunk of our nginx log, what's the timestamp on the first line that says
    [error]?\n\n<the log>". The question is read on its own; the rest of the first paragraph and the data are
    supplied content. None otherwise."""
    head_end, head_words = head_before_content(lowered)
    if head_words is None:
        return None
    region = lowered[:head_end].rstrip()
    m = _LAST_QUESTION_RE.search(region)
    if m is None or not value_question(region, m.start(1)):
        return None
    question_at = m.start(1)
    words = [w.replace("'", "") for w in _WORD_RE.findall(region, question_at)]
    question = frozenset(words)
    if not value_in_data(lowered, head_end, question):
        return None
    return question, len(words), len(lowered) - (len(region) - question_at)


def value_in_data(lowered: str, data_at: int, question: frozenset[str]) -> bool:
    """Whether the question (its words) asks for a value found in the data at ``data_at``: not about what
    code does ("what is the output", "how many times does the loop run"), and the data is not code or an
    equation (JSON is data: "what's the billing email in this payload?")."""
    if not question.isdisjoint(CODE_BEHAVIOUR):
        return False
    return material(lowered[data_at:])


def action_before_content(lowered: str) -> tuple[frozenset[str], int, int] | None:
    """(the action's words, their count, the characters supplied) when a first paragraph ends with a simple
    action on content that follows it ("Customer message below. Just pull out the order number and the
    product name.\n\n<the message>"): a mechanical edit, with the rest of the paragraph and the content
    supplied. None otherwise."""
    head_end, head_words = head_before_content(lowered)
    if head_words is None:
        return None
    region = lowered[:head_end].rstrip()
    verb, n_words, at = closing_request(region)
    if not at or verb not in ACTION_LEAD or n_words > CLOSING_ACTION_WORDS:
        return None
    words = frozenset(w.replace("'", "") for w in _WORD_RE.findall(region, at))
    if not words.isdisjoint(NOT_MECHANICAL) or not (layout_edit(verb, words) or material(lowered[head_end:])):
        return None
    return words, n_words, len(lowered) - (len(region) - at)


def simple_action(lowered: str, at: int) -> bool:
    """Whether the action at ``at`` is simple and what comes before it is a scene, not a problem: no hard
    subject matter in the action ("tell me the risks"), no code or equation anywhere, and not a choice asked
    ("… Raise prices, add a free-shipping threshold, or switch carriers?" weighs options)."""
    action = lowered[at:]
    if "?" in action and " or " in action:
        return False
    words = frozenset(w.replace("'", "") for w in _WORD_RE.findall(action))
    return words.isdisjoint(NOT_MECHANICAL) and not code_or_math(lowered)


class Supplied(NamedTuple):
    """How the request reads once the content it supplies is set apart: its opening (``kind``, ``reason``,
    which a scene or pasted content may name), a mechanical edit of the content (``edit``), a question or
    action after a scene or on pasted text (``scene``), a value looked up in pasted data (``in_data``), the
    characters supplied, and the instruction's word count and words."""

    kind: str
    reason: str
    n_head: int
    head: frozenset[str]
    edit: bool = False
    scene: bool = False
    in_data: bool = False
    supplied: int = 0


def supplied_content(t: Text, kind: str, reason: str, open_intent: bool) -> Supplied:
    """How a request that opens as ``kind`` reads once the content it supplies is set apart (``intent``
    passes its opening and whether it asks for an argued answer, which no supplied content changes)."""
    plain = Supplied(kind, reason, t.n_words, t.wset)
    if open_intent:
        return plain
    if kind == "action" and t.first in ACTION_LEAD:
        edit = _edit_of_supplied(t, plain)
        if edit.edit or not _STATUS_LINE_RE.match(t.lowered):
            return edit
        # "Turn 7. Sergeant Okoro is at C4 ... Move Okoro to D7.": a status line, a scene, then the move.
        return _request_after_context(t, plain)
    if kind == "lookup" and "\n" in t.lowered and not (t.options or t.few_shot):
        return _question_on_supplied(t, plain)
    if not kind and t.first not in GENERIC_LEAD:
        return _request_after_context(t, plain)
    return plain


def _edit_of_supplied(t: Text, plain: Supplied) -> Supplied:
    """"Sort these names: Zoe, Adam, ...": a simple action on content after a colon, a blank line, or as a
    list is a mechanical edit, read on its instruction."""
    lowered = t.lowered
    head_end, head_words = split_head(lowered)
    n_items, list_chars = enumeration(lowered)
    head = frozenset(head_words) if head_words is not None else t.wset
    if ((head_words is not None or n_items >= 4) and head.isdisjoint(NOT_MECHANICAL)
            and (layout_edit(t.first, head) or material(lowered[head_end:] if head_words is not None else lowered))):
        supplied = max(len(lowered) - head_end if head_words is not None else 0, list_chars)
        n_head = len(head_words) if head_words is not None else t.n_words
        return plain._replace(edit=True, supplied=supplied, n_head=n_head, head=head)
    return plain


def _question_on_supplied(t: Text, plain: Supplied) -> Supplied:
    """"Who scored the second goal?\n\n<the match report>": a question on text it supplies. ("What is the
    output of this code?\n\n<code>" is a problem to work through.)"""
    lowered = t.lowered
    head_end, head_words = head_before_content(lowered)
    if head_words is None:
        return plain
    asked = frozenset(head_words)
    if not asked.isdisjoint(CODE_BEHAVIOUR) and code_or_math(lowered[head_end:]):
        return plain
    in_data = value_in_data(lowered, head_end, asked)
    return plain._replace(scene=True, n_head=len(head_words), supplied=len(lowered) - head_end, in_data=in_data,
                          head=asked if in_data else plain.head)


def _request_after_context(t: Text, plain: Supplied) -> Supplied:
    """A request that does not open with one: a question before pasted data, an action before pasted content,
    or a simple action or value question after a scene or chat."""
    lowered = t.lowered
    if "\n" in lowered and not (t.options or t.few_shot):
        # "here's a chunk of our nginx log, what's the timestamp of the first error?\n\n<the log>"
        if question := question_before_data(lowered):
            head, n_head, supplied = question
            return Supplied("lookup", "lookup", n_head, head, scene=True, in_data=True, supplied=supplied)
        if action := action_before_content(lowered):
            # "Customer message below. Just pull out the order number.\n\n<the message>"
            head, n_head, supplied = action
            return Supplied("action", "action-verb", n_head, head, edit=True, supplied=supplied)
    closing, n_closing, closing_at = closing_request(lowered)
    if closing_at and closing in ACTION_LEAD and n_closing <= CLOSING_ACTION_WORDS and simple_action(lowered,
                                                                                                  closing_at):
        # "The corridor is dark, water drips ... Take the torch.": a scene, then a simple action.
        return plain._replace(kind="action", reason="action-verb", scene=True, n_head=n_closing, supplied=closing_at)
    if closing_at and n_closing <= _CLOSING_QUESTION_WORDS and value_question(lowered, closing_at):
        # "... so we agreed I'd ask you to settle it: how many legs does a spider have?"
        return plain._replace(kind="lookup", reason="lookup", scene=True, n_head=n_closing, supplied=closing_at)
    if not (t.options or t.few_shot) and (question_at := question_after_context(lowered)):
        # "strategy guide says to 'kite' enemies, what does kite mean in games?"
        return plain._replace(kind="lookup", reason="lookup", scene=True, supplied=question_at,
                              n_head=len(_WORD_RE.findall(lowered, question_at)))
    return plain
