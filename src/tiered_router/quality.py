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
   ``"json"`` and ``"code"`` (reasons ``<check>:<format>``):

   * choice: a single A-E letter, not hedged, one of the task's listed options;
   * number: a final number, no hedged conclusion, one stated answer, not cut off mid-calculation, an
     explicit answer line ("####", "Answer:") stating exactly one number, consistent arithmetic in the
     working (``arithmetic_errors``), a final number that is a result of the working, a whole
     non-negative number when the task asks "how many <counted things>";
   * code: Python that parses, defines a function when one is asked for, no stub bodies or TODOs.

Everything is regex-, string- and ``ast``-based (nothing is evaluated or run), regexes are compiled on
first use, and bounded prefixes/suffixes of very long answers are examined, so a verdict costs
microseconds to a fraction of a millisecond.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from tiered_router.messages import as_messages, last_user_text

__all__ = ["QualityVerdict", "arithmetic_errors", "assess_response", "extract_choice", "extract_number"]


@dataclass(frozen=True)
class QualityVerdict:
    """``low_quality`` is True when the answer should be escalated; ``reason`` says why (``"ok"`` if not)."""

    low_quality: bool
    reason: str


_OK = QualityVerdict(False, "ok")


class _Pattern:
    """A regular expression compiled on first use.

    The gate has ~70 patterns, several of them large alternations; compiling them all at import took
    ~50 ms, and most answers only ever reach a few of them. After the first call the methods are the
    compiled pattern's own (instance slots), so there is no per-call overhead.
    """

    __slots__ = ("_flags", "_source", "findall", "finditer", "fullmatch", "match", "search", "sub")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        compiled = re.compile(self._source, self._flags)
        for attr in ("findall", "finditer", "fullmatch", "match", "search", "sub"):
            object.__setattr__(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)


