"""Degenerate text: placeholders and stray chat-template tokens instead of an answer, and loops
(a token repeated, few distinct n-grams, repeated lines)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

from .common import FENCE_RE, HEAD_CHARS, RULE_CHARS, TAIL_CHARS, LazyPattern, QualityVerdict

__all__ = ["placeholder", "repetitive"]

# --------------------------------------------------------------------------------------------------
# Placeholders and template tokens
# --------------------------------------------------------------------------------------------------

_PLACEHOLDER_WORDS = (
    "null none nil nan n/a n.a. na undefined void error err todo tbd tba fixme placeholder ... … - -- --- "
    "? ?? ??? [placeholder] <placeholder> {placeholder} [answer] <answer> {answer} answer response output"
)
_PLACEHOLDERS = frozenset(
    {*_PLACEHOLDER_WORDS.split(), "your answer here", "insert answer here", "[insert answer here]", "no answer"}
)
# "None" / "0" can be a correct answer to "how many ..." or "which of these ...".
_NONE_OK_TASK_RE = LazyPattern(r"\b(?:how\s+many|which|any|are\s+there|is\s+there|what\s+number)\b", re.I)
_SPECIAL_TOKEN_RE = LazyPattern(
    r"<\|(?:im_start|im_end|eot_id|end_of_text|endoftext|start_header_id|end_header_id|eom_id|end|user|"
    r"assistant|system|pad|begin_of_text)\|>|</s>|<s>\s*\[INST\]|\[/?INST\]|<<SYS>>|<</SYS>>|<unk>|<pad>|"
    r"<start_of_turn>|<end_of_turn>|<eos>|<bos>|<\|reserved_special_token_\d+\|>",
    re.IGNORECASE,
)


def placeholder(stripped: str, task_text: str, fmt: str | None) -> QualityVerdict | None:
    """The ``placeholder`` verdict when the answer is junk (a placeholder word, lorem ipsum, chat-template
    tokens outside code fences), else None."""
    if len(stripped) <= 40:
        key = stripped.strip("`'\"*_ \t\n").lower().rstrip(".!")
        if key in _PLACEHOLDERS or stripped.lower() in _PLACEHOLDERS:
            if key in ("none", "nil", "0") and _NONE_OK_TASK_RE.search(task_text):
                return None
            return QualityVerdict(True, "placeholder")
    head = stripped[:HEAD_CHARS]
    tail = stripped[-TAIL_CHARS:] if len(stripped) > HEAD_CHARS else ""
    scan = head + "\n" + tail
    if "```" in scan and fmt != "code":
        scan = FENCE_RE.sub(" ", scan)
    elif fmt == "code":
        scan = FENCE_RE.sub(" ", scan) if "```" in scan else ""
    if ("<" in scan or "[" in scan) and _SPECIAL_TOKEN_RE.search(scan):
        return QualityVerdict(True, "placeholder")
    if "lorem ipsum" in head.lower():
        return QualityVerdict(True, "placeholder")
    return None


# --------------------------------------------------------------------------------------------------
# Repetition
# --------------------------------------------------------------------------------------------------

_NUMERIC_CHARS = "0123456789.,;:-+*/=()[]{}'\"$%"


def repetitive(stripped: str) -> bool:
    """Degenerate loops: a token or character run, one word dominating, few distinct n-grams, repeated lines.

    Works on whitespace-separated tokens (``str.split`` is a C loop), so "4 + 4 + 4" is not a run while
    "frog frog frog" is.
    """
    if len(stripped) > HEAD_CHARS + TAIL_CHARS:
        sample = stripped[:HEAD_CHARS] + "\n" + stripped[-TAIL_CHARS:]
    else:
        sample = stripped
    tokens = sample.lower().split()
    n = len(tokens)
    run = 1
    for a, b in pairwise(tokens):
        if a == b and a.strip(_NUMERIC_CHARS):
            run += 1
            if run >= 6:
                return True
        else:
            run = 1
    for tok in tokens:
        # "aaaaaaaaaaaaaaaaaaaaaaaaa" or "!!!!!!!!!!!!!!!!!!!!!!!!!" (not a markdown rule like "-----").
        if len(tok) >= 25 and len(set(tok)) <= 2 and not set(tok) <= RULE_CHARS:
            return True
    if n >= 8:
        top, count = Counter(tokens).most_common(1)[0]
        if count / n >= 0.5 and (n >= 12 or len(set(tokens)) <= 2) and top.strip(_NUMERIC_CHARS):
            return True
    if n >= 50 and _ngram_diversity(tokens, 4) < 0.3:
        return True
    if n >= 160 and _ngram_diversity(tokens[-160:], 4) < 0.25:
        return True
    if sample.count("\n") >= 3:
        lines = [ln.strip() for ln in sample.splitlines() if len(ln.strip()) >= 8]
        if len(lines) >= 4:
            _, count = Counter(lines).most_common(1)[0]
            if count >= 3 and count / len(lines) >= 0.4:
                return True
    return False


def _ngram_diversity(words: list[str], n: int) -> float:
    """Distinct n-grams / all n-grams."""
    total = len(words) - n + 1
    if total <= 0:
        return 1.0
    return len(set(zip(*(words[i:] for i in range(n)), strict=False))) / total
