"""The complexity score: one function per signal family over the request's ``Text``, read once.

``score`` reads what the request asks once (``intent.read_ask``: intent phrases, how it opens, whether it
edits content it supplies), starts the logit at a bias and hands it to each family in turn: options (how
alike the lettered options are), length, intent, closed-form (a value question with no open intent; both in
``intent``), vocabulary (personal context, reasoning words, substantial deliverables), structure, content
(numbers, code, maths), conversation. Each family adds its terms to the logit and the names of the signals
that fired to the reasons, and returns the new logit.

Why a family adds to the logit it is given rather than returning a subtotal for ``score`` to sum: float
addition is not associative, and adding subtotals rounds differently from adding the terms one at a time
(measured when this was split out of one function: the logit of about a quarter of 41k prompts moved, the
score by up to 3e-16). One running logit, added to in this order, keeps every score the float it was, and
allocates nothing per family.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .intent import SUPPLIED_WEIGHT, Ask, add_intent, closed_form, read_ask
from .lexicon import (
    CHAIN_PAIRS,
    CODE_KEYWORDS,
    CODE_SYMBOLS,
    CODE_WORDS,
    CONSTRAINT,
    HEAVY_NOUN,
    MATH_SYMBOLS,
    MATH_UNICODE,
    MATH_WORDS,
    PERSONAL,
    STRONG_ANY,
)
from .text import Text, count_numbers, enumeration, read_text

__all__ = ["score"]

# The logit starts at _BIAS; score = logistic(_SCORE_SLOPE * logit), so a logit of 0 is a score of 0.5.
# The slope keeps long, signal-rich prompts from all saturating at 1.0.
_BIAS = -2.4
_SCORE_SLOPE = 0.6
_TIE = 0.01
_LENGTH_WEIGHT = 1.0  # per doubling of the characters (past 40)
_OPTION_SIMILARITY_WEIGHT = 5.0

_OPTION_WORD_RE = re.compile(r"[a-z][a-z'-]*|\d+(?:[.,]\d+)?")
_NUMBERED_LINE_RE = re.compile(r"\n[ \t]*(?:\d{1,2}|[a-e])[.)][ \t]")
# Bytes that plain prose is made of; what is left after deleting them is the (usually empty) set of
# symbols worth counting, so symbol counts are skipped for prose.
_PROSE_BYTES = bytes(b for b in range(256) if chr(b).isalnum() or chr(b) in " \t\n\r.,'\"?!%$&@#")


@dataclass(frozen=True, slots=True)
class Agentic:
    """What an agent's request carries besides its text: tools offered, the turn answering a tool call,
    images, and the size of the whole context."""

    tools: int = 0
    tool_result: bool = False
    images: int = 0
    context_chars: int = 0


_PLAIN = Agentic()
_LONG_CONTEXT_CHARS = 16_000  # about 4k tokens: beyond the default window of a small local model


def score(text: str, system_chars: int, users: int, assistants: int, agentic: Agentic = _PLAIN
          ) -> tuple[float, list[str]]:
    """The complexity score in (0, 1) of the request ``text`` and the names of the signals that fired."""
    t = read_text(text)
    ask = read_ask(t)
    reasons = ["few-shot"] if t.few_shot else []
    logit = _options(t, _BIAS, reasons)
    logit = _length(t, ask, logit, reasons)
    logit = add_intent(ask, logit, reasons)
    logit = closed_form(t, ask, logit, reasons)
    logit = _vocabulary(t, ask, logit, reasons)
    logit = _structure(t, ask, logit, reasons)
    logit = _content(t, ask, logit, reasons)
    logit = _conversation(system_chars, users, assistants, logit, reasons)
    if agentic is not _PLAIN:
        logit = _agent(agentic, logit, reasons)
    return _sigmoid(_SCORE_SLOPE * logit), reasons


def _options(t: Text, logit: float, reasons: list[str]) -> float:
    """Lettered options (``multiple-choice``), scored by how alike they are (``close-options``): centred on a
    typical overlap (about 0.2), so it reorders multiple-choice questions among themselves rather than
    moving them all up or down."""
    if not t.options:
        return logit
    reasons.append("multiple-choice")
    closeness = _option_similarity(t.options) - 0.2
    if closeness > 0.15:
        reasons.append("close-options")
    return logit + _OPTION_SIMILARITY_WEIGHT * closeness


def _length(t: Text, ask: Ask, logit: float, reasons: list[str]) -> float:
    """Log-scaled and continuous, counting the whole request (``long-prompt``), and a tie-breaker: mean word
    length (a readability proxy) separates requests of equal length. Kept tiny: on benchmark questions longer
    words mean jargon, not difficulty (it anti-correlates on ARC and MMLU). Content supplied to a mechanical
    edit, or the scene before a simple action, counts at a quarter: a longer list to sort is not a harder
    request."""
    n_chars, n_words = t.n_chars, t.n_words
    logit += _LENGTH_WEIGHT * math.log2(1.0 + (n_chars - (1.0 - SUPPLIED_WEIGHT) * ask.supplied) / 40.0)
    if n_words >= 60 or n_chars > 400:
        reasons.append("long-prompt")
    if n_words:
        logit += _TIE * (min(len(t.ascii_text) / n_words, 12.0) - 5.0)
    return logit


def _vocabulary(t: Text, ask: Ask, logit: float, reasons: list[str]) -> float:
    """Words anywhere: the asker's own situation ("I have already...", "our team...") asks for advice
    (``personal-context``); reasoning words (``reasoning-words``); nouns of substantial deliverables and hard
    subject matter (``substantial-deliverable``). A mechanical edit is read on its instruction alone: "we
    talked about the launch budget" in meeting notes to reformat is material, not the asker's situation."""
    wset = ask.head if ask.material else t.wset
    if t.n_words >= 10 and not wset.isdisjoint(PERSONAL):
        logit += 0.4
        reasons.append("personal-context")
    strong_any = len(wset & STRONG_ANY) - (t.first in STRONG_ANY)
    if strong_any > 0:
        logit += 0.8 * math.sqrt(strong_any)
        reasons.append("reasoning-words")
    heavy_nouns = len(wset & HEAVY_NOUN)
    if heavy_nouns:
        logit += 0.55 * math.sqrt(heavy_nouns)
        reasons.append("substantial-deliverable")
    return logit


