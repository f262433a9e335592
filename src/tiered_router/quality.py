"""Quality gate for tier-1 answers: cheap checks that decide whether an answer should be sent up a tier.

``assess_response`` runs, in order:

1. ``empty`` - nothing but whitespace.
2. ``truncated`` - the backend stopped on its token limit (``finish_reason == "length"``).
3. ``placeholder`` - junk instead of an answer (``null``, ``N/A``, ``...``, ``TODO``, lorem ipsum) or
   stray chat-template tokens (``<|im_end|>``, ``</s>``, ``[INST]``...).
4. ``refusal`` / ``ai-disclaimer`` - the answer declines, or lectures instead of answering. Judged on how
   the answer opens (its first sentences) and on its dominant intent: a refusal or lecture that is
   followed by real content (steps, a list, "here's how") is not a refusal; a passing "sorry" in the
   middle of compliant content is ignored.
5. ``non-answer`` - "I don't know", "I'm not sure", a bare request for clarification.
6. ``repetition`` - degenerate loops: one token repeated, repeated n-grams, repeated lines.
7. format checks - ``invalid-json`` when JSON was asked for (``expect_json=True``, or the task says
   "as JSON", "JSON object"...); with ``answer_format`` also ``"choice"``, ``"number"``/``"integer"``,
   ``"json"`` and ``"code"`` (reasons ``wrong-format:<format>`` or ``hedged:<format>``).

Everything is regex- and string-based, compiled at import, and looks at bounded prefixes/suffixes of
very long answers, so a verdict costs microseconds.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tiered_router.messages import as_messages, last_user_text

__all__ = ["QualityVerdict", "assess_response", "extract_choice", "extract_number"]


@dataclass(frozen=True)
class QualityVerdict:
    """``low_quality`` is True when the answer should be escalated; ``reason`` says why (``"ok"`` if not)."""

    low_quality: bool
    reason: str


_OK = QualityVerdict(False, "ok")

# Bounds for long answers: the opening is judged on its first characters, repetition on a head and a tail.
_OPENING_CHARS = 700
_HEAD_CHARS = 8192
_TAIL_CHARS = 4096

# --------------------------------------------------------------------------------------------------
# Placeholders and template tokens
# --------------------------------------------------------------------------------------------------

_PLACEHOLDERS = frozenset(
    """
    null none nil nan n/a n.a. na undefined void error err todo tbd tba fixme placeholder ... …
    [placeholder] <placeholder> {placeholder} [answer] <answer> {answer} answer response output
    your answer here insert answer here [insert answer here] <insert answer here> lorem ipsum
    - -- --- ? ?? ??? [] {} "" ''
    """.split()
    + ["your answer here", "insert answer here", "[insert answer here]", "lorem ipsum", "no answer"]
)
# "None" / "0" can be a correct answer to "how many ..." or "which of these ...".
_NONE_OK_TASK_RE = re.compile(r"\b(?:how\s+many|which|any|are\s+there|is\s+there|what\s+number)\b", re.I)
_SPECIAL_TOKEN_RE = re.compile(
    r"<\|(?:im_start|im_end|eot_id|end_of_text|endoftext|start_header_id|end_header_id|eom_id|end|user|"
    r"assistant|system|pad|begin_of_text)\|>|</s>|<s>\s*\[INST\]|\[/?INST\]|<<SYS>>|<</SYS>>|<unk>|<pad>|"
    r"<start_of_turn>|<end_of_turn>|<eos>|<bos>|<\|reserved_special_token_\d+\|>",
    re.IGNORECASE,
)
_LOREM_RE = re.compile(r"\blorem\s+ipsum\b", re.IGNORECASE)
_FENCE_RE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)

# --------------------------------------------------------------------------------------------------
# Refusals, disclaimers and lectures (matched on the lower-cased opening, curly quotes straightened)
# --------------------------------------------------------------------------------------------------

# Things a refusing assistant says it cannot do; "I cannot stress enough" etc. are excluded.
# What an assistant says it cannot do when it declines (not "we can't include it in the total").
_HELP_VERBS = (
    r"(?:help|assist|provide|fulfil+|comply|answer|respond|do\s+(?:that|this|so|it)|support|engage|give|share|"
    r"create|write|generate|produce|offer|participate|complete|continue|discuss|recommend|suggest|tell|access|"
    r"browse|predict|guarantee|encourage|condone|promote|endorse|facilitate|advise|make|satisfy|accommodate|"
    r"in\s+good\s+conscience|be\s+of\s+(?:help|assistance)|go\s+along|agree|play|pretend|role-?play|take\s+part|"
    r"perform|carry\s+out|disclose|reveal|look\s+up|search|retrieve|speculate|express|engage|entertain|"
    r"justify|explain|describe|list|draft|compose|teach|instruct|show|determine|confirm|verify|know\s+(?:who|what|"
    r"where|whether|if)|say)"
)
_SUBJECT = r"(?:i|we)\s*(?:really\s+|truly\s+|simply\s+|just\s+|unfortunately\s+|honestly\s+|still\s+)?"
_NEGATION = (
    r"(?:can(?:no|')?t|can\s+not|could\s*n[o']?t|won'?t|will\s+not|(?:am|'m|are|'re)\s+(?:not\s+(?:able|allowed|"
    r"permitted|going|programmed|designed|in\s+a\s+position)\s+to|unable\s+to)|(?:do\s+not|don'?t)\s+(?:feel\s+"
    r"comfortable|think\s+i\s+(?:can|should)))"
)
_INABILITY = (
    _SUBJECT
    + r"(?:"
    + _NEGATION
    + r"\s+(?:really\s+|directly\s+|personally\s+|ethically\s+|responsibly\s+|in\s+good\s+conscience\s+)?"
    + _HELP_VERBS
    + r"\b|"
    + _NEGATION
    + r"\s*[.!,;]"
    r"|(?:must|have\s+to|'ll\s+have\s+to|will\s+have\s+to)\s+(?:respectfully\s+|politely\s+)?(?:decline|refuse|pass)"
    r"|(?:refuse|decline)\s+to|(?:am|'m)\s+(?:not\s+comfortable|uncomfortable)"
    r"|(?:am|'m)\s+afraid\s+(?:that\s+)?(?:i|we)\s+(?:can(?:no|')?t|won'?t|will\s+not)"
    r"|(?:would|'d)\s+(?:rather|prefer)\s+not"
    r"|(?:do\s+not|don'?t)\s+(?:condone|endorse|encourage|promote|provide|assist\s+with|engage\s+in)"
    r"|(?:am|'m)\s+(?:just|only)\s+an?\s+ai"
    r")"
)
_INABILITY_RE = re.compile(r"\b" + _INABILITY)
_OPEN_INABILITY_RE = re.compile(
    r"^(?:(?:no|unfortunately|regrettably|however|sadly|but|well|ok(?:ay)?|hmm|oh)[,.!]?\s+)?"
    r"(?:(?:i'?m|i\s+am)\s+(?:so\s+|really\s+|very\s+|truly\s+)?sorry[^.!?\n]{0,120}?[,.;:!-]\s*(?:but\s+)?)?"
    + _INABILITY
)
_APOLOGY_OPEN_RE = re.compile(
    r"^(?:oh,?\s+|well,?\s+)?(?:(?:i'?m|i\s+am|we'?re|we\s+are|i|we)\s+)?(?:so\s+|really\s+|very\s+|truly\s+|"
    r"terribly\s+|deeply\s+)?(?:sorry|apologi[sz]e|apologies|my\s+apologies|unfortunately|regrettably)\b"
)
_SYMPATHY_RE = re.compile(r"^[^.!?\n]{0,40}sorry\s+(?:to\s+hear|for\s+your\s+loss|about\s+(?:your|the))")
_AI_DISCLAIMER_RE = re.compile(
    r"^(?:well,?\s+|hi!?\s+|hello!?\s+)?(?:as\s+an?\s+(?:[\w-]+\s+){0,3}?(?:ai|a\.i\.|artificial\s+intelligence|"
    r"language\s+model|llm|assistant|chatbot|model)\b|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+|merely\s+)?an?\s+"
    r"(?:[\w-]+\s+){0,2}?(?:ai|a\.i\.|language\s+model|llm|assistant|chatbot|computer\s+program|machine)\b)"
)
_JUST_AN_AI_RE = re.compile(
    r"\b(?:i'?m|i\s+am)\s+(?:just|only|merely)\s+an?\s+(?:ai|language\s+model|assistant)|not\s+within\s+my\s+"
    r"(?:programming|ethical\s+guidelines|capabilities)|against\s+my\s+(?:programming|guidelines|policies|"
    r"principles|ethical)|(?:violates?|goes\s+against)\s+(?:my|our|openai'?s?)\s+(?:guidelines|polic|principles|"
    r"programming|content)|as\s+a\s+responsible\s+(?:ai|assistant|language\s+model)"
)
# "I don't have personal opinions/feelings": a disclaimer that is fine when an answer follows.
_NO_OPINION_RE = re.compile(
    r"(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have|hold|form|express|share)\s+(?:any\s+)?(?:personal\s+)?"
    r"(?:opinions?|feelings?|beliefs?|preferences?|views?|emotions?|biases|experiences?|thoughts?|a\s+body)"
)
_LECTURE_PREAMBLE = (
    r"^(?:(?:no|well|however|actually|first(?:ly)?(?:\s+and\s+foremost)?|unfortunately|i\s+understand[^.!?]{0,80}?|"
    r"(?:i'?m|i\s+am)\s+(?:glad|happy)[^.!?]{0,80}?[.!]?\s*(?:but|however)|i\s+apologi[sz]e,?\s+but)[,.!]?\s+)?"
)
# Openings that lecture whatever follows: "It's not appropriate to ...", "I would advise against ...".
_HARD_LECTURE_RE = re.compile(
    _LECTURE_PREAMBLE
    + r"(?:"
    r"it(?:'s|\s+is|\s+would\s+(?:not|be))\s+(?:not\s+|never\s+|highly\s+|generally\s+)?(?:appropriate|ethical|okay|"
    r"ok|acceptable|advisable|recommended|safe|legal|right|fair|respectful|productive|accurate|possible\s+to\s+"
    r"(?:provide|help|assist)|inappropriate|unethical|illegal|wrong|justified|justifiable|a\s+good\s+idea|"
    r"best|morally|unacceptable|against)"
    r"|(?:this|that|the|your)\s+(?:question|request|query|prompt|statement|premise)\s+(?:itself\s+)?(?:is|seems|"
    r"appears|contains|may\s+be|might\s+be|could\s+be)\s+(?:to\s+be\s+)?(?:\w+\s+)?(?:inappropriate|offensive|"
    r"harmful|unethical|problematic|not\s+appropriate|discriminatory|disrespectful|hurtful|illegal)"
    r"|i\s+(?:would|'d|strongly|must)\s+(?:strongly\s+)?(?:advise|caution|recommend|urge|encourage)\s+"
    r"(?:you\s+)?(?:against|not|to\s+(?:seek|consult|reconsider|avoid))"
    r"|i\s+(?:strongly\s+)?(?:discourage|condemn|(?:do\s+not|don'?t|cannot|can'?t|will\s+not|won'?t)\s+"
    r"(?:condone|support|encourage|promote|endorse))"
    r"|(?:i\s+)?(?:do\s+not|don'?t)\s+think\s+(?:it'?s|it\s+is|that'?s|that\s+is|this\s+is|it\s+would\s+be)\s+"
    r"(?:\w+\s+)?(?:appropriate|a\s+valid|valid|respectful|accurate|fair|right|ethical|okay|a\s+good\s+idea|"
    r"productive|helpful|possible|correct)"
    r"|i\s+(?:do\s+not|don'?t)\s+think\s+(?:[\w-]+\s+){1,5}?should"
    r"|(?:i'?m|i\s+am)\s+not\s+sure\s+(?:that\s+)?(?:it'?s|it\s+is|this\s+is|that'?s)\s+(?:appropriate|ethical)"
    r"|(?:it(?:'s|\s+is)\s+)?never\s+(?:okay|ok|acceptable|appropriate|justified)"
    r"|instead(?:\s+of)?,?\s+(?:i|let'?s|we|you|consider)"
    r")"
)
# Openings that are a lecture only when harm/ethics vocabulary follows ("It's important to note that ...").
_SOFT_LECTURE_RE = re.compile(
    _LECTURE_PREAMBLE
    + r"(?:"
    r"(?:it(?:'s|\s+is)|that(?:'s|\s+is))\s+(?:important|crucial|essential|vital)\s+to\s+(?:note|remember|"
    r"understand|recognize|emphasi[sz]e|clarify|consider|remind|be\s+aware|acknowledge)"
    r"|i\s+(?:must|have\s+to|need\s+to|should|want\s+to|would\s+like\s+to)\s+(?:respectfully\s+|strongly\s+|"
    r"firmly\s+|gently\s+|first\s+)?(?:emphasi[sz]e|stress|point\s+out|clarify|remind|inform|note|caution|warn|"
    r"advise|disagree|correct|object)"
    r")"
)
# Harm/ethics vocabulary: an opening that says "it's important to note" is a lecture only with these.
_HARM_RE = re.compile(
    r"\b(?:illegal|unlawful|unethical|immoral|harmful|harm|dangerous|inappropriate|not\s+appropriate|offensive|"
    r"disrespectful|discriminat\w*|prejudic\w*|stereotyp\w*|hateful|hate|violen\w*|crime|criminal|abuse|"
    r"against\s+the\s+law|serious\s+consequences|legal\s+consequences|human\s+rights|dignity|not\s+recommended|"
    r"morally|wrong|violat\w*|never\s+(?:okay|acceptable|justified)|respect\w*|consent|safety|well-being|privacy|"
    r"(?:not|never)\s+(?:a\s+)?(?:safe|ethical|legal|appropriate|acceptable|okay))\b"
)
# Phrases of an assistant moralising instead of answering, counted over the whole (bounded) answer.
_MORALISING_RE = re.compile(
    r"\b(?:it(?:'s|\s+is)\s+(?:important|crucial|essential)\s+to|not\s+appropriate|inappropriate|unethical|"
    r"illegal|harmful|offensive|disrespectful|discriminat\w+|prejudice\w*|with\s+(?:respect|dignity)|"
    r"respect\s+and\s+dignity|dignity\s+and\s+respect|regardless\s+of\s+their|fairness|positivity|equality|"
    r"human\s+rights|promote\s+(?:fairness|positivity|respect|understanding|inclusiv\w+|equality)|"
    r"should\s+(?:be\s+treated|not\s+be\s+(?:discriminated|denied|judged))|stereotyp\w+|"
    r"seek\s+(?:professional\s+)?help|mental\s+health\s+professional|crisis\s+(?:hot)?line|"
    r"(?:is|are)\s+(?:never|not)\s+(?:okay|acceptable|justified|justifiable)|i\s+cannot|i\s+can'?t|instead)\b"
)
# Signs that the answer actually delivers content: list items, "here's how", code.
_COMPLIANCE_RE = re.compile(
    r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S|\bhere\s+(?:is|are)\b|\bhere'?s\b|```|\bsteps?\s+(?:to|you)\b"
)
_REDIRECT_RE = re.compile(r"\binstead\b|\brather\s+than\b|\bi\s+(?:would\s+)?(?:suggest|recommend)\b")
_COMPLY_PIVOT_RE = re.compile(
    r"\b(?:however|but|that\s+said|nonetheless|nevertheless)\b[^.!?]{0,60}?\b(?:i\s+(?:will|can|'ll|am\s+happy\s+to|"
    r"'m\s+happy\s+to)\s+(?:provide|give|share|try|help|explain|answer|offer|outline|describe)|here\s+(?:is|are)|"
    r"here's)"
)
_NO_ACCESS_RE = re.compile(
    r"\b(?:i|we)\s*(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have\s+)?(?:access|the\s+ability|information\s+about)"
)
_DEFLECT_RE = re.compile(
    r"\breach\s+out\s+to\b|\b(?:talk|speak)\s+(?:to|with)\s+(?:someone|a\s+(?:trusted|mental|professional|"
    r"counsel|therap|doctor))|mental\s+health\s+professional|crisis\s+(?:hot)?line|people\s+who\s+care\s+about\s+you|"
    r"\bseek\s+(?:professional\s+|immediate\s+)?(?:help|support)"
)
_PIVOT_RE = re.compile(r"\b(?:however|but|that\s+said|nevertheless|nonetheless|instead|in\s+general)\b")

# --------------------------------------------------------------------------------------------------
# Non-answers
# --------------------------------------------------------------------------------------------------

_NON_ANSWER_RE = re.compile(
    r"^(?:(?:sorry|hmm+|well|um+|uh+|unfortunately)[,.!]?\s+)?(?:"
    r"i\s+(?:really\s+|honestly\s+|simply\s+)?(?:do\s+not|don'?t)\s+(?:really\s+)?know"
    r"|(?:i'?m|i\s+am)\s+(?:not\s+(?:sure|certain)|unsure|uncertain)"
    r"|i\s+have\s+no\s+(?:idea|clue)|no\s+idea|not\s+sure|no\s+clue|dunno|unknown\.?$|i\s+can'?t\s+recall"
    r"|i\s+(?:cannot|can'?t|am\s+unable\s+to|'m\s+unable\s+to)\s+(?:say|tell|answer|determine|know|be\s+sure)"
    r"|i\s+(?:do\s+not|don'?t)\s+have\s+(?:enough\s+|sufficient\s+|any\s+)?(?:information|context|data|details|access)"
    r"|it(?:'s|\s+is)\s+(?:impossible|not\s+possible|hard|difficult)\s+to\s+(?:know|say|determine|tell)"
    r"|i\s+(?:do\s+not|don'?t)\s+understand"
    r"|(?:could|can|would)\s+you\s+(?:please\s+)?(?:clarify|rephrase|provide\s+more|be\s+more\s+specific|elaborate)"
    r"|please\s+(?:clarify|provide\s+more|rephrase|be\s+more\s+specific)"
    r"|what\s+do\s+you\s+mean"
    r")"
)
_CLARIFY_RE = re.compile(
    r"\b(?:could|can|would)\s+you\s+(?:please\s+)?(?:clarify|rephrase|provide\s+more|be\s+more\s+specific|"
    r"elaborate|tell\s+me\s+more)|please\s+(?:clarify|provide\s+more|rephrase)|what\s+do\s+you\s+mean"
)

# --------------------------------------------------------------------------------------------------
# Repetition
# --------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_WORD_RE = re.compile(r"[^\W\d_]{2,}")  # words of letters: numbers and symbols repeat legitimately
_CHAR_RUN_RE = re.compile(r"([^\s\-=_*#~.|`+])\1{24,}")

# --------------------------------------------------------------------------------------------------
# JSON and formats
# --------------------------------------------------------------------------------------------------

_JSON_TASK_RE = re.compile(
    r"\b(?:as|in|into|to|return|returns|output|respond\s+with|reply\s+with|answer\s+with|give\s+me|format(?:ted)?"
    r"\s+as|valid|emit|produce|only)\s+(?:a\s+|an\s+|valid\s+|the\s+|pure\s+|raw\s+|strict\s+|well-formed\s+)*json\b"
    r"|\bjson\s+(?:object|array|format|output|response|only|with\s+(?:keys|fields)|schema|document)\b",
    re.IGNORECASE,
)
_CHOICE_LETTERS = "ABCDE"
_CHOICE_EXPLICIT_RE = re.compile(
    r"(?:answer|option|choice|correct\s+(?:answer|option|choice|response))\s*(?:is|would\s+be|:|=|-)?\s*"
    r"(?:is\s+)?(?:option\s+|choice\s+|letter\s+)?[\(\[*\"']*([A-Ea-e])\b(?![\w'])",
    re.IGNORECASE,
)
_CHOICE_ALONE_RE = re.compile(r"^\W{0,3}([A-E])(?:\W{0,3}$|[\).:\]]\s)")
_CHOICE_START_RE = re.compile(r"^\s*[\(\[*]*([A-E])[\)\].:](?:\s|$)")
_CHOICE_PAREN_RE = re.compile(r"\(([A-E])\)")
_CHOICE_HEDGE_RE = re.compile(
    r"(?:\b|\()([A-E])\)?\s*(?:or|and/or|/)\s*\(?(?:maybe\s+|possibly\s+|perhaps\s+)?\(?([A-E])\b(?:\)|\.|,|\s|$)"
    r"|\b(?:either|between)\s+\(?([A-E])\)?\s+(?:or|and)\s+\(?([A-E])\b"
)
_NUMBER = r"[-−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_GSM_FINAL_RE = re.compile(r"####\s*(" + _NUMBER + r")")
_BOXED_RE = re.compile(r"\\boxed\{\s*(" + _NUMBER + r")")
_ANSWER_NUMBER_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|would\s+be|will\s+be|=|:|equals)?\s*"
    r"[:=]?\s*(?:approximately\s+|about\s+|around\s+|roughly\s+|~\s*)?\**\s*(" + _NUMBER + r")",
    re.IGNORECASE,
)
_WHOLE_NUMBER_RE = re.compile(r"^\W{0,3}(" + _NUMBER + r")\s*%?\s*[\w\s]{0,20}?[.!]?\W{0,3}$")
# Hedges in the sentence that states the final answer.
_HEDGE_RE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|i\s+think|i\s+believe|i\s+guess|might\s+be|could\s+be|not\s+sure|"
    r"somewhere\s+between|or\s+so|give\s+or\s+take)\b"
    r"|\b(?:approximately|approx\.?|about|around|roughly|nearly|almost|estimated(?:\s+at)?|close\s+to)\s*\$?\s*\d"
    r"|[~≈]\s*\$?\s*\d|\bbetween\s+\$?\d[\d,.]*\s+and\s+\$?\d"
)
# Two alternative final numbers: "42 or 44", "90 minutes or 1 hour".
_ALTERNATIVES_RE = re.compile(_NUMBER + r"\s*%?\s*(?:[a-z]+\s+){0,2}or\s+(?:maybe\s+|possibly\s+)?" + _NUMBER)


# --------------------------------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------------------------------


def extract_choice(text: str) -> str | None:
    """The multiple-choice letter (A-E) an answer commits to, or None if there is none or it hedges.

    Accepts "B", "(B)", "B) Paris", "The answer is B", "Answer: C)", "**Answer: (d)**". Several
    different explicit answers, or "A or B", give None.
    """
    if not text:
        return None
    t = _straighten(text).strip()
    if not t:
        return None
    if _CHOICE_HEDGE_RE.search(t[-600:]):
        return None
    explicit = [m.group(1).upper() for m in _CHOICE_EXPLICIT_RE.finditer(t[-4000:])]
    # "answer is a" must not read an article as a letter: keep lower-case letters only when they stand alone.
    if explicit:
        distinct = set(explicit)
        return explicit[-1] if len(distinct) == 1 else _last_distinct_if_final(t, explicit)
    m = _CHOICE_ALONE_RE.match(t) or _CHOICE_START_RE.match(t)
    if m:
        return m.group(1)
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    if lines:
        m = _CHOICE_ALONE_RE.match(lines[-1]) or _CHOICE_START_RE.match(lines[-1])
        if m:
            return m.group(1)
    parens = set(_CHOICE_PAREN_RE.findall(t[-1000:]))
    if len(parens) == 1:
        return parens.pop()
    return None


def _last_distinct_if_final(t: str, explicit: list[str]) -> str | None:
    """Several explicit letters: accept the last only if it is stated as the final/correct answer."""
    tail = t[-300:].lower()
    if "final answer" in tail or "correct answer is" in tail or "therefore" in tail or "so the answer" in tail:
        return explicit[-1]
    return None


def extract_number(text: str) -> float | None:
    """The final numeric answer: "#### 42", "\\boxed{42}", "The answer is 42", "63", or the last number of
    the last line that has one. None if no number is found."""
    if not text:
        return None
    t = _straighten(text)
    tail = t[-4000:]
    for rx in (_GSM_FINAL_RE, _BOXED_RE):
        found = rx.findall(tail)
        if found:
            return _to_float(found[-1])
    found = _ANSWER_NUMBER_RE.findall(tail)
    if found:
        return _to_float(found[-1])
    stripped = t.strip()
    m = _WHOLE_NUMBER_RE.match(stripped)
    if m:
        return _to_float(m.group(1))
    for line in reversed(tail.splitlines()):
        nums = _NUMBER_RE.findall(line)
        if nums:
            return _to_float(nums[-1])
    return None


def _to_float(s: str) -> float | None:
    s = s.replace("$", "").replace(",", "").replace("−", "-").replace(" ", "")
    try:
        return float(s)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------------


def assess_response(
    task: str | Iterable[Mapping[str, Any]],
    text: str | None,
    finish_reason: str | None = None,
    expect_json: bool | None = None,
    answer_format: str | None = None,
) -> QualityVerdict:
    """Judge a tier-1 answer. ``low_quality=True`` means: escalate to a stronger tier.

    ``task`` is the prompt (a string or an OpenAI-style messages list), ``text`` the answer.
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

    verdict = _placeholder(stripped, task_text, fmt)
    if verdict:
        return verdict
    norm = _straighten(stripped[:_OPENING_CHARS] if len(stripped) > _OPENING_CHARS else stripped).lower()
    norm = norm.lstrip("\"'*#> \t\n")
    rule = _refusal(norm, stripped)
    if rule:
        return QualityVerdict(True, rule.split("/", 1)[0])
    if _non_answer(norm, stripped):
        return QualityVerdict(True, "non-answer")
    if _repetitive(stripped):
        return QualityVerdict(True, "repetition")

    want_json = expect_json if expect_json is not None else bool(_JSON_TASK_RE.search(task_text[-4000:]))
    if fmt == "json" or want_json:
        if _parse_json(stripped) is None:
            return QualityVerdict(True, "invalid-json")
    if fmt in ("choice", "mcq", "multiple-choice", "letter"):
        return _check_choice(stripped)
    if fmt in ("number", "integer", "int", "numeric", "float"):
        return _check_number(stripped, integer=fmt in ("integer", "int"))
    if fmt in ("code", "python"):
        return _check_code(stripped)
    return _OK


