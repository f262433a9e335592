"""``too-short``: an answer far shorter than what the request asks for ("Chaining." to "Explain how a hash
table handles collisions", two items to "List five ...").

The request's ask comes from ``asks.classify_ask``; the answer is measured in words, sentences and list
items. Only answers that are clearly under are flagged, with margins wide enough that a terse good answer
passes:

* explain / why / how does / compare / steps / a text ("write a story"): 3 words or fewer;
* the same "in detail" ("thoroughly", "in depth", "elaborate"): one sentence of fewer than 12 words;
* "list five ...": fewer items than asked, counting lines, comma/"and"-separated parts and sentences,
  whichever is most; an answer that says there are fewer ("only", "actually") is not judged;
* "write 300 words" / "three paragraphs": under a quarter of the words, fewer sentences than paragraphs
  (or than the sentences asked for).

Never judged: requests a short answer settles (``asks.SHORT``: "in one word", "what is the capital of",
"is it ...?", "convert", options, code), answers longer than ``MAX_CHARS``, answers that hold code or
symbols (":wq", "s[::-1]", "37.8 °C": terse code is often the whole right answer), answers with a number
outside a list ("10" to "what is the difference between their ages"), answers that end on a question
(asking back is left to ``non-answer``). ``assess_response`` also lets a short answer through when a system
prompt or an earlier turn asked for brevity.
"""

from __future__ import annotations

from .asks import classify_ask, states_count
from .common import LazyPattern

__all__ = ["MAX_CHARS", "too_short"]

MAX_CHARS = 600  # no rule here can flag a longer answer; ``assess_response`` skips the check beyond it

_PROSE_TOKEN_RE = LazyPattern(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|[-+]?[$€£]?\d[\d,.]*%?")
_SENTENCE_RE = LazyPattern(r"[.!?]+(?=\s|$)|\n+")
_ITEM_SPLIT_RE = LazyPattern(r"[,;/·|]|\s(?:and|or|&)\s")
_LIST_MARK_RE = LazyPattern(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
# "There are only two moons: ...", "Actually, Mars has two": the answer says why it lists fewer.
_FEWER_RE = LazyPattern(
    r"\b(?:only|just|actually|there\s+(?:are|is)\s+(?:no|not|only)|not\s+(?:that\s+)?many|fewer\s+than|no\s+"
    r"(?:other|more)|can'?t\s+think)\b"
)
_QUOTES = "\"'“”‘’()*_«»"
_MARKS = frozenset("- – — • * & +".split())  # list bullets and dashes between words


def _prose(tokens: list[str]) -> bool:
    """Every token is a word or a number (with sentence punctuation and quotes around it): no code or symbols."""
    for tok in tokens:
        core = tok.strip(_QUOTES).rstrip(".,!?;:").strip(_QUOTES)
        if core and core not in _MARKS and not _PROSE_TOKEN_RE.fullmatch(core):
            return False
    return True


def _sentences(text: str) -> int:
    parts = _SENTENCE_RE.split(text)
    return sum(1 for p in parts if p.strip())


def _items(text: str) -> int:
    """List items, counted generously: lines, separated parts, sentences, whichever is most."""
    lines = [_LIST_MARK_RE.sub("", ln).strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    parts = sum(sum(1 for p in _ITEM_SPLIT_RE.split(ln) if p.strip(" .!?:")) for ln in lines)
    if len(lines) == 1 and parts == 1:
        parts = len(text.split())  # "joyful cheerful glad": words with no separator
    return max(len(lines), parts, _sentences(text))


def too_short(stripped: str, task_text: str) -> bool:
    """The answer is clearly shorter than what the request asks for (see the module docstring)."""
    if len(stripped) > MAX_CHARS or stripped.endswith("?"):
        return False
    # Beyond 3 words (and 12, or one sentence, for "in detail") only a stated count can make the answer
    # short; most answers stop here, before the request is classified. Counting blanks is a C loop and can
    # only overcount words (runs of blanks), which errs towards not flagging.
    if stripped.count(" ") + stripped.count("\n") >= 12 and not states_count(task_text):
        return False
    tokens = stripped.split()
    words = len(tokens)
    if words > 3 and (words >= 12 or _sentences(stripped) > 1) and not states_count(task_text):
        return False
    ask = classify_ask(task_text)
    if ask.kind in ("short", "other") or not _prose(tokens):
        return False
    if ask.kind != "list" and any(c.isdigit() for c in stripped):
        return False  # a value ("10", "1989") answers "what is the difference between their ages" and the like
    if ask.kind == "list":
        if _FEWER_RE.search(stripped.lower()):
            return False
        return _items(stripped) < ask.count
    if ask.count:  # "write 300 words", "in three paragraphs", "five sentences"
        if ask.unit == "words":
            return words <= 3 or words < ask.count / 4
        return words <= 3 or _sentences(stripped.replace(";", ".")) < ask.count
    if ask.detail and words < 12 and _sentences(stripped) <= 1:
        return True
    return words <= 3
