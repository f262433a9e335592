"""What a request asks for, as far as the length of a good answer goes: an explanation, a list of N, steps,
a comparison, a text of some length, or something a short answer settles (a value, yes/no, a conversion, a
translation, code).

Read from the last user message: its first and last 300 characters (the instruction is at one end or the
other: "Explain this error: <log>", "<document> Summarise the above."), lower-cased. First the kind of
answer asked for (``_cue``); then, only if there is one, whatever allows a short answer (``_allows_short``:
a brevity cue, a value question, a yes/no question, options, code), which wins over every other cue. That
is conservative by design: a false "too short" on a right answer costs a needless escalation, a miss costs
only what the gate cost before.

Speed: this runs on every short tier-1 answer. Words are looked up in a set of the request's words (made by
``str.translate`` and ``str.split``, C loops) and each regex runs only when its key words are there, so a
request costs 2-7 µs, ~40 µs for 600 characters of prose, ~60 µs when they trip every key word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .common import LazyPattern, has_any, straighten

__all__ = ["Ask", "brevity_requested", "classify_ask", "states_count"]

_EDGE = 300  # characters read at each end of a long request


@dataclass(frozen=True, slots=True)
class Ask:
    """``kind``: ``"explain"`` (explain, describe, why, how does), ``"compare"``, ``"steps"``, ``"list"``
    (``count`` items), ``"compose"`` (a text; ``count`` words, sentences or paragraphs when stated),
    ``"short"`` (a short answer may be right) or ``"other"`` (nothing to judge length by).
    ``detail``: "in detail", "thoroughly", "in depth", "elaborate"."""

    kind: str
    count: int = 0
    unit: str = ""
    detail: bool = False


SHORT = Ask("short")
OTHER = Ask("other")

_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100,
}
_NUM = r"(?:\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")"

# What makes a short answer right. Single words are looked up in the request's words (a set); phrases are
# regexes, each run only when one of its key substrings is in the request and, when given, one of its words
# (``_SHORT_PHRASES``: "how" and one of "many", "much", "old" ... before "how\s+(?:many|much|...)").
_SHORT_WORDS = frozenset(
    "brief briefly concise concisely succinct succinctly terse tersely tldr quick quickly summarize summarise "
    "summarized summarised summarizing summarising summary summaries summarization rephrase paraphrase shorten "
    "condense define definition synonym synonyms antonym antonyms convert conversion translate translation "
    "translated translating spell spelling spelled spelt pronounce pronunciation pronounced calculate compute "
    "solve evaluate simplify round choose pick select which code regex regexp sql snippet one-liner oneliner "
    "command syntax shell bash terminal cli".split()
)
# (substrings, words or None, pattern): run ``pattern`` when one of the substrings is in the request and,
# when given, one of the words is one of its words.
_Phrases = tuple[tuple[tuple[str, ...], frozenset[str] | None, LazyPattern], ...]
# Brevity asked for, in the request or in a system prompt (``brevity_requested``).
_BREVITY_PHRASES: _Phrases = (
    # "in one word", "a single sentence", "one or two sentences", "2-3 lines", "under 50 words" (not "write
    # three sentences": that is a length to reach, _TEXT_COUNT_RE)
    (
        ("word", "sentence", "line", "phrase"),
        None,
        LazyPattern(
            r"\b(?:(?:one|1|a|single|two|2|three|3|four|4|five|5|few)[\s-]+words?|(?:(?:one|a|single|1|a\s+few|few|a\s+"
            r"couple(?:\s+of)?)|(?:one|two|three|1|2|3)\s*(?:or|-|to)\s*(?:two|three|four|2|3|4))[\s-]+(?:short\s+|brief\s+)?"
            r"(?:sentences?|lines?|liner|phrases?)|(?:under|less\s+than|fewer\s+than|at\s+most|no\s+more\s+than|up\s+to|"
            r"maximum(?:\s+of)?|max|within|not\s+exceeding)\s+" + _NUM + r"\s+(?:words|sentences|lines))\b"
        ),
    ),
    (
        ("short", "simple", "brief"),
        None,
        LazyPattern(
            r"\b(?:in\s+short|short\s+(?:answer|reply|response|version|explanation|description|summary)|keep\s+it\s+"
            r"(?:short|brief|simple))\b"
        ),
    ),
    (
        ("just", "only"),
        None,
        LazyPattern(
            r"\b(?:just\s+(?:the|give|say|tell|answer|reply|a|one|name|list|output|print|return)|only\s+(?:the|give|"
            r"say|answer|reply|respond|output|print|return|a|one|with))\b"
        ),
    ),
    (
        ("without", "no ", "n't", "not", "nothing"),
        frozenset("explanation explanations explaining details elaboration explain elaborate else".split()),
        LazyPattern(
            r"\b(?:(?:without|no)\s+(?:any\s+)?(?:explanations?|explaining|details|elaboration)|(?:don'?t|do\s+not)\s+"
            r"(?:explain|elaborate)|nothing\s+else)\b"
        ),
    ),
)
# A question that a value, a yes/no, a name or code answers; options or a label to complete.
_VALUE_PHRASES: _Phrases = (
    (("yes", "true"), None, LazyPattern(r"\b(?:yes\s+or\s+no|true\s+or\s+false)\b")),
    (
        ("how",),
        frozenset("many much old long far tall big often high deep heavy fast soon".split()),
        LazyPattern(r"\bhow\s+(?:many|much|old|long|far|tall|big|often|high|deep|heavy|fast|soon)\b"),
    ),
    (
        ("what",),
        frozenset("year time date day color colour number percentage percent size".split()),
        LazyPattern(r"\bwhat\s+(?:year|time|date|day|colou?r|number|percentage|percent|size)\b"),
    ),
    (("capital", "stand"), None, LazyPattern(r"\b(?:capital\s+of|stand\s+for)\b")),
    # A question for a name, a time or a place ("Who painted ...?", "When did ...?") at a sentence start.
    (
        ("who", "when", "where"),
        frozenset("who whom whose when where".split()),
        LazyPattern(r"(?:^|[.?!:\n])\s*(?:who|whom|whose|when|where)\b"),
    ),
    # Code asked for: terse by nature.
    (
        ("function", "method", "class", "script", "query", "formula", "equation", "program", "macro", "expression"),
        None,
        LazyPattern(
            r"\b(?:write|give|show|provide|generate|create)\s+(?:me\s+)?(?:[\w+#.-]+\s+){0,3}?(?:function|method|"
            r"class|script|query|formula|equation|program|macro|expression)\b"
        ),
    ),
    # Lettered options, few-shot "Q:" lines, a trailing "Answer:" / "Sentiment:" to complete.
    (
        ("a)", "a.", "a:", "q:", "question", "input", "example"),
        None,
        LazyPattern(r"^\s*(?:\(?[a-e][).:]|(?:q|question|input|example)\s*\d*\s*:)\s", re.MULTILINE),
    ),
)
_SHORT_PHRASES = _BREVITY_PHRASES + _VALUE_PHRASES
_LABEL_END_RE = LazyPattern(
    r"\b(?:a|answer|output|response|label|result|sentiment|category|translation|tl;?dr)\s*:\s*$"
)
# A yes/no question: a sentence opening on an auxiliary ("Is 29 prime?", "Does water boil ...?"), unless it
# is a request in question form ("Can you explain ...?", "Could you list ...?").
_YES_NO_RE = LazyPattern(
    r"(?:^|[.?!\n]\s*)(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|may|might|must|"
    r"shall|am|isn'?t|aren'?t|doesn'?t|don'?t)\s+(?!(?:you|u)\s+(?:please\s+)?(?:explain|describe|elaborate|tell|"
    r"list|give|walk|outline|compare|write|draft|compose|name|show|help|provide|summari|detail|go\s+over|break))"
)
_LIST_RE = LazyPattern(
    r"\b(list|name|give|provide|suggest|share|recommend|mention|enumerate|identify|offer|write|tell|brainstorm|"
    r"show|what\s+are|come\s+up\s+with|think\s+of)\s+(?:me\s+|us\s+)?(?:(?:the|at\s+least|exactly|some|top|about|"
    r"your|my|a\s+list\s+of|a\s+total\s+of)\s+)*(" + _NUM + r")\s+((?:[\w'-]+\s+){0,3}[\w'-]+)"
)
# Units that follow a number without making a list ("give me two minutes").
_NOT_ITEMS = frozenset(
    "seconds minutes hours days weeks months years dollars euros pounds cents percent times points miles "
    "kilometers kilometres meters metres km feet inches pages".split()
)
# Text units: a length when written ("write three sentences": _TEXT_COUNT_RE), items when listed ("list ten
# words that rhyme with light").
_TEXT_UNITS = frozenset("words sentences paragraphs lines verses stanzas syllables characters letters".split())
# Plurals that do not end in "s" ("name three famous people").
_PLURALS = frozenset(
    "people children men women feet teeth mice geese data criteria phenomena media species series".split()
)
_TEXT_COUNT_RE = LazyPattern(
    r"\b(?:(" + _NUM + r")[\s-]+(words?|sentences?|paragraphs?)\b(?!\s+(?:or\s+(?:less|fewer)|max))"
    r"|(?:at\s+least|about|around|roughly|approximately|minimum(?:\s+of)?)\s+(" + _NUM + r")\s+(words|sentences|"
    r"paragraphs)\b)"
)
_DETAIL_RE = LazyPattern(
    r"\b(?:in\s+(?:great\s+|more\s+|full\s+|much\s+|some\s+)?detail|detailed|thorough(?:ly)?|in[\s-]depth|"
    r"comprehensive(?:ly)?|at\s+length|extensive(?:ly)?|step[\s-]by[\s-]step|elaborate)\b"
)
_STEPS_RE = LazyPattern(
    r"\b(?:steps?\s+(?:to|for|of|in|involved)|step[\s-]by[\s-]step|instructions\s+(?:for|to|on)|(?:walk|guide)\s+"
    r"(?:me|us)\s+through|procedure\s+(?:for|to)|outline\s+(?:the\s+)?(?:steps|process|procedure)|the\s+steps)\b"
)
_COMPARE_RE = LazyPattern(
    r"\b(?:compare|comparison|contrast|differences?\s+between|distinguish\s+between|differs?\s+from|pros\s+and\s+"
    r"cons|advantages\s+and\s+disadvantages|similarities\s+and\s+differences)\b"
    r"|\bhow\s+(?:does|do|is|are)\s+[\w\s'-]{1,40}?\s+differ\b"
)
# How something works ("How does a bicycle stay upright?"), not a state ("How did the match go?", "How does
# the stew taste?") nor a how-to ("How do I exit vim?": one command may be the whole right answer).
_MECHANISM_VERBS = (
    r"work|works|function|happen|form|develop|evolve|affect|influence|impact|cause|lead|help|stay|keep|make|get|"
    r"manage|handle|protect|prevent|spread|grow|survive|learn|move|fly|swim|communicate|relate|operate|detect|"
    r"produce|generate|store|transmit|convert|change|become|interact|respond|avoid|use|train|find|determine|create|"
    r"build|reach|travel|navigate|adapt|regulate|reproduce|breathe|digest|fight|defend|escape|power|heat|cool|"
    r"absorb|reflect|compress|encrypt|decrypt|route|scale|sync|recover|fail"
)
# Requests for an explanation. "Explain yourself!" said to a character is not one ("I was hungry." answers it).
_EXPLAIN_RE = LazyPattern(
    r"\b(?:explain(?!\s+yourself)|explanation\s+of|describe|elaborate|(?:walk|take)\s+(?:me|us)\s+through|tell\s+(?:me|us)\s+"
    r"(?:about|why)|help\s+me\s+understand|discuss|analy[sz]e|what\s+(?:are|were)\s+the\s+(?:main\s+|key\s+|"
    r"major\s+)?(?:causes|reasons|effects|consequences|benefits|advantages|disadvantages|implications|origins)|"
    r"justify|prove|derive|devise|design|propose|outline\s+(?:a|an|the|my|our|how)|plan\s+(?:a|an|the|my|our|out|"
    r"how))\b"
)
# "Why ...?" at a sentence start or after "tell me / explain"; not "Why not?" nor "Why are you here?" (asked
# of a character, "To trade." answers it).
_WHY_RE = LazyPattern(
    r"(?:^|[.?!:;,\n])\s*(?:and\s+|but\s+|so\s+|then\s+)?why\b(?!\s+not\b|\s+(?:are|were|is|was|did|do|would|"
    r"will|can|could|should|have|had)\s+(?:you|u)\b)"
    r"|\b(?:tell|know|understand|wonder(?:ing)?)\s+why\b"
)
_HOW_RE = LazyPattern(
    r"\bhow\s+(?:does|do|did|can|could)\s+(?!(?:i|we|you|u|one)\b)(?:[\w'-]+\s+){1,6}?(?:" + _MECHANISM_VERBS + r")\b"
    r"|\bhow\s+(?:is|are|was|were)\s+(?!(?:you|your|u|things|it|life|everything)\b)(?:[\w'-]+\s+){1,6}?(?:made|"
    r"formed|built|created|produced|generated|caused|calculated|computed|determined|measured|decided|chosen|"
    r"elected|transmitted|spread|related|connected|organi[sz]ed|structured|regulated|powered|maintained|governed)\b"
)
_TEXTS = (
    r"story|stories|essay|e-?mail|letter|poem|article|blog(?:\s+post)?|report|speech|cover\s+letter|paragraph|"
    r"review|biography|proposal|memo|song|lyrics|script|dialogue|limerick|sonnet|haiku|announcement|newsletter|"
    r"press\s+release|toast|eulogy|tale|fable|chapter|scene|monologue|ballad|ode"
)
# "Write a short story", "Draft an email to my landlord"; not "write a reply to this email".
_COMPOSE_RE = LazyPattern(
    r"\b(?:write|draft|compose|create|pen|prepare|produce|generate)\s+(?:me\s+|us\s+)?"
    r"(?:(?!(?:to|for|about|on|of|in|with|from|into|this|that)\b)[\w'-]+\s+){0,4}?(?:"
    + _TEXTS
    + r")\b"
)


# Punctuation around words, blanked before ``str.split`` (a C loop, three times faster than a findall).
_PUNCT = str.maketrans({c: " " for c in ".,;:!?\"()[]{}<>/\\*`~|=+_#@$%^&"})
_AUX = frozenset(
    "is are was were do does did can could will would should has have had may might must shall am isn't aren't "
    "doesn't don't".split()
)
_STEP_WORDS = frozenset("step steps step-by-step instructions walk guide procedure outline".split())
_COMPARE_WORDS = frozenset(
    "compare comparison contrast difference differences distinguish differ differs pros advantages similarities".split()
)
_EXPLAIN_WORDS = frozenset(
    "explain explanation describe elaborate walk take tell help discuss analyze analyse justify prove derive devise "
    "design propose outline plan causes reasons effects consequences benefits advantages disadvantages implications "
    "origins".split()
)
_HOW_WORDS = frozenset(
    (
        _MECHANISM_VERBS.replace("|", " ") + " made formed built created produced generated caused calculated "
        "computed determined measured decided chosen elected transmitted spread related connected organized organised "
        "structured regulated powered maintained governed"
    ).split()
)
_COMPOSE_VERBS = frozenset("write draft compose create pen prepare produce generate".split())
_TEXT_WORDS = frozenset(
    "story stories essay email e-mail letter poem article blog report speech paragraph review biography proposal "
    "memo song lyrics script dialogue limerick sonnet haiku announcement newsletter press toast eulogy tale fable "
    "chapter scene monologue ballad ode".split()
)
_DETAIL_WORDS = frozenset(
    "detail detailed thorough thoroughly in-depth depth comprehensive comprehensively length extensive "
    "extensively step-by-step step elaborate".split()
)


def _window(task_text: str) -> str:
    t = task_text if len(task_text) <= 2 * _EDGE else task_text[:_EDGE] + "\n" + task_text[-_EDGE:]
    return straighten(t).lower().strip()


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 0)


def _has_number(t: str, words: frozenset[str]) -> bool:
    return any(c in t for c in "0123456789") or not words.isdisjoint(_NUMBER_WORDS) or "-word" in t


def _list_count(t: str) -> int:
    """How many items a "list five ..." request asks for (0 if it does not ask for a number of things)."""
    for m in _LIST_RE.finditer(t):
        n = _number(m.group(2))
        nouns = m.group(3).split()
        if n < 2 or n > 50 or nouns[0] in _NOT_ITEMS or (nouns[0] in _TEXT_UNITS and m.group(1) == "write"):
            continue
        if any(w in _PLURALS or (len(w) > 2 and w.endswith("s") and not w.endswith("ss")) for w in nouns):
            return n
    return 0


def _cue(t: str, words: frozenset[str]) -> tuple[str, int, str]:
    """The kind of answer asked for, and the number of items or words when one is stated. Each regex runs
    only when one of its words is in the request, so most requests cost a set lookup or two."""
    if _has_number(t, words):
        n = _list_count(t)
        if n:
            return "list", n, "items"
        m = _TEXT_COUNT_RE.search(t)
        if m and _number(m.group(1) or m.group(3)) >= 2:
            return "compose", _number(m.group(1) or m.group(3)), (m.group(2) or m.group(4)).rstrip("s") + "s"
    if not words.isdisjoint(_STEP_WORDS) and _STEPS_RE.search(t):
        return "steps", 0, ""
    if not words.isdisjoint(_COMPARE_WORDS) and _COMPARE_RE.search(t):
        return "compare", 0, ""
    if (
        (not words.isdisjoint(_EXPLAIN_WORDS) and _EXPLAIN_RE.search(t))
        or ("why" in words and _WHY_RE.search(t))
        or ("how" in words and not words.isdisjoint(_HOW_WORDS) and _HOW_RE.search(t))
    ):
        return "explain", 0, ""
    if not words.isdisjoint(_COMPOSE_VERBS) and not words.isdisjoint(_TEXT_WORDS) and _COMPOSE_RE.search(t):
        return "compose", 0, ""
    return "other", 0, ""


def _allows_short(t: str, words: frozenset[str]) -> bool:
    """A brevity cue, a value question, a yes/no question, options, code: a short answer may be right."""
    if not words.isdisjoint(_SHORT_WORDS) or "tl;dr" in t:
        return True
    for anchor, needed, pattern in _SHORT_PHRASES:
        if has_any(t, anchor) and (needed is None or not words.isdisjoint(needed)) and pattern.search(t):
            return True
    if t.endswith(":") and _LABEL_END_RE.search(t, max(0, len(t) - 40)):
        return True
    # A yes/no question is the request's first or last sentence, not one in the middle of a pasted text.
    if words.isdisjoint(_AUX):
        return False
    return bool(_YES_NO_RE.search(t, 0, 200)) or (len(t) > 200 and bool(_YES_NO_RE.search(t[-200:])))


_BREVITY_WORDS = frozenset(
    "brief briefly concise concisely succinct succinctly terse tersely tldr short shortly one-liner".split()
)


def brevity_requested(text: str) -> bool:
    """The text (a system prompt, an earlier turn) asks for short answers: "Answer in one word.", "Be
    concise.", "Reply in one or two sentences.", "No explanations."."""
    t = _window(text)
    if not t:
        return False
    if not frozenset(t.translate(_PUNCT).split()).isdisjoint(_BREVITY_WORDS):
        return True
    return any(has_any(t, anchor) and pattern.search(t) for anchor, _, pattern in _BREVITY_PHRASES)


def states_count(task_text: str) -> bool:
    """Whether the request may state a number of items, words or sentences ("list five", "300 words"): the
    only asks that a longer answer can still fall short of. A cheap test, so that most answers of more than a
    few words skip ``classify_ask``."""
    t = _window(task_text)
    return any(c in t for c in "0123456789") or any(w in t for w in _NUMBER_WORDS)


def classify_ask(task_text: str) -> Ask:
    """What the request asks for, as far as the length of a good answer goes (see ``Ask``)."""
    t = _window(task_text)
    if not t:
        return SHORT
    words = frozenset(t.translate(_PUNCT).split())
    kind, count, unit = _cue(t, words)
    if kind == "other":
        return OTHER
    if _allows_short(t, words):
        return SHORT
    detail = not words.isdisjoint(_DETAIL_WORDS) and bool(_DETAIL_RE.search(t))
    return Ask(kind, count, unit, detail)