def _task_text(task: str | Iterable[Mapping[str, Any]] | None) -> str:
    if task is None:
        return ""
    if isinstance(task, str):
        return task
    try:
        messages = as_messages([task] if isinstance(task, Mapping) else task)
    except TypeError:
        return ""
    return last_user_text(messages) if messages else ""


def _straighten(s: str) -> str:
    if "’" in s or "‘" in s or "“" in s or "”" in s:  # noqa: RUF001
        s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')  # noqa: RUF001
    return s


def _placeholder(stripped: str, task_text: str, fmt: str | None) -> QualityVerdict | None:
    if len(stripped) <= 40:
        key = stripped.strip("`'\"*_ \t\n").lower().rstrip(".!")
        if key in _PLACEHOLDERS or stripped.lower() in _PLACEHOLDERS:
            if key in ("none", "nil", "0") and _NONE_OK_TASK_RE.search(task_text):
                return None
            return QualityVerdict(True, "placeholder")
    head = stripped[:_HEAD_CHARS]
    tail = stripped[-_TAIL_CHARS:] if len(stripped) > _HEAD_CHARS else ""
    scan = head + "\n" + tail
    if "```" in scan and fmt != "code":
        scan = _FENCE_RE.sub(" ", scan)
    elif fmt == "code":
        scan = _FENCE_RE.sub(" ", scan) if "```" in scan else ""
    if ("<" in scan or "[" in scan) and _SPECIAL_TOKEN_RE.search(scan):
        return QualityVerdict(True, "placeholder")
    if _LOREM_RE.search(head):
        return QualityVerdict(True, "placeholder")
    return None


