"""The request as the signals read it, built once: the bounded window (few-shot examples, lettered options,
a trailing answer cue and a leading label cut away), lower-cased, split into words and adjacent word pairs,
and the first words after polite framing. Three readers of its shape (``split_head``: the instruction apart
from the content it supplies; ``enumeration``: the longest list of short items; ``closing_request``) are
called by the intent signals only for the requests that need them, since most do not."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from .lexicon import ACTION_LEAD, LOOKUP_LEAD, MEDIUM_LEAD, STRONG_LEAD

__all__ = ["NARRATORS", "Text", "closing_request", "count_numbers", "enumeration", "narrated_move", "read_text",
           "split_head"]

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
    r"\s*(?:(?:please|pls|kindly|hey|hi|ok|okay|now|then|so|and|just|simply|quickly|anyway|anyways|btw|oh|also"
    r"|but|well|alright|right|hmm|wait|lol)[\s,!.]+)*"
    r"(?:(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+|just\s+)?|i\s+(?:want|need|would\s+like)\s+you\s+to\s+"
    r"|help\s+me\s+(?:to\s+)?|let'?s\s+|i'?d\s+like\s+(?:you\s+)?to\s+"
    # Wordier courtesy: "if it's not too much trouble,", "would someone mind pointing out", "I'd really
    # appreciate it if someone could remind me", "it'd be great if you could", "kindly let me know".
    r"|if\s+it'?s\s+not\s+too\s+much\s+trouble,?\s+|(?:would|do)\s+(?:you|someone|anyone)\s+mind\s+"
    r"(?:pointing\s+out\s+|telling\s+me\s+|letting\s+me\s+know\s+)?"
    r"|(?:i'?d|i\s+would)\s+(?:really\s+|so\s+)?(?:appreciate\s+it|be\s+grateful)\s+if\s+(?:you|someone|anyone)\s+"
    r"(?:could|would|can)\s+|it'?d\s+be\s+(?:great|nice|helpful)\s+if\s+(?:you|someone)\s+(?:could|would)\s+"
    r"|(?:could|can)\s+(?:someone|anyone)\s+|let\s+me\s+know\s+|remind\s+me\s+(?:roughly\s+|approximately\s+)?)?"
    # "Tell me why ...", "help me understand how ...", "I don't get why ...": the framing wraps the question
    # "why ..." or "how ...", and the question word is the lead.
    r"(?:(?:tell\s+me|i\s+wonder|do\s+you\s+know|(?:understand|know|unpack|grasp|break\s+down"
    r"|make\s+sense\s+of)"
    r"|i\s+(?:still\s+)?(?:don'?t|do\s+not|can'?t|cannot|never)\s+(?:really\s+|quite\s+|fully\s+)?"
    r"(?:understand|understood|get|got|see|grasp|know)"
    r"|i'?m\s+(?:curious|confused|puzzled|wondering|not\s+sure)(?:\s+(?:about|as\s+to))?)"
    r"\s+(?=(?:why|how|what|whats|which|who|when|where|whether)\b))?"
)
_FIRST_WORDS_RE = re.compile(r"[a-z][a-z'-]*")
# A label of one to three words ending in a colon: "Plan: ...", "Plan B: ...", "Open question: ...".
_LABEL_RE = re.compile(r"[a-z0-9][a-z0-9'-]*(?:[ \t]+[a-z0-9][a-z0-9'-]*){0,3}[ \t]*:[ \t]+")
# What may follow a label for the label to be only a name for the request ("Plan: open the door").
_REQUEST_LEADS = ACTION_LEAD | STRONG_LEAD | MEDIUM_LEAD | LOOKUP_LEAD | {"why", "should"}
_LABEL_VERBS = STRONG_LEAD | MEDIUM_LEAD
# Nouns that end a label ("Design question:", "Quick note:"): the label is a name whatever its first word.
_LABEL_NOUNS = frozenset(
    "question questions note notes task idea goal tip brief request problem exercise challenge puzzle".split()
)
# Supplied content: after a colon that ends an instruction of at most this many words.
_HEAD_MAX_WORDS = 20
_PARAGRAPH_MAX_WORDS = 30  # a first paragraph before pasted content ("Can you fix just the spelling ...")
_FEWSHOT_ANSWER_RE = re.compile(
    r"^[ \t]*(?:answer|a|output|label)[ \t]*:[ \t]*(?:\S[^\n]*|\n[ \t]*\S[^\n]{0,80})$",
    re.MULTILINE | re.IGNORECASE,
)
_OPTION_A_RE = re.compile(r"\n[ \t]*[(\[]?[Aa][.):\]][ \t]")
_OPTION_LINE_RE = re.compile(r"[ \t]*[(\[]?[A-Ja-j][.):\]][ \t][^\n]*")
_ANSWER_CUE_RE = re.compile(r"\n[ \t]*(?:answer|a|solution)[ \t]*:[ \t]*$", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[.!?]\s|\n")
_DIGIT_TABLE = bytes.maketrans(b"123456789", b"000000000")
_ITEM_MAX_WORDS = 4
_ITEM_MAX_CHARS = 80  # longer than any item of four words but a freak: not split into words to find out
NARRATORS = frozenset({"i", "we", "she", "he", "they", "my"})  # who tells a move: "I knock", "my character grabs"
# Starts with the quote itself, so the regex engine scans for it as a literal (26 times faster on 2 kB than
# the same pattern behind a lookbehind); the lookbehind then rules out an apostrophe inside a word.
_QUOTED_RE = re.compile(r"'(?<![\w']')[^'\n]{1,300}?'(?![\w])")
_CURLY_QUOTED_RE = re.compile("\u2018[^\u2019\n]{1,300}\u2019")
# Where a part of a request may start: after a sentence end, a semicolon, a colon or a text-game prompt (">").
_CLAUSE_START_RE = re.compile(
    r"(?:[.!?;:>]|\s[-\u2013\u2014])\s+|\u2014|\n[\s>]*|,\s+(?:so\s+|and\s+)?(?=(?:please|could\s+you|can\s+you)\b)"
)
# A player's move told in the first or third person: "I knock three times on the door", "She goes inside",
# "I just want to duck into the alley".
# "My character should probably head over to the stables", "I reckon my character ought to grab it": a move
# told as what the player's character should do.
_CHARACTER = (r"(?:(?:i\s+(?:reckon|think|guess)\s+)?my\s+(?:character|party|hero|champion)\s+"
              r"(?:should\s+(?:probably\s+)?|ought\s+to\s+|will\s+|could\s+|wants\s+to\s+|is\s+going\s+to\s+)?)")
_NARRATED_MOVE_RE = re.compile(
    rf"(?:{_CHARACTER}|(?:i|we|she|he|they)\s+(?:just\s+|then\s+|now\s+|quickly\s+|slowly\s+)?"
    r"(?:(?:want|try|decide|need|get\s+ready)\s+to\s+)?)([a-z]+)"
)
# The same at the start of a request, where "I want to pay off my loans" states a goal: moves only.
_DIRECT_MOVE_RE = re.compile(
    rf"(?:{_CHARACTER}|(?:i|we|she|he|they)\s+(?:just\s+|then\s+|now\s+|quickly\s+|slowly\s+)?)([a-z]+)")


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
    after_first: str  # the character after the first word and its spaces ("" at the end)
    lead: Sequence[str]  # the first five words after polite framing (first and second among them)


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
    start = _polite_end(lowered, 0)
    label_end = _label_end(lowered, start)
    if label_end:
        # "Plan: open the door": the label names the message, the request is what follows it. Its words
        # are not read ("plan" would count as a planning word); its characters still count as length.
        lowered = lowered[label_end:]
        if len(window) == len(lowered) + label_end:  # lower() kept every index (it nearly always does)
            window = window[label_end:]
        start = _polite_end(lowered, 0)
    # Quoted text is material the request names ("rename 'project plan v2.docx'"), not what it asks: its
    # words are not read for intent, vocabulary or structure. Its characters still count as length.
    if "'" in lowered:
        lowered = _QUOTED_RE.sub(" quoted ", lowered)
    if "\u2018" in lowered:
        lowered = _CURLY_QUOTED_RE.sub(" quoted ", lowered)
    ascii_text = lowered.encode("ascii", "ignore")
    spaced = b" " + ascii_text.translate(_BYTE_TABLE, b"'").replace(b"|", b" | ") + b" "
    normalised = spaced.decode("ascii")
    words = normalised.split()
    wset = frozenset(words)
    n_boundaries = normalised.count(" | ")
    n_words = len(words) - n_boundaries
    lead: list[str] = []
    after_first = ""
    for m in _FIRST_WORDS_RE.finditer(lowered, start, start + 120):
        if not lead:
            after_first = lowered[m.end():m.end() + 8].lstrip()[:1]
        # "we're" is "we", not "were" (a question's verb): a pronoun's "'re" is dropped, other apostrophes as
        # everywhere else ("what's" → "whats").
        lead.append(m.group().removesuffix("'re").replace("'", ""))
        if len(lead) == 5:
            break
    return Text(
        window,
        n_chars,
        few_shot,
        options,
        lowered,
        ascii_text,
        spaced,
        normalised,
        wset,
        frozenset(pairwise(words)),
        n_boundaries,
        n_words,
        lead[0] if lead else "",
        lead[1] if len(lead) > 1 else "",
        after_first,
        tuple(lead),
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


def _polite_end(lowered: str, pos: int) -> int:
    """Where the request proper starts after polite framing ("please", "can you", "help me to", "tell me")."""
    m = _POLITE_PREFIX_RE.match(lowered, pos)
    return m.end() if m else pos


def _label_end(lowered: str, start: int) -> int:
    """The end of a leading label ("Plan:", "Plan B:", "Open question:"), or 0 if there is none.

    A label is one to three words and a colon, followed by a request of its own: an action, a question, a
    task verb. A label that is itself a task verb ("Compare: is Go faster?") keeps its meaning unless a
    simple action follows ("Prove you're awake: say 'pineapple'")."""
    if ":" not in lowered[start:start + 40]:
        return 0
    m = _LABEL_RE.match(lowered, start)
    if not m:
        return 0
    after = _polite_end(lowered, m.end())
    nxt = _FIRST_WORDS_RE.match(lowered, after)
    if not nxt:
        return 0
    word = nxt.group().replace("'", "")
    label_words = _FIRST_WORDS_RE.findall(lowered, start, m.end())
    if label_words[0] in _LABEL_VERBS and label_words[-1] not in _LABEL_NOUNS:
        return m.end() if word in ACTION_LEAD else 0
    return m.end() if word in _REQUEST_LEADS else 0


def narrated_move(lowered: str) -> str:
    """The action verb of a request that opens with a move told in the first or third person ("I climb the
    rope ladder ...", "She goes inside"), or ""."""
    return _move_at(lowered, _polite_end(lowered, 0), _DIRECT_MOVE_RE)[0]


def _move_at(text: str, at: int, pattern: re.Pattern[str]) -> tuple[str, int]:
    """(the action verb, where it starts) when ``text`` at ``at`` tells a move: "I knock", "she goes", "we just
    want to duck"; ("", -1) otherwise."""
    move = pattern.match(text, at)
    if move is None:
        return "", -1
    verb = move.group(1)
    if verb not in ACTION_LEAD:
        verb = verb[:-2] if verb.endswith("es") and verb[:-2] in ACTION_LEAD else verb[:-1] if verb.endswith(
            "s") else verb
    return (verb, move.start(1)) if verb in ACTION_LEAD else ("", -1)


def count_numbers(t: Text) -> int:
    """How many words of the request start with a digit."""
    return t.spaced.translate(_DIGIT_TABLE).count(b" 0")


def split_head(lowered: str) -> tuple[int, list[str] | None]:
    """(where supplied content starts, the instruction's words) when a colon ends an instruction of at most
    ``_HEAD_MAX_WORDS`` words and something follows it ("Sort these names: Zoe, Adam, ..."), or a blank line
    ends a first paragraph of at most ``_PARAGRAPH_MAX_WORDS`` ("Fix just the spelling in this.\n\nHi
    Marcus, ..."), whichever comes first; (0, None) otherwise."""
    colon = lowered.find(":", 0, 300)
    if colon < 0 or colon + 2 >= len(lowered) or not lowered[colon + 1].isspace():
        colon = -1
    blank = lowered.find("\n\n", 0, 400)
    if blank >= 0 and (colon < 0 or blank < colon) and blank + 2 < len(lowered.rstrip()):
        pos, limit = blank, _PARAGRAPH_MAX_WORDS
    elif colon >= 0:
        pos, limit = colon, _HEAD_MAX_WORDS
    else:
        return 0, None
    words = _FIRST_WORDS_RE.findall(lowered, 0, pos)
    if not words or len(words) > limit:
        return 0, None
    return pos + 1, [w.replace("'", "") for w in words]


def enumeration(lowered: str) -> tuple[int, int]:
    """(items, characters) of the longest run of short comma-separated items ("Zoe, Adam, Priya, ...";
    "2 cups of flour, 1 cup of sugar, ..."), or (0, 0) if no run has three items. An item is at most four
    words and holds no sentence end."""
    if lowered.count(",") < 2:
        return 0, 0
    best = best_chars = 0
    run = run_chars = 0
    for segment in lowered.split(","):
        size = len(segment.split()) if len(segment) <= _ITEM_MAX_CHARS else _ITEM_MAX_WORDS + 1
        if 0 < size <= _ITEM_MAX_WORDS and not _SENTENCE_END_RE.search(segment.rstrip()):
            run += 1
            run_chars += len(segment) + 1
        else:
            # The item before the first comma shares its segment with the text before it.
            run, run_chars = (1, 0) if segment else (0, 0)
        if run > best:
            best, best_chars = run, run_chars
    return (best, best_chars) if best >= 3 else (0, 0)


def closing_request(lowered: str) -> tuple[str, int, int]:
    """(its first word, its instruction's word count, where it starts) of the last part of the request that
    opens with an action or a question word: the last sentence, or what follows the last colon or a
    text-game prompt (">"), whichever opens with one. ("", 0, 0) when no part but the first does.

    "The corridor is dark ... Take the torch.", "... so we agreed I'd ask: how many legs does a spider
    have?", "... What do you do? > read the note". The instruction ends at a colon that follows it: in
    "please change 'colour' to 'color' in this sentence: ..." what comes after is supplied content."""
    trimmed = lowered.rstrip(" \t\n.!?\"')")
    starts = [m.end() for m in _CLAUSE_START_RE.finditer(trimmed, max(0, len(trimmed) - 600))]
    for at in reversed(starts):
        at = _polite_end(trimmed, at)
        m = _FIRST_WORDS_RE.match(trimmed, at)
        if m is None:
            continue
        word = m.group().replace("'", "")
        if word in NARRATORS:
            verb, verb_at = _move_at(trimmed, at, _NARRATED_MOVE_RE)
            if verb:
                word, at = verb, verb_at
        if word in ACTION_LEAD or word in LOOKUP_LEAD:
            # The instruction ends at a colon (supplied content follows) or at its question mark (a remark may
            # follow: "what is the capital of australia? i think it is sydney but my friend say no").
            ends = [i for i in (trimmed.find(": ", at), trimmed.find("?", at)) if i >= 0]
            n_words = len(_FIRST_WORDS_RE.findall(trimmed, at, min(ends) if ends else len(trimmed)))
            return word, n_words, at
    return "", 0, 0