def _structure(t: Text, ask: Ask, logit: float, reasons: list[str]) -> float:
    """Chained instructions ("... and explain", "; consider"), and constraint structure: "and/then/also",
    commas and colons, constraint words, list lines, clauses (``constraints``, ``multi-step``). A mechanical
    edit is read on its instruction alone, and a scene before a simple action not at all: the commas of a
    list to sort or of a description are not constraints."""
    if ask.scene:
        return logit
    if ask.edit:
        n_constraint = len(ask.head & CONSTRAINT)
        return logit + 0.55 * math.log2(1.0 + 0.4 * n_constraint) if n_constraint else logit
    normalised, lowered, n_boundaries = t.normalised, t.lowered, t.n_boundaries
    chained = len(t.pairs & CHAIN_PAIRS)
    if chained:
        logit += 0.6 * math.sqrt(chained)
    n_and = normalised.count(" and ") + normalised.count(" then ") + normalised.count(" also ")
    n_commas = t.ascii_text.count(b",") + t.ascii_text.count(b":")
    if n_commas >= 3:
        n_items, _ = enumeration(lowered)
        n_commas -= max(0, n_items - 2)  # a list of short items ("bananas 1.20, bread 2.50, ...") is one thing
    n_constraint = len(t.wset & CONSTRAINT)
    n_clauses = max(0, n_boundaries - 1)  # sentence ends, ";" and line breaks after the first
    n_list = 0
    if n_boundaries > 2 and "\n" in lowered:
        n_list = lowered.count("\n- ") + lowered.count("\n* ") + lowered.count("\n• ")
        n_list += len(_NUMBERED_LINE_RE.findall(lowered))
    structure = 0.35 * n_and + 0.25 * n_commas + 0.4 * n_constraint + 0.3 * n_list + 0.3 * n_clauses
    if structure > 0:
        logit += 0.55 * math.log2(1.0 + structure)
    if n_constraint >= 2 or n_commas + n_clauses >= 3:
        reasons.append("constraints")
    if chained or n_and >= 2 or n_clauses >= 2 or n_list >= 2:
        reasons.append("multi-step")
    return logit