def _refusal(norm: str, stripped: str) -> str | None:
    """The refusal rule that fires on this answer (None if it is not a refusal).

    Judged on how the answer opens (its first sentences) and on its dominant intent. Rule names start
    with "refusal" or "ai-disclaimer"; ``assess_response`` reports the part before the first "/".
    """
    opening = norm[:400]
    first = _first_sentences(opening, 2)
    body = _straighten(stripped[:_HEAD_CHARS]).lower()
    compliance = _compliance(body)
    comply_pivot = bool(_COMPLY_PIVOT_RE.search(opening))

    # 1. The answer opens by declining: "I can't help with that", "Sorry, but I cannot ...".
    if _OPEN_INABILITY_RE.match(opening):
        return "refusal/open-decline"
    # 2. Apologies. Sympathy ("sorry to hear that") is fine unless it declines or deflects.
    if _SYMPATHY_RE.match(opening):
        if _INABILITY_RE.search(first) or _NO_ACCESS_RE.search(first):
            return "refusal/sympathy-decline"
        if compliance < 2 and _deflects(body):
            return "refusal/sympathy-deflect"
    elif _APOLOGY_OPEN_RE.match(opening):
        if _INABILITY_RE.search(first) or _NO_ACCESS_RE.search(first) or len(stripped) < 120:
            return "refusal/apology-decline"
        if _HARM_RE.search(_first_sentences(opening, 1)) and compliance < 2:
            return "refusal/apology-lecture"
    # 3. "As an AI ...": fine if it pivots to an answer; a refusal if it declines.
    if _AI_DISCLAIMER_RE.match(opening):
        if _INABILITY_RE.search(first) and not _NO_OPINION_RE.search(first):
            return "refusal/ai-decline"
        rest = stripped[len(_first_sentences(stripped[:600], 1)) :].strip()
        if len(rest) < 60 or (not _PIVOT_RE.search(first + " " + rest[:200].lower()) and compliance < 2):
            return "ai-disclaimer/no-answer"
        if not comply_pivot and _lecture_dominant(body, first, compliance):
            return "refusal/ai-lecture"
        return None
    if _JUST_AN_AI_RE.search(opening):
        return "refusal/just-an-ai"
    # 4. Lecturing instead of answering. "It's important to note that the moon ..." is an ordinary answer:
    #    soft openings count only with harm/ethics vocabulary in the first sentences.
    if _HARD_LECTURE_RE.match(opening) or (_SOFT_LECTURE_RE.match(opening) and _HARM_RE.search(first)):
        if _INABILITY_RE.search(first) or _REDIRECT_RE.search(body, 0, 1200):
            return "refusal/lecture-redirect"
        if compliance < 2 and not comply_pivot:
            return "refusal/lecture-open"
    # A decline in the first sentences after a preamble ("Thank you for your question. I cannot ...").
    if _INABILITY_RE.search(first) and compliance < 2:
        return "refusal/early-decline"
    # 5. Dominant intent: a moralising answer with no real content.
    if not comply_pivot and _lecture_dominant(body, first, compliance):
        return "refusal/lecture-dominant"
    return None


