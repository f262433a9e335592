"""The request as the signals read it, built once: the bounded window (few-shot examples, lettered options
and a trailing answer cue cut away), lower-cased, split into words and adjacent word pairs, and the first
words after polite framing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

__all__ = ["Text", "read_text"]

# Lexical signals only look at a bounded window of the request; the length term counts the whole text.
_HEAD_CHARS = 4096
_TAIL_CHARS = 2048

# Word splitting works on ASCII bytes (bytes.translate is a C table lookup): non-ASCII characters are
# dropped, punctuation becomes a space, sentence/clause punctuation becomes the boundary token "|",
# apostrophes are deleted ("what's" -> "whats").
_SPACE_PUNCT = b'"#$%&()*+,/:<=>@[\\]^_`{}~\r\t'
_BOUNDARY_PUNCT = b".!?;\n"
_BYTE_TABLE = bytes.maketrans(_SPACE_PUNCT + _BOUNDARY_PUNCT, b" " * len(_SPACE_PUNCT) + b"|" * len(_BOUNDARY_PUNCT))
_POLITE_PREFIX_RE = re.compile(
    r"\s*(?:(?:please|pls|kindly|hey|hi|ok|okay|now|then|so|and)[\s,!.]+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|need|would\s+like)\s+(?:you\s+)?to\s+"
    r"|help\s+me\s+(?:to\s+)?|let'?s\s+|i'?d\s+like\s+(?:you\s+)?to\s+)?"
)
_FIRST_WORDS_RE = re.compile(r"[a-z][a-z'-]*")
_FEWSHOT_ANSWER_RE = re.compile(
    r"^[ \t]*(?:answer|a|output|label)[ \t]*:[ \t]*(?:\S[^\n]*|\n[ \t]*\S[^\n]{0,80})$",
    re.MULTILINE | re.IGNORECASE,
)
_OPTION_A_RE = re.compile(r"\n[ \t]*[(\[]?[Aa][.):\]][ \t]")
_OPTION_LINE_RE = re.compile(r"[ \t]*[(\[]?[A-Ja-j][.):\]][ \t][^\n]*")
_ANSWER_CUE_RE = re.compile(r"\n[ \t]*(?:answer|a|solution)[ \t]*:[ \t]*$", re.IGNORECASE)


class Text(NamedTuple):
    """One request, read once; every signal family reads this and nothing else of the text. Built by
    ``read_text`` and not changed after (the sequences are read-only by type)."""

    window: str  # the part the lexical signals read: bounded, few-shot examples, options and answer cue cut
    n_chars: int  # what the length signal counts: the whole request (the last block of a few-shot one)
    few_shot: bool  # two or more worked examples were cut: the request is the last block
    options: Sequence[str]  # the lettered option lines cut from the window (empty if none)
    lowered: str  # window.lower()
    ascii_text: bytes  # lowered as ASCII bytes, non-ASCII characters dropped
    spaced: bytes  # ascii_text with punctuation as spaces and boundaries as " | ", padded with spaces
    normalised: str  # spaced as a str: " words | separated by single-character gaps "
    wset: frozenset[str]  # the distinct words of normalised.split() (the boundary token "|" among them)
    pairs: frozenset[tuple[str, str]]  # adjacent words (a boundary counts as the word "|")
    n_boundaries: int  # sentence ends, ";" and line breaks
    n_words: int  # words, boundaries not counted
    first: str  # the first word after polite framing ("please", "can you", "help me to"), "" if none
    second: str  # the word after it


def read_text(text: str) -> Text:
    """The ``Text`` of a request."""
    n_chars = len(text)
    window = text
    if n_chars > _HEAD_CHARS + _TAIL_CHARS:
        window = text[:_HEAD_CHARS] + "\n" + text[-_TAIL_CHARS:]

    # Few-shot prompts: the worked examples are context, the request is the last block.
    few_shot = False
    if "nswer:" in window or "NSWER:" in window or "\nA:" in window or "utput:" in window or "abel:" in window:
        shots = 0
        last_end = 0
        for m in _FEWSHOT_ANSWER_RE.finditer(window):
            shots += 1
            last_end = m.end()
        if shots >= 2:
            window = window[last_end:].strip()
            n_chars = len(window)
            few_shot = True

    # Closed-form questions: lettered options are answers to pick from, not steps or constraints; an
    # answer cue ("Answer:") or an output instruction after them is not part of the task.
    options: list[str] = []
    if "\n" in window:
        stem, options = _split_options(window)
        if options:
            window = stem.strip()
            n_chars = len(window) + sum(len(o) + 1 for o in options) - 1
        else:
            cue = _ANSWER_CUE_RE.search(window)
            if cue:
                window = window[: cue.start()].strip()
                n_chars = len(window)

    lowered = window.lower()
    ascii_text = lowered.encode("ascii", "ignore")
    spaced = b" " + ascii_text.translate(_BYTE_TABLE, b"'").replace(b"|", b" | ") + b" "
    normalised = spaced.decode("ascii")
    words = normalised.split()
    n_boundaries = normalised.count(" | ")
    lead = _lead_words(lowered)
    return Text(
        window,
        n_chars,
        few_shot,
        options,
        lowered,
        ascii_text,
        spaced,
        normalised,
        frozenset(words),
        frozenset(pairwise(words)),
        n_boundaries,
        len(words) - n_boundaries,
        lead[0] if lead else "",
        lead[1] if len(lead) > 1 else "",
    )


def _split_options(window: str) -> tuple[str, list[str]]:
    """(the question stem, its lettered options) when ``window`` lists two or more options on their own
    lines ("A) ...", "(b) ...", "C. ..."); (window, []) otherwise. What follows the options (an answer cue,
    "Print only the letter") is dropped."""
    m = _OPTION_A_RE.search(window)
    if not m:
        return window, []
    pos = m.start() + 1
    options = []
    while True:
        line = _OPTION_LINE_RE.match(window, pos)
        if not line:
            break
        options.append(line.group())
        pos = line.end() + 1
    if len(options) < 2:
        return window, []
    return window[: m.start()], options


def _lead_words(lowered: str) -> list[str]:
    """The first words of the request, after polite framing ("please", "can you", "help me to")."""
    m = _POLITE_PREFIX_RE.match(lowered)
    start = m.end() if m else 0
    return [w.replace("'", "") for w in _FIRST_WORDS_RE.findall(lowered, start, start + 80)[:2]]