def _content(t: Text, ask: Ask, logit: float, reasons: list[str]) -> float:
    """Numbers (quantities to combine), code (fences, keywords, identifiers, technical vocabulary) and maths
    (operators, exponents, mathematical vocabulary): ``numbers``, ``code``, ``math``. Not read in the content
    a mechanical edit supplies."""
    wset, lowered, ascii_text = t.wset, t.lowered, t.ascii_text
    n_numbers = count_numbers(t)
    # How many numbers a request holds says nothing about its difficulty that the other signals do not: on
    # GSM8K the count alone is anti-correlated with the weak model failing (APGR 0.48), and each step down of
    # its weight (0.25, 0.15, 0) raised the classifier's APGR on GSM8K and MMLU (docs/classifier.md). The
    # reason is still listed, for the learner and for the reader, but adds nothing to the logit.
    if n_numbers >= 3:
        reasons.append("numbers")
    if ask.material:
        return logit  # code or maths supplied to a mechanical edit, or data a value is read from, is material
    symbols = ascii_text.translate(None, _PROSE_BYTES)
    n_code = 2 * len(wset & CODE_WORDS) + len(wset & CODE_KEYWORDS)
    n_math = len(wset & MATH_WORDS) + ("sqrt" in lowered)
    if symbols:
        n_code += min(symbols.count(b"_"), 6)
        for gate, token in CODE_SYMBOLS:
            if gate in symbols:
                n_code += ascii_text.count(token)
        for gate, token in MATH_SYMBOLS:
            if gate in symbols:
                n_math += ascii_text.count(token)
    if n_code:
        logit += 0.3 * math.log2(1.0 + n_code)
        if n_code >= 2:
            reasons.append("code")
    if len(ascii_text) != len(lowered):  # non-ASCII text: look for maths symbols too
        for char in MATH_UNICODE:
            n_math += lowered.count(char)
    if n_math:
        logit += 0.25 * math.log2(1.0 + n_math)
        if n_math >= 2:
            reasons.append("math")
    return logit


def _conversation(system_chars: int, users: int, assistants: int, logit: float, reasons: list[str]) -> float:
    """The conversation so far: system-prompt size (``large-system-prompt``) and earlier turns
    (``conversation-depth``), capped at +1.5 together."""
    convo = 0.0
    if system_chars:
        convo += 0.25 * math.log2(1.0 + system_chars / 400.0)
    if users > 1 or assistants:
        convo += 0.3 * math.log2(1.0 + max(users - 1, 0) + assistants)
    if not convo:
        return logit
    if assistants >= 2 or users >= 3:
        reasons.append("conversation-depth")
    if system_chars >= 1500:
        reasons.append("large-system-prompt")
    return logit + min(convo, 1.5)


def _agent(a: Agentic, logit: float, reasons: list[str]) -> float:
    """An agent's step: choosing among many tools is harder (``tools``, ``many-tools``); an image needs a model
    that sees (``images``); a long context is harder to use well and overflows a small window
    (``long-context``). A turn that only returns a tool result (``tool-result``) adds nothing: it goes on
    with the request it answers, and the router keeps it on the tier that made the call."""
    if a.tools:
        reasons.append("tools" if a.tools < 8 else "many-tools")
        logit += 0.2 * math.log2(1.0 + a.tools)
    if a.tool_result:
        reasons.append("tool-result")
    if a.images:
        reasons.append("images")
        logit += 0.3
    if a.context_chars > _LONG_CONTEXT_CHARS:
        reasons.append("long-context")
        logit += min(1.0, 0.35 * math.log2(a.context_chars / _LONG_CONTEXT_CHARS) + 0.2)
    return logit


def _option_similarity(options: Sequence[str]) -> float:
    """Mean word overlap (Jaccard) between pairs of options, letters left out. Options that resemble each
    other ("k = 1 and n = 0" / "k = n = 1") must be told apart on a detail, which a small model gets wrong
    more often than a choice between unrelated answers (docs/routing-eval.md)."""
    sets = [set(_OPTION_WORD_RE.findall("".join(o.lower().split(None, 1)[1:]))) for o in options]
    total, pairs = 0.0, 0
    for i, a in enumerate(sets):
        for b in sets[i + 1:]:
            union = len(a | b)
            if union:
                total += len(a & b) / union
                pairs += 1
    return total / pairs if pairs else 0.0


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