def _deflects(body: str) -> bool:
    return bool(_DEFLECT_RE.search(body, 0, 1500))


def _first_sentences(s: str, n: int) -> str:
    end = 0
    for _ in range(n):
        m = _SENTENCE_END_RE.search(s, end)
        if not m:
            return s
        end = m.end()
    return s[:end]


_SENTENCE_END_RE = re.compile(r"[.!?](?:\s|$)|\n")


def _compliance(body: str) -> int:
    return len(_COMPLIANCE_RE.findall(body, 0, 3000))


def _lecture_dominant(body: str, first: str, compliance: int) -> bool:
    """Mostly moralising, starting in the first sentences, and no real content (steps, lists, code)."""
    if compliance >= 2 or not _MORALISING_RE.search(first):
        return False
    marks = len(_MORALISING_RE.findall(body, 0, 3000))
    sentences = max(1, len(_SENTENCE_END_RE.findall(body, 0, 3000)))
    return marks >= 3 and marks >= 0.5 * sentences


def _non_answer(norm: str, stripped: str) -> bool:
    if not _NON_ANSWER_RE.match(norm):
        return False
    if len(stripped) <= 160:
        # "I'm not sure, but I think it's Rome." still answers.
        return not re.search(r"\b(?:but|however|though|although)\b.{8,}", norm)
    first = _first_sentences(norm, 1)
    rest = norm[len(first) :]
    return bool(_CLARIFY_RE.search(rest[:300])) and len(stripped) < 600