# Bounds for long answers: the opening is judged on its first characters, repetition on a head and a tail.
_OPENING_CHARS = 700
_BODY_CHARS = 3000
_HEAD_CHARS = 8192
_TAIL_CHARS = 4096

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
_NONE_OK_TASK_RE = _Pattern(r"\b(?:how\s+many|which|any|are\s+there|is\s+there|what\s+number)\b", re.I)
_SPECIAL_TOKEN_RE = _Pattern(
    r"<\|(?:im_start|im_end|eot_id|end_of_text|endoftext|start_header_id|end_header_id|eom_id|end|user|"
    r"assistant|system|pad|begin_of_text)\|>|</s>|<s>\s*\[INST\]|\[/?INST\]|<<SYS>>|<</SYS>>|<unk>|<pad>|"
    r"<start_of_turn>|<end_of_turn>|<eos>|<bos>|<\|reserved_special_token_\d+\|>",
    re.IGNORECASE,
)
_TAGGED_CODE_RE = _Pattern(r"\[PYTHON\]\s*\n?(.*?)\[/PYTHON\]|<code>(?:\s*\n)?(.*?)</code>", re.DOTALL | re.I)
_CODE_START_RE = _Pattern(r"^(?:def |class |import |from \w+ import |async def |@\w)", re.MULTILINE)
_FENCE_RE = _Pattern(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)

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
    r"|(?:would\s+|must\s+|'d\s+)?(?:strongly\s+)?(?:advise|caution|urge|recommend)\s+(?:you\s+)?against"
    r"|(?:would\s+)?(?:strongly\s+)?discourage\s+(?:you|this|that|it|anyone)"
    r")"
)
_INABILITY_RE = _Pattern(r"\b" + _INABILITY)
_OPEN_INABILITY_RE = _Pattern(
    r"^(?:(?:no|unfortunately|regrettably|however|sadly|but|well|ok(?:ay)?|hmm|oh)[,.!]?\s+)?"
    r"(?:(?:i'?m|i\s+am)\s+(?:so\s+|really\s+|very\s+|truly\s+)?sorry[^.!?\n]{0,120}?[,.;:!-]\s*(?:but\s+)?)?"
    + _INABILITY
)
_APOLOGY_OPEN_RE = _Pattern(
    r"^(?:oh,?\s+|well,?\s+)?(?:(?:i'?m|i\s+am|we'?re|we\s+are|i|we)\s+)?(?:so\s+|really\s+|very\s+|truly\s+|"
    r"terribly\s+|deeply\s+)?(?:sorry|apologi[sz]e|apologies|my\s+apologies|unfortunately|regrettably)\b"
)
_SYMPATHY_RE = _Pattern(r"^[^.!?\n]{0,40}sorry\s+(?:to\s+hear|for\s+your\s+loss|about\s+(?:your|the))")
_AI_DISCLAIMER_RE = _Pattern(
    r"^(?:well,?\s+|hi!?\s+|hello!?\s+)?(?:as\s+an?\s+(?:[\w-]+\s+){0,3}?(?:ai|a\.i\.|artificial\s+intelligence|"
    r"language\s+model|llm|assistant|chatbot|model)\b|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+|merely\s+)?an?\s+"
    r"(?:[\w-]+\s+){0,2}?(?:ai|a\.i\.|language\s+model|llm|assistant|chatbot|computer\s+program|machine)\b)"
)
_JUST_AN_AI_RE = _Pattern(
    r"\b(?:i'?m|i\s+am)\s+(?:just|only|merely)\s+an?\s+(?:ai|language\s+model|assistant)|not\s+within\s+my\s+"
    r"(?:programming|ethical\s+guidelines|capabilities)|against\s+my\s+(?:programming|guidelines|policies|"
    r"principles|ethical)|(?:violates?|goes\s+against)\s+(?:my|our|openai'?s?)\s+(?:guidelines|polic|principles|"
    r"programming|content)|as\s+a\s+responsible\s+(?:ai|assistant|language\s+model)"
)
# "I don't have personal opinions/feelings": a disclaimer that is fine when an answer follows.
_NO_OPINION_RE = _Pattern(
    r"(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have|hold|form|express|share)\s+(?:any\s+)?(?:personal\s+)?"
    r"(?:opinions?|feelings?|beliefs?|preferences?|views?|emotions?|biases|experiences?|thoughts?|a\s+body)"
)
_LECTURE_PREAMBLE = (
    r"^(?:(?:no|well|however|actually|first(?:ly)?(?:\s+and\s+foremost)?|unfortunately|i\s+understand[^.!?]{0,80}?|"
    r"(?:i'?m|i\s+am)\s+(?:glad|happy)[^.!?]{0,80}?[.!]?\s*(?:but|however)|i\s+apologi[sz]e,?\s+but)[,.!]?\s+)?"
)
# Openings that lecture whatever follows: "It's not appropriate to ...", "I would advise against ...".
_HARD_LECTURE_RE = _Pattern(
    _LECTURE_PREAMBLE + r"(?:"
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
_SOFT_LECTURE_RE = _Pattern(
    _LECTURE_PREAMBLE + r"(?:"
    r"(?:it(?:'s|\s+is)|that(?:'s|\s+is))\s+(?:important|crucial|essential|vital)\s+to\s+(?:note|remember|"
    r"understand|recognize|emphasi[sz]e|clarify|consider|remind|be\s+aware|acknowledge)"
    r"|i\s+(?:must|have\s+to|need\s+to|should|want\s+to|would\s+like\s+to)\s+(?:respectfully\s+|strongly\s+|"
    r"firmly\s+|gently\s+|first\s+)?(?:emphasi[sz]e|stress|point\s+out|clarify|remind|inform|note|caution|warn|"
    r"advise|disagree|correct|object)"
    r")"
)
# Harm/ethics vocabulary: an opening that says "it's important to note" is a lecture only with these.
_HARM_RE = _Pattern(
    r"\b(?:illegal|unlawful|unethical|immoral|harmful|harm|dangerous|inappropriate|not\s+appropriate|offensive|"
    r"disrespectful|discriminat\w*|prejudic\w*|stereotyp\w*|hateful|hate|violen\w*|crime|criminal|abuse|"
    r"against\s+the\s+law|serious\s+consequences|legal\s+consequences|human\s+rights|dignity|not\s+recommended|"
    r"morally|wrong|violat\w*|never\s+(?:okay|acceptable|justified)|respect\w*|consent|safety|well-being|privacy|"
    r"(?:not|never)\s+(?:a\s+)?(?:recommended|safe|ethical|legal|appropriate|acceptable|okay))\b"
)
# Phrases of an assistant moralising instead of answering, counted over the whole (bounded) answer.
_MORALISING_RE = _Pattern(
    r"\b(?:it(?:'s|\s+is)\s+(?:important|crucial|essential)\s+to|not\s+appropriate|inappropriate|unethical|"
    r"illegal|harmful|offensive|disrespectful|discriminat\w+|prejudice\w*|with\s+(?:respect|dignity)|"
    r"respect\s+and\s+dignity|dignity\s+and\s+respect|regardless\s+of\s+their|fairness|positivity|equality|"
    r"human\s+rights|promote\s+(?:fairness|positivity|respect|understanding|inclusiv\w+|equality)|"
    r"should\s+(?:be\s+treated|not\s+be\s+(?:discriminated|denied|judged))|stereotyp\w+|"
    r"seek\s+(?:professional\s+)?help|mental\s+health\s+professional|crisis\s+(?:hot)?line|"
    r"(?:is|are)\s+(?:never|not)\s+(?:okay|acceptable|justified|justifiable)|i\s+cannot|i\s+can'?t|instead)\b"
)
# Signs that the answer actually delivers content: list items, "here's how", code.
_COMPLIANCE_RE = _Pattern(
    r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S|\bhere\s+(?:is|are)\b|\bhere'?s\b|```|\bsteps?\s+(?:to|you)\b"
)
_REDIRECT_RE = _Pattern(r"\binstead\b|\brather\s+than\b|\bi\s+(?:would\s+)?(?:suggest|recommend)\b")
_COMPLY_PIVOT_RE = _Pattern(
    r"\b(?:however|but|that\s+said|nonetheless|nevertheless)\b[^.!?]{0,60}?\b(?:i\s+(?:will|can|'ll|am\s+happy\s+to|"
    r"'m\s+happy\s+to)\s+(?:provide|give|share|try|help|explain|answer|offer|outline|describe)|here\s+(?:is|are)|"
    r"here's)"
)
_NO_ACCESS_RE = _Pattern(
    r"\b(?:i|we)\s*(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have\s+)?(?:access|the\s+ability|information\s+about)"
)
_DEFLECT_RE = _Pattern(
    r"\breach\s+out\s+to\b|\b(?:talk|speak)\s+(?:to|with)\s+(?:someone|a\s+(?:trusted|mental|professional|"
    r"counsel|therap|doctor))|mental\s+health\s+professional|crisis\s+(?:hot)?line|people\s+who\s+care\s+about\s+you|"
    r"\bseek\s+(?:professional\s+|immediate\s+)?(?:help|support)"
)
_PIVOT_RE = _Pattern(r"\b(?:however|but|that\s+said|nevertheless|nonetheless|instead|in\s+general)\b")
# Right after "As an AI ...": disowning or declining ("and do not condone", "don't have access to ...").
_AI_DECLINE_RE = _Pattern(
    r"[\s,]*(?:[\w-]+\s+){0,3}?(?:(?:developed|created|made|trained)\s+by\s+[\w ]{1,30}?,\s*)?(?:and\s+|,\s*)?(?:i\s+)?"
    r"(?:do\s+not|don'?t|cannot|can'?t|am\s+not\s+able\s+to|'m\s+not\s+able\s+to)\s+(?:condone|promote|endorse|"
    r"support|encourage|have\s+(?:the\s+)?(?:ability|capability|capacity|means)|have\s+access|access|provide|assist|"
    r"help)\b"
)
# "As an AI, I must clarify that ..." - a lecture when harm/ethics vocabulary follows.
_AI_LECTURE_RE = _Pattern(
    r"\bi\s+(?:must|have\s+to|need\s+to|want\s+to|would\s+like\s+to|should)\s+(?:clarify|point\s+out|"
    r"emphasi[sz]e|stress|inform|note|remind)|\bi\s+am\s+committed\s+to|\bit(?:'s|\s+is)\s+not\s+(?:appropriate|"
    r"ethical|accurate|fair|right|okay)"
)
# A friendly preamble, then "However, I must inform you that ..." / "However, it is not safe ...".
_PIVOT_LECTURE_RE = _Pattern(
    r"\b(?:however|but)\s*,?\s+(?:i\s+(?:must|have\s+to|need\s+to|should|want\s+to|would\s+like\s+to)\s+"
    r"(?:respectfully\s+|kindly\s+|gently\s+|first\s+)?(?:inform|point\s+out|clarify|remind|emphasi[sz]e|stress|"
    r"note|caution|warn|advise)|it(?:'s|\s+is)\s+(?:not|never)\s+(?:appropriate|ethical|safe|legal|okay|acceptable))"
)
# Questions whose honest answer may be "I would advise against it".
_ADVICE_TASK_RE = _Pattern(
    r"\b(?:should\s+(?:i|we)|is\s+it\s+(?:a\s+good\s+idea|safe|okay|ok|wise|smart)|would\s+you\s+recommend|"
    r"do\s+you\s+recommend)\b",
    re.IGNORECASE,
)
_ADVISE_AGAINST_RE = _Pattern(
    r"\b(?:advise|caution|urge|recommend)\s+(?:you\s+)?against|\bdiscourage|\bwould\s*n[o']?t\s+recommend|"
    r"\bnot\s+(?:be\s+)?(?:recommended|advisable|a\s+good\s+idea)"
)
# Cheap substring gates for regexes that most answers cannot match.
_PIVOT_WORDS = ("however", "but", "that said", "nonetheless", "nevertheless")
_JUST_AN_AI_WORDS = (" ai", "model", "assistant", "programming", "guideline", "polic", "principles", "responsible")
_SENTENCE_END_RE = _Pattern(r"[.!?](?:\s|$)|\n")

# --------------------------------------------------------------------------------------------------
# Non-answers
# --------------------------------------------------------------------------------------------------

_NON_ANSWER_RE = _Pattern(
    r"^(?:(?:sorry|hmm+|well|um+|uh+|unfortunately)[,.!]?\s+)?(?:(?:i'?m|i\s+am)\s+afraid\s+(?:that\s+)?)?(?:"
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
_BUT_ANSWER_RE = _Pattern(r"\b(?:but|however|though|although)\b.{8,}")
_CLARIFY_RE = _Pattern(
    r"\b(?:could|can|would)\s+you\s+(?:please\s+)?(?:clarify|rephrase|provide\s+more|be\s+more\s+specific|"
    r"elaborate|tell\s+me\s+more)|please\s+(?:clarify|provide\s+more|rephrase)|what\s+do\s+you\s+mean"
)

# --------------------------------------------------------------------------------------------------
# Repetition
# --------------------------------------------------------------------------------------------------

_RULE_CHARS = frozenset("-=_*#~.|`+:")
_NUMERIC_CHARS = "0123456789.,;:-+*/=()[]{}'\"$%"

# --------------------------------------------------------------------------------------------------
# JSON and formats
# --------------------------------------------------------------------------------------------------

_JSON_TASK_RE = _Pattern(
    r"\b(?:as|in|into|to|return|returns|output|respond\s+with|reply\s+with|answer\s+with|give\s+me|format(?:ted)?"
    r"\s+as|valid|emit|produce|only)\s+(?:a\s+|an\s+|valid\s+|the\s+|pure\s+|raw\s+|strict\s+|well-formed\s+)*json\b"
    r"|\bjson\s+(?:object|array|format|output|response|only|with\s+(?:keys|fields)|schema|document)\b",
    re.IGNORECASE,
)
_CHOICE_LETTERS = "ABCDE"
# "The answer is B", "Answer: (c)", "correct option is D". A lower-case letter only in brackets or before
# ")" or at the very end, so that "the answer is a dog" is not choice A.
_CHOICE_EXPLICIT_RE = _Pattern(
    r"(?i:answer|option|choice|correct\s+(?:answer|option|choice|response))\s*(?i:is|would\s+be|:|=|-)?\s*"
    r"(?i:is\s+)?(?i:option\s+|choice\s+|letter\s+)?[\[*\"']*"
    r"(?:\(?([A-E])\b(?![\w'])|\(([a-e])\)|([a-e])\)|([a-e])\W{0,3}$)"
)
_CHOICE_ALONE_RE = _Pattern(r"^\W{0,3}([A-E])(?:\W{0,3}$|[\).:\]]\s)")
_CHOICE_START_RE = _Pattern(r"^\s*[\(\[*]*([A-E])[\)\].:](?:\s|$)")
_CHOICE_PAREN_RE = _Pattern(r"\(([A-E])\)")
_CHOICE_HEDGE_RE = _Pattern(
    r"(?:\b|\()([A-E])\)?\s*(?:or|and/or|/)\s*\(?(?:maybe\s+|possibly\s+|perhaps\s+)?\(?([A-E])\b(?:\)|\.|,|\s|$)"
    r"|\b(?:either|between)\s+\(?([A-E])\)?\s+(?:or|and)\s+\(?([A-E])\b"
)
_NUMBER = r"[-−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMBER_RE = _Pattern(_NUMBER)
_GSM_FINAL_RE = _Pattern(r"####\s*(" + _NUMBER + r")")
_BOXED_RE = _Pattern(r"\\boxed\{\s*(" + _NUMBER + r")")
_ANSWER_NUMBER_RE = _Pattern(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|would\s+be|will\s+be|=|:|equals)?\s*"
    r"[:=]?\s*(?:approximately\s+|about\s+|around\s+|roughly\s+|~\s*)?\**\s*(" + _NUMBER + r")",
    re.IGNORECASE,
)
_WHOLE_NUMBER_RE = _Pattern(r"^\W{0,3}(" + _NUMBER + r")\s*%?\s*[\w\s]{0,20}?[.!]?\W{0,3}$")
# Hedges in the sentence that states the final answer.
_HEDGE_RE = _Pattern(
    r"\b(?:maybe|perhaps|probably|possibly|i\s+think|i\s+believe|i\s+guess|might\s+be|could\s+be|not\s+sure|"
    r"somewhere\s+between|or\s+so|give\s+or\s+take)\b"
    r"|\b(?:approximately|approx\.?|about|around|roughly|nearly|almost|estimated(?:\s+at)?|close\s+to)\s*\$?\s*\d"
    r"|[~≈]\s*\$?\s*\d|\bbetween\s+\$?\d[\d,.]*\s+and\s+\$?\d"
)
# Explicit final-answer statements, and what an answer statement may say after its number.
_ANSWER_MARK_RE = _Pattern(r"####|\b(?:final\s+answer|the\s+answer\s+is|answer\s*:)", re.IGNORECASE)
_NUMBER_TOKEN_RE = _Pattern(r"(?<![\w.,])\$?\d[\d,]*(?:\.\d+)?")
_EXPLANATION_RE = _Pattern(r"\b(?:because|since|as|given|from|which|where|when|so|after|since)\b|[=;]", re.I)
# Results of the working: right-hand sides of "=", "≈", "≥", "≤", "~" and GSM8K "<<a*b=c>>" annotations.
_RESULT_RE = _Pattern(r"(?:=|>>|≈|≥|≤|~)\s*\$?\s?(" + _NUMBER + r")")
_CUT_NUMBER_RE = _Pattern(r"\d,\d{1,2}[.!]?$|\d\s+[x×]$")
_CANNOT_DETERMINE_RE = _Pattern(
    r"\b(?:(?:not\s+|im)possible\s+to\s+(?:determine|calculate|know|tell|say)|cannot\s+be\s+(?:determined|calculated)"
    r"|can'?t\s+be\s+(?:determined|calculated)|(?:not\s+enough|insufficient)\s+(?:information|data))\b",
    re.IGNORECASE,
)
_CANNOT_WORDS = ("possible", "determine", "calculate", "enough", "insufficient")
_HOW_MANY_RE = _Pattern(r"\bhow\s+many\s+(?:more\s+|fewer\s+|less\s+|total\s+|additional\s+|extra\s+)?([a-z]+)", re.I)
# Units a "how many" question may measure in (fractional answers are fine there).
_MEASURE_UNITS = frozenset(
    """
    second seconds minute minutes hour hours day days week weeks month months year years decade decades
    dollar dollars cent cents euro euros pound pounds penny pennies ounce ounces gram grams kilogram kilograms kg
    g mg lb lbs oz ton tons tonne tonnes mile miles kilometer kilometers kilometre kilometres km meter meters
    metre metres m cm mm foot feet inch inches yard yards gallon gallons liter liters litre litres ml quart
    quarts pint pints cup cups tablespoon tablespoons teaspoon teaspoons calorie calories degree degrees
    percent percentage square cubic acre acres hectare hectares mph times
    """.split()
)
# Code: the task asks for a function, or for a stub; placeholder comments inside an answer's code.
_FUNCTION_TASK_RE = _Pattern(r"\b(?:function|def|method)\b", re.IGNORECASE)
_STUB_TASK_RE = _Pattern(
    r"\b(?:stubs?|skeleton|abstract|interface|protocol|placeholders?|signatures?|template)\b", re.I
)
_TODO_RE = _Pattern(
    r"#\s*(?:TODO|FIXME|XXX)\b|#\s*(?:add\s+|insert\s+|write\s+|put\s+)?your\s+(?:own\s+)?(?:code|logic|implementation)"
    r"|#\s*implement\s+(?:this|here|me|the\s+(?:logic|function))\b",
    re.IGNORECASE,
)
# Multiple-choice options listed in the task ("A) ...", "(b) ...", "C. ..."), and answers that pick none.
_OPTION_A_RE = _Pattern(r"^[ \t]*\(?[Aa][).:][ \t]", re.MULTILINE)
_OPTION_LINE_RE = _Pattern(r"^[ \t]*\(?([A-Ja-j])[).:][ \t]+([^\n]*)", re.MULTILINE)
_NONE_OF_ABOVE_RE = _Pattern(
    r"\b(?:none|all|neither|both)\s+of\s+(?:the\s+)?(?:above|these|those|them|options|choices)", re.I
)
# Two alternative final numbers: "42 or 44", "90 minutes or 1 hour".
_ALTERNATIVES_RE = _Pattern(_NUMBER + r"\s*%?\s*(?:[a-z]+\s+){0,2}or\s+(?:maybe\s+|possibly\s+)?" + _NUMBER)


# --------------------------------------------------------------------------------------------------
# Arithmetic consistency (answer_format "number"/"integer")
# --------------------------------------------------------------------------------------------------

# Multiplication written as "x", "×", "\*" or "\times" between numbers; division as "÷" or "\div".
_TIMES_RE = _Pattern(r"(?<=[\d)])\s*(?:[x×]|\\\*|\\times|\\cdot)\s*(?=[\d(.$])")
_THOUSANDS_RE = _Pattern(r"(?<=\d),(?=\d{3}(?!\d))")
_ARITH_CHARS = "0123456789.$ ()+-*/"
_ARITH_OPS = "+-*/"
_MAX_EXPR_CHARS = 160
_MAX_EXPR_TOKENS = 64
_ARITH_TOKEN_RE = _Pattern(r"\d+(?:\.\d+)?|\.\d+|[-+*/()]")
_MAX_MAGNITUDE = 1e15


class _ArithParser:
    """Evaluates ``+ - * /`` arithmetic on numbers and parentheses (unary minus allowed) by recursive descent
    over a token list; anything else (names, powers, calls, two numbers in a row) is rejected. No ``eval``,
    bounded work: the expression is at most ``_MAX_EXPR_CHARS`` long and values are capped."""

    __slots__ = ("depth", "pos", "tokens")

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def value(self) -> float:
        v = self._sum()
        if self.pos != len(self.tokens):
            raise ValueError("trailing tokens")
        return v

    def _sum(self) -> float:
        v = self._product()
        tokens = self.tokens
        while self.pos < len(tokens) and tokens[self.pos] in "+-":
            op = tokens[self.pos]
            self.pos += 1
            rhs = self._product()
            v = v + rhs if op == "+" else v - rhs
        return _bounded(v)

    def _product(self) -> float:
        v = self._factor()
        tokens = self.tokens
        while self.pos < len(tokens) and tokens[self.pos] in "*/":
            op = tokens[self.pos]
            self.pos += 1
            rhs = self._factor()
            if op == "*":
                v *= rhs
            elif rhs == 0:
                raise ValueError("division by zero")
            else:
                v /= rhs
            v = _bounded(v)
        return v

    def _factor(self) -> float:
        tokens = self.tokens
        if self.pos >= len(tokens):
            raise ValueError("unexpected end")
        tok = tokens[self.pos]
        self.pos += 1
        if tok == "-":
            return -self._factor()
        if tok == "+":
            return self._factor()
        if tok == "(":
            self.depth += 1
            if self.depth > 8:
                raise ValueError("too deep")
            v = self._sum()
            if self.pos >= len(tokens) or tokens[self.pos] != ")":
                raise ValueError("unbalanced")
            self.pos += 1
            self.depth -= 1
            return v
        if tok in "*/)":
            raise ValueError("unexpected operator")
        return float(tok)


def _bounded(v: float) -> float:
    if not abs(v) < _MAX_MAGNITUDE:
        raise ValueError("too large")
    return v


def _arith_value(expr: str, before: str) -> tuple[float, bool, str] | None:
    """(value, has an operator, the plain number as written) of one side of an "=", or None if it is not a
    self-contained arithmetic expression. ``before`` is the text just before ``expr`` (a leading operator
    right after a word or a number is binary: "y - 5 = ..." is not "-5")."""
    e = expr.replace("$", "").strip()
    if not e or len(e) > _MAX_EXPR_CHARS or e[0] in ")*/+" or e[-1] in _ARITH_OPS:
        return None
    if e[0] == "-" and before.rstrip()[-1:].isalnum():
        return None
    if e.count("(") != e.count(")"):
        e = e.strip("()").strip()  # "(so 3 * 4 = 12)": the bracket belongs to the prose around it
        if not e or e.count("(") != e.count(")") or e[0] in "*/+" or e[-1] in _ARITH_OPS:
            return None
    has_op = any(c in _ARITH_OPS for c in e.lstrip("-"))
    try:
        if not has_op and "(" not in e:
            value = float(e)  # a plain number: no parser needed
        else:
            tokens = _ARITH_TOKEN_RE.findall(e)
            if len(tokens) > _MAX_EXPR_TOKENS or sum(map(len, tokens)) != len(e) - e.count(" "):
                return None  # "3 4", "1.2.3": not one expression
            value = _ArithParser(tokens).value()
    except (ValueError, OverflowError):
        return None
    return value, has_op, e


def _decimals(number: str) -> int:
    return len(number.rsplit(".", 1)[1]) if "." in number else 0


def arithmetic_errors(text: str, limit: int = 0) -> list[str]:
    """Equations in ``text`` whose two sides differ: ``a op b = c`` chains (numbers, ``+ - * /``, ``x``/``×``/
    ``÷``, parentheses, GSM8K ``<<a*b=c>>`` annotations), evaluated without ``eval``.

    A plain number on one side may be rounded to the digits written (or by 1 %); two expressions must agree
    within 1 %. Sides that are not pure arithmetic (words, units in the middle, ``%``, powers) are skipped.
    ``limit`` > 0 stops after that many errors.
    """
    if "=" not in text:
        return []
    t = text[-_HEAD_CHARS:] if len(text) > _HEAD_CHARS else text
    t = t.replace("<<", " | ").replace(">>", " | ").replace("÷", "/").replace("\\div", "/").replace("−", "-")
    t = t.replace("**", " ").replace("\\$", "$")
    t = _TIMES_RE.sub(" * ", _THOUSANDS_RE.sub("", t))
    errors: list[str] = []
    for line in t.splitlines():
        if "=" not in line:
            continue
        parts = line.split("=")
        for left, right in pairwise(parts):
            i = len(left.rstrip(_ARITH_CHARS))  # the arithmetic just before "=" ...
            j = len(right) - len(right.lstrip(_ARITH_CHARS))  # ... and just after it
            if i == len(left) or j == 0:
                continue
            if right[j : j + 1] == "%" or (j < len(right) and right[j].isalpha() and right[j - 1 : j] != " "):
                continue  # "1/2 = 50%", "500 * 3 = 1.5k": not the plain number it looks like
            lhs = _arith_value(left[i:], left[:i])
            if lhs is None:
                continue
            rhs = _arith_value(right[:j], "")
            if rhs is None or not (lhs[1] or rhs[1]):
                continue
            lv, rv = lhs[0], rhs[0]
            if not lhs[1] and left[:i].rstrip()[-1:] not in ("", "|", ":"):
                continue  # "20% of 50 = 0.2 * 50": a plain number after words is only part of the left side
            if lhs[1] and rhs[1]:
                tol = 0.01 * max(abs(lv), abs(rv))
            else:
                plain = rhs[2] if not rhs[1] else lhs[2]
                exact = lv if not lhs[1] else rv
                tol = max(0.5 * 10.0 ** -_decimals(plain), 0.01 * abs(exact))
            if abs(lv - rv) > tol + 1e-9:
                errors.append(f"{left[i:].strip()} = {right[:j].strip()}")
                if len(errors) == limit:
                    return errors
    return errors


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
    explicit = _explicit_choices(t)
    # "answer is a" must not read an article as a letter: keep lower-case letters only when they stand alone.
    if explicit:
        distinct = set(explicit)
        return explicit[-1] if len(distinct) == 1 else _last_distinct_if_final(t, explicit)
    if len(t) <= 5 and t.strip("()[]{}.:*`'\" ").upper() in _CHOICE_LETTERS and t.strip("()[]{}.:*`'\" "):
        return t.strip("()[]{}.:*`'\" ").upper()
    m = _CHOICE_ALONE_RE.match(t) or _CHOICE_START_RE.match(t)
    if m:
        return str(m.group(1))
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    if lines:
        m = _CHOICE_ALONE_RE.match(lines[-1]) or _CHOICE_START_RE.match(lines[-1])
        if m:
            return str(m.group(1))
    parens = set(_CHOICE_PAREN_RE.findall(t[-1000:]))
    if len(parens) == 1:
        return str(parens.pop())
    return None


def _explicit_choices(t: str) -> list[str]:
    return [next(g for g in m.groups() if g).upper() for m in _CHOICE_EXPLICIT_RE.finditer(t[-4000:])]


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
    rule = _refusal(norm, stripped, task_text)
    if rule:
        return QualityVerdict(True, rule.split("/", 1)[0])
    if _non_answer(norm, stripped):
        return QualityVerdict(True, "non-answer")
    if _repetitive(stripped):
        return QualityVerdict(True, "repetition")

    want_json = expect_json if expect_json is not None else bool(_JSON_TASK_RE.search(task_text[-4000:]))
    if (fmt == "json" or want_json) and _parse_json(stripped) is None:
        return QualityVerdict(True, "invalid-json")
    if fmt in ("choice", "mcq", "multiple-choice", "letter"):
        return _check_choice(stripped, task_text)
    if fmt in ("number", "integer", "int", "numeric", "float"):
        return _check_number(stripped, integer=fmt in ("integer", "int"), task_text=task_text)
    if fmt in ("code", "python"):
        return _check_code(stripped, task_text)
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
    if "’" in s or "‘" in s or "“" in s or "”" in s:
        s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
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
    if "lorem ipsum" in head.lower():
        return QualityVerdict(True, "placeholder")
    return None


def _refusal(norm: str, stripped: str, task_text: str = "") -> str | None:
    """The refusal rule that fires on this answer (None if it is not a refusal).

    Judged on how the answer opens (its first sentences) and on its dominant intent. Rule names start
    with "refusal" or "ai-disclaimer"; ``assess_response`` reports the part before the first "/".
    The body of the answer is only scanned (bounded) when an opening rule needs it.
    """
    opening = norm[:400]
    first = _first_sentences(opening, 2)
    lazy = _Body(stripped)
    comply_pivot = _has_any(opening, _PIVOT_WORDS) and bool(_COMPLY_PIVOT_RE.search(opening))

    # 0. "Should I ...?" - "I'd advise against it; instead: 1. ... 2. ..." is an answer, not a refusal.
    if _ADVICE_TASK_RE.search(task_text, 0, 300) and _ADVISE_AGAINST_RE.search(first) and lazy.compliance >= 2:
        return None
    # 1. The answer opens by declining: "I can't help with that", "Sorry, but I cannot ...".
    if _OPEN_INABILITY_RE.match(opening):
        return "refusal/open-decline"
    # 2. Apologies. Sympathy ("sorry to hear that") is fine unless it declines or deflects.
    if _SYMPATHY_RE.match(opening):
        if _INABILITY_RE.search(first) or _NO_ACCESS_RE.search(first):
            return "refusal/sympathy-decline"
        if _DEFLECT_RE.search(lazy.text, 0, 1500) and lazy.compliance < 2:
            return "refusal/sympathy-deflect"
    elif _APOLOGY_OPEN_RE.match(opening):
        if _INABILITY_RE.search(first) or _NO_ACCESS_RE.search(first) or len(stripped) < 120:
            return "refusal/apology-decline"
        if _HARM_RE.search(_first_sentences(opening, 1)) and lazy.compliance < 2:
            return "refusal/apology-lecture"
    # 3. "As an AI ...": fine when an answer follows ("I don't have opinions, but historians agree ...");
    #    a refusal when it declines, disowns ("I do not condone ...") or lectures; a non-answer when
    #    nothing follows.
    m_ai = _AI_DISCLAIMER_RE.match(opening)
    if m_ai:
        if _INABILITY_RE.search(first) and not _NO_OPINION_RE.search(first):
            return "refusal/ai-decline"
        if _AI_DECLINE_RE.match(opening, m_ai.end()):
            return "refusal/ai-decline"
        rest = stripped[len(_first_sentences(stripped[:600], 1)) :].strip()
        if len(rest) < 30:
            return "ai-disclaimer/no-answer"
        m = _AI_LECTURE_RE.search(_first_sentences(opening, 1))
        if m and (_HARM_RE.search(first, m.start()) or _MORALISING_RE.search(first, m.start())) and not comply_pivot:
            return "refusal/ai-lecture"
        if not comply_pivot and _lecture_dominant(lazy, first):
            return "refusal/ai-lecture"
        return None
    if _has_any(opening, _JUST_AN_AI_WORDS) and _JUST_AN_AI_RE.search(opening):
        return "refusal/just-an-ai"
    # 4. Lecturing instead of answering. "It's important to note that the moon ..." is an ordinary answer:
    #    soft openings count only with harm/ethics vocabulary in the first sentences.
    if _HARD_LECTURE_RE.match(opening) or (_SOFT_LECTURE_RE.match(opening) and _HARM_RE.search(first)):
        if _INABILITY_RE.search(first) or _REDIRECT_RE.search(lazy.text, 0, 1200):
            return "refusal/lecture-redirect"
        if lazy.compliance < 2 and not comply_pivot:
            return "refusal/lecture-open"
    # A decline or lecture in the first sentences after a friendly preamble ("Thank you for reaching out!
    # I'm here to help. However, I must inform you that ... is not safe").
    if _INABILITY_RE.search(first) and lazy.compliance < 2:
        return "refusal/early-decline"
    early = _first_sentences(opening, 3)
    m = _PIVOT_LECTURE_RE.search(early)
    if (
        m
        and (_HARM_RE.search(early, m.start()) or _REDIRECT_RE.search(lazy.text, 0, 1200))
        and lazy.compliance < 2
        and not comply_pivot
    ):
        return "refusal/pivot-lecture"
    # 5. Dominant intent: a moralising answer with no real content.
    if not comply_pivot and _lecture_dominant(lazy, first):
        return "refusal/lecture-dominant"
    return None


def _has_any(text: str, needles: tuple[str, ...]) -> bool:
    """Cheap substring pre-check before a regex search (``in`` is a C loop)."""
    return any(n in text for n in needles)


class _Body:
    """The (bounded, lower-cased) body of an answer and its compliance count, computed on first use."""

    __slots__ = ("_compliance", "_stripped", "_text")

    def __init__(self, stripped: str) -> None:
        self._stripped = stripped
        self._text: str | None = None
        self._compliance: int | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _straighten(self._stripped[:_BODY_CHARS]).lower()
        return self._text

    @property
    def compliance(self) -> int:
        """Signs that the answer delivers content: list items, "here's how", code fences."""
        if self._compliance is None:
            self._compliance = len(_COMPLIANCE_RE.findall(self.text))
        return self._compliance


def _first_sentences(s: str, n: int) -> str:
    end = 0
    for _ in range(n):
        m = _SENTENCE_END_RE.search(s, end)
        if not m:
            return s
        end = m.end()
    return s[:end]


def _lecture_dominant(lazy: _Body, first: str) -> bool:
    """Mostly moralising, starting in the first sentences, and no real content (steps, lists, code)."""
    if not _MORALISING_RE.search(first) or lazy.compliance >= 2:
        return False
    body = lazy.text
    marks = len(_MORALISING_RE.findall(body))
    sentences = max(1, len(_SENTENCE_END_RE.findall(body)))
    return marks >= 3 and marks >= 0.5 * sentences


def _non_answer(norm: str, stripped: str) -> bool:
    if not _NON_ANSWER_RE.match(norm):
        return False
    if len(stripped) <= 160:
        # "I'm not sure, but I think it's Rome." still answers.
        return not _BUT_ANSWER_RE.search(norm)
    first = _first_sentences(norm, 1)
    rest = norm[len(first) :]
    return bool(_CLARIFY_RE.search(rest[:300])) and len(stripped) < 600


def _repetitive(stripped: str) -> bool:
    """Degenerate loops: a token or character run, one word dominating, few distinct n-grams, repeated lines.

    Works on whitespace-separated tokens (``str.split`` is a C loop), so "4 + 4 + 4" is not a run while
    "frog frog frog" is.
    """
    if len(stripped) > _HEAD_CHARS + _TAIL_CHARS:
        sample = stripped[:_HEAD_CHARS] + "\n" + stripped[-_TAIL_CHARS:]
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
        if len(tok) >= 25 and len(set(tok)) <= 2 and not set(tok) <= _RULE_CHARS:
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


def _parse_json(stripped: str) -> Any | None:
    """The JSON value of the answer (whole text, a ```json fence, or the outermost {...}/[...])."""
    candidates = [stripped]
    if "```" in stripped:
        candidates.extend(m.group(2).strip() for m in _FENCE_RE.finditer(stripped))
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    if starts:
        i = min(starts)
        j = stripped.rfind("}" if stripped[i] == "{" else "]")
        if i < j:
            candidates.append(stripped[i : j + 1])
    for c in candidates:
        if not c or c[0] not in "{[":
            continue
        try:
            return json.loads(c)
        except ValueError:
            continue
    return None


def _check_choice(stripped: str, task_text: str = "") -> QualityVerdict:
    t = _straighten(stripped)
    if _CHOICE_HEDGE_RE.search(t[-600:]):
        return QualityVerdict(True, "hedged:choice")
    letter = extract_choice(t)
    if letter is None:
        explicit = set(_explicit_choices(t))
        if len(explicit) > 1:
            return QualityVerdict(True, "hedged:choice")
        return QualityVerdict(True, "wrong-format:choice")
    options = _task_options(task_text)
    if options:
        if letter not in options:
            return QualityVerdict(True, "not-an-option:choice")
        m = _NONE_OF_ABOVE_RE.search(t[-600:])
        if m and m.group(0).lower() not in options[letter]:
            return QualityVerdict(True, "not-an-option:choice")
    return _OK


def _task_options(task_text: str) -> dict[str, str]:
    """The options of the last multiple-choice question in the task: letter -> lower-cased option text
    ({} when the task lists fewer than two lettered options)."""
    if not task_text or "\n" not in task_text:
        return {}
    tail = task_text[-3000:]
    starts = [m.start() for m in _OPTION_A_RE.finditer(tail)]
    if not starts:
        return {}
    options = {m.group(1).upper(): m.group(2).lower() for m in _OPTION_LINE_RE.finditer(tail, starts[-1])}
    return options if len(options) >= 2 else {}


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


def _check_number(stripped: str, integer: bool, task_text: str = "") -> QualityVerdict:
    t = _straighten(stripped)
    kind = "integer" if integer else "number"
    value = extract_number(t)
    if value is None:
        return QualityVerdict(True, f"wrong-format:{kind}")
    if _ends_mid_expression(t):
        return QualityVerdict(True, f"truncated:{kind}")
    final = _final_statement(t).lower()
    if _HEDGE_RE.search(final) or _HEDGE_RE.search(_last_lines(t, 2).lower()):
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
    line = _explicit_answer(t)
    if line is not None:
        verdict = _check_answer_line(line[1], kind)
        if verdict:
            return verdict
    if _has_any(t[-600:].lower(), _CANNOT_WORDS) and _CANNOT_DETERMINE_RE.search(t[-600:]):
        return QualityVerdict(True, f"non-answer:{kind}")
    if integer and value != int(value):
        return QualityVerdict(True, "wrong-format:integer")
    if (value < 0 or value != int(value)) and _asks_for_count(task_text):
        return QualityVerdict(True, f"not-a-count:{kind}")
    if arithmetic_errors(t, limit=1):
        return QualityVerdict(True, f"wrong-arithmetic:{kind}")
    body = t[: line[0]] if line is not None else t
    if not _supported_by_working(value, body):
        return QualityVerdict(True, f"unsupported:{kind}")
    return _OK


def _last_lines(t: str, n: int) -> str:
    """The last ``n`` non-empty lines (the conclusion of the answer)."""
    lines = [ln for ln in t[-1500:].splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _ends_mid_expression(t: str) -> bool:
    """The answer stops inside a calculation: on an operator or "=", inside a ``<<...`` annotation, or in
    the middle of a number ("880,00")."""
    s = t.rstrip()
    while s.endswith(("**", "`")):
        s = s.rstrip("*`").rstrip()
    if not s:
        return False
    last_line = s[s.rfind("\n") + 1 :].strip()
    if last_line and set(last_line) <= _RULE_CHARS:
        return False  # a markdown rule ("---") after the answer
    if s[-1] in "+-*/=×÷(" or s.endswith("\\"):
        return True
    if s.rfind("<<") > s.rfind(">>"):
        return True
    return bool(_CUT_NUMBER_RE.search(s[-40:]))


def _explicit_answer(t: str) -> tuple[int, str] | None:
    """(where it starts, the text after the marker) of the last explicit answer statement: a ``####`` line,
    ``Answer:``, "the answer is", "final answer"; None if the answer has none."""
    offset = max(0, len(t) - 2000)
    tail = t[offset:]
    if "####" not in tail and "nswer" not in tail and "NSWER" not in tail:
        return None
    last = None
    for last in _ANSWER_MARK_RE.finditer(tail):  # noqa: B007 - the last match is wanted
        pass
    if last is None:
        return None
    end = tail.find("\n", last.end())
    return offset + last.start(), tail[last.end() : end if end >= 0 else len(tail)][:200]


def _check_answer_line(after: str, kind: str) -> QualityVerdict | None:
    """An explicit answer statement must state one number: none ("#### No valid solution"), or several
    distinct ones ("#### 86 glasses and 42 plates", "5 hours and 20 minutes (320 minutes)"), is not an
    answer. Numbers in a trailing explanation ("because 3 * 4 = 12") do not count."""
    m = _EXPLANATION_RE.search(after)
    statement = after[: m.start()] if m else after
    numbers = {_to_float(x) for x in _NUMBER_TOKEN_RE.findall(statement)}
    numbers.discard(None)
    if not numbers:
        return None if _NUMBER_TOKEN_RE.search(after) else QualityVerdict(True, f"wrong-format:{kind}")
    if len(numbers) > 1:
        return QualityVerdict(True, f"hedged:{kind}")
    return None


def _asks_for_count(task_text: str) -> bool:
    """The task asks "how many <things>", things that are counted, not measured ("how many hours" is not a
    count: 2.5 hours is a fine answer; 2.5 people is not)."""
    if not task_text:
        return False
    m = _HOW_MANY_RE.search(task_text[-2000:])
    return bool(m) and m.group(1).lower() not in _MEASURE_UNITS


def _supported_by_working(value: float, body: str) -> bool:
    """Whether the final number is the result of some step of the working: the right-hand side of an "=",
    "≈", "≥" or a ``<<...>>`` annotation (also as a percentage: 0.4 for 40 %). An answer with no such step
    is not judged."""
    results = _RESULT_RE.findall(body[-_HEAD_CHARS:])
    if not results:
        return True
    tol = 1e-6 * max(1.0, abs(value))
    for r in results:
        v = _to_float(r)
        if v is None:
            continue
        if abs(v - value) <= tol or abs(v * 100 - value) <= tol or abs(v - value * 100) <= 1e-6 * max(1.0, abs(v)):
            return True
    return False


def _check_code(stripped: str, task_text: str = "") -> QualityVerdict:
    """Python code must parse (a ```python / ``` fence, a [PYTHON] block, or the code lines of the text); when
    the task asks for a function, one must be defined; and no function may be a stub (``pass``, ``...``,
    ``raise NotImplementedError``, a TODO / "your code here" comment) unless the task asks for a stub."""
    trees = _code_trees(stripped)
    if not trees:
        return QualityVerdict(True, "wrong-format:code")
    functions = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    task = task_text[-2000:]
    stub = any(_is_stub(f) for f in functions) or ("#" in stripped and bool(_TODO_RE.search(stripped[-_HEAD_CHARS:])))
    if stub and not (task and _STUB_TASK_RE.search(task)):
        return QualityVerdict(True, "placeholder:code")
    lambdas = not functions and any(isinstance(n, ast.Lambda) for tree in trees for n in ast.walk(tree))
    if task and not functions and not lambdas and _FUNCTION_TASK_RE.search(task):
        return QualityVerdict(True, "no-function:code")
    return _OK


def _code_trees(stripped: str) -> list[ast.Module]:
    """The parsed Python of the answer: every ```python / ``` fence and [PYTHON] / <code> block that parses;
    without blocks, the whole text, else the code lines from the first ``def``/``class``/``import`` with
    trailing prose trimmed. A block fenced as another language does not count."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE_RE.findall(stripped)]
    blocks += [("python", a or b) for a, b in _TAGGED_CODE_RE.findall(stripped)]
    if blocks:
        return [tree for lang, body in blocks if lang in _PYTHON_FENCES for tree in _parse(body)]
    trees = _parse(stripped)
    if trees:
        return trees
    m = _CODE_START_RE.search(stripped)
    if m:
        lines = stripped[m.start() :].splitlines()
        for end in range(len(lines), max(0, len(lines) - 30), -1):
            trees = _parse("\n".join(lines[:end]))
            if trees:
                return trees
    return []


_PYTHON_FENCES = ("", "python", "py", "python3")


def _is_stub(f: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function whose body is only a docstring, ``pass``, ``...`` or ``raise NotImplementedError``
    (``@abstractmethod`` and ``@overload`` stubs are fine)."""
    for d in f.decorator_list:
        name = d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else ""
        if "abstract" in name or name == "overload":
            return False
    return all(_is_filler(stmt) for stmt in f.body)


def _is_filler(stmt: ast.stmt) -> bool:
    """``pass``, ``...``, a docstring, or ``raise NotImplementedError``."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)
    return isinstance(stmt, ast.Raise) and stmt.exc is not None and "NotImplemented" in ast.dump(stmt.exc)


def _parse(code: str) -> list[ast.Module]:
    """``[tree]`` if ``code`` is Python, else ``[]``."""
    if not code.strip():
        return []
    try:
        return [ast.parse(code)]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