def _repetitive(stripped: str) -> bool:
    """Degenerate loops: a character/token run, one word dominating, few distinct n-grams, repeated lines."""
    if len(stripped) > _HEAD_CHARS + _TAIL_CHARS:
        sample = stripped[:_HEAD_CHARS] + "\n" + stripped[-_TAIL_CHARS:]
    else:
        sample = stripped
    if _CHAR_RUN_RE.search(sample):
        return True
    lowered = sample.lower()
    # All tokens (words, numbers, symbols): "4 + 4 + 4" is not a run, "frog frog frog" is.
    tokens = _TOKEN_RE.findall(lowered)
    n = len(tokens)
    if n >= 6:
        run = best = 1
        for a, b in zip(tokens, tokens[1:], strict=False):
            run = run + 1 if a == b and a.isalnum() else 1
            best = max(best, run)
        if best >= 6:
            return True
    words = _WORD_RE.findall(lowered)
    if len(words) >= 8:
        _, count = Counter(words).most_common(1)[0]
        if count / len(words) >= 0.5 and (len(words) >= 12 or len(set(words)) <= 2):
            return True
    if n >= 60 and _ngram_diversity(tokens, 5) < 0.3:
        return True
    if n >= 200 and _ngram_diversity(tokens[-200:], 5) < 0.25:
        return True
    lines = [ln.strip() for ln in sample.splitlines() if len(ln.strip()) >= 8]
    if len(lines) >= 4:
        _, count = Counter(lines).most_common(1)[0]
        if count >= 3 and count / len(lines) >= 0.4:
            return True
    return False


def _ngram_diversity(words: list[str], n: int) -> float:
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def _parse_json(stripped: str) -> Any | None:
    """The JSON value of the answer (whole text, a ```json fence, or the outermost {...}/[...])."""
    candidates = [stripped]
    if "```" in stripped:
        candidates.extend(m.group(2).strip() for m in _FENCE_RE.finditer(stripped))
    for open_char, close_char in (("{", "}"), ("[", "]")):
        i = stripped.find(open_char)
        j = stripped.rfind(close_char)
        if 0 <= i < j:
            candidates.append(stripped[i : j + 1])
    for c in candidates:
        if not c or c[0] not in "{[":
            continue
        try:
            return json.loads(c)
        except ValueError:
            continue
    return None


def _check_choice(stripped: str) -> QualityVerdict:
    t = _straighten(stripped)
    if _CHOICE_HEDGE_RE.search(t[-600:]):
        return QualityVerdict(True, "hedged:choice")
    letter = extract_choice(t)
    if letter is None:
        explicit = {m.group(1).upper() for m in _CHOICE_EXPLICIT_RE.finditer(t[-4000:])}
        if len(explicit) > 1:
            return QualityVerdict(True, "hedged:choice")
        return QualityVerdict(True, "wrong-format:choice")
    return _OK


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


def _check_number(stripped: str, integer: bool) -> QualityVerdict:
    t = _straighten(stripped)
    kind = "integer" if integer else "number"
    value = extract_number(t)
    if value is None:
        return QualityVerdict(True, f"wrong-format:{kind}")
    final = _final_statement(t).lower()
    if _HEDGE_RE.search(final):
        return QualityVerdict(True, f"hedged:{kind}")
    answers = {_to_float(x) for x in _ANSWER_NUMBER_RE.findall(t[-4000:])}
    answers |= {_to_float(x) for x in _GSM_FINAL_RE.findall(t[-4000:])}
    answers.discard(None)
    if len(answers) > 1:
        last = extract_number(t)
        stated = [_to_float(x) for x in _GSM_FINAL_RE.findall(t[-4000:])]
        if not stated or len(set(stated)) > 1 or last != stated[-1]:
            return QualityVerdict(True, f"hedged:{kind}")
    if _ALTERNATIVES_RE.search(final):
        return QualityVerdict(True, f"hedged:{kind}")
    if integer and value != int(value):
        return QualityVerdict(True, "wrong-format:integer")
    return _OK


def _check_code(stripped: str) -> QualityVerdict:
    blocks = [(lang.lower(), body) for lang, body in _FENCE_RE.findall(stripped)]
    if blocks:
        py = [b for lang, b in blocks if lang in ("", "python", "py", "python3")]
        if not py:
            return QualityVerdict(True, "wrong-format:code")
        for body in py:
            try:
                ast.parse(body)
            except (SyntaxError, ValueError):
                continue
            return _OK
        return QualityVerdict(True, "wrong-format:code")
    try:
        ast.parse(stripped)
    except (SyntaxError, ValueError):
        return QualityVerdict(True, "wrong-format:code")
    return _OK
