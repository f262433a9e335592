"""Refusals, disclaimers, lectures and non-answers: judged on how the answer opens (its first sentences)
and on its dominant intent."""

from __future__ import annotations

import re

from .common import BODY_CHARS, LazyPattern, has_any, straighten

__all__ = ["non_answer", "refusal_rule"]

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
_INABILITY_RE = LazyPattern(r"\b" + _INABILITY)
_OPEN_INABILITY_RE = LazyPattern(
    r"^(?:(?:no|unfortunately|regrettably|however|sadly|but|well|ok(?:ay)?|hmm|oh)[,.!]?\s+)?"
    r"(?:(?:i'?m|i\s+am)\s+(?:so\s+|really\s+|very\s+|truly\s+)?sorry[^.!?\n]{0,120}?[,.;:!-]\s*(?:but\s+)?)?"
    + _INABILITY
)
_APOLOGY_OPEN_RE = LazyPattern(
    r"^(?:oh,?\s+|well,?\s+)?(?:(?:i'?m|i\s+am|we'?re|we\s+are|i|we)\s+)?(?:so\s+|really\s+|very\s+|truly\s+|"
    r"terribly\s+|deeply\s+)?(?:sorry|apologi[sz]e|apologies|my\s+apologies|unfortunately|regrettably)\b"
)
_SYMPATHY_RE = LazyPattern(r"^[^.!?\n]{0,40}sorry\s+(?:to\s+hear|for\s+your\s+loss|about\s+(?:your|the))")
_AI_DISCLAIMER_RE = LazyPattern(
    r"^(?:well,?\s+|hi!?\s+|hello!?\s+)?(?:as\s+an?\s+(?:[\w-]+\s+){0,3}?(?:ai|a\.i\.|artificial\s+intelligence|"
    r"language\s+model|llm|assistant|chatbot|model)\b|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+|merely\s+)?an?\s+"
    r"(?:[\w-]+\s+){0,2}?(?:ai|a\.i\.|language\s+model|llm|assistant|chatbot|computer\s+program|machine)\b)"
)
_JUST_AN_AI_RE = LazyPattern(
    r"\b(?:i'?m|i\s+am)\s+(?:just|only|merely)\s+an?\s+(?:ai|language\s+model|assistant)|not\s+within\s+my\s+"
    r"(?:programming|ethical\s+guidelines|capabilities)|against\s+my\s+(?:programming|guidelines|policies|"
    r"principles|ethical)|(?:violates?|goes\s+against)\s+(?:my|our|openai'?s?)\s+(?:guidelines|polic|principles|"
    r"programming|content)|as\s+a\s+responsible\s+(?:ai|assistant|language\s+model)"
)
# "I don't have personal opinions/feelings": a disclaimer that is fine when an answer follows.
_NO_OPINION_RE = LazyPattern(
    r"(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have|hold|form|express|share)\s+(?:any\s+)?(?:personal\s+)?"
    r"(?:opinions?|feelings?|beliefs?|preferences?|views?|emotions?|biases|experiences?|thoughts?|a\s+body)"
)
_LECTURE_PREAMBLE = (
    r"^(?:(?:no|well|however|actually|first(?:ly)?(?:\s+and\s+foremost)?|unfortunately|i\s+understand[^.!?]{0,80}?|"
    r"(?:i'?m|i\s+am)\s+(?:glad|happy)[^.!?]{0,80}?[.!]?\s*(?:but|however)|i\s+apologi[sz]e,?\s+but)[,.!]?\s+)?"
)
# Openings that lecture whatever follows: "It's not appropriate to ...", "I would advise against ...".
_HARD_LECTURE_RE = LazyPattern(
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
_SOFT_LECTURE_RE = LazyPattern(
    _LECTURE_PREAMBLE + r"(?:"
    r"(?:it(?:'s|\s+is)|that(?:'s|\s+is))\s+(?:important|crucial|essential|vital)\s+to\s+(?:note|remember|"
    r"understand|recognize|emphasi[sz]e|clarify|consider|remind|be\s+aware|acknowledge)"
    r"|i\s+(?:must|have\s+to|need\s+to|should|want\s+to|would\s+like\s+to)\s+(?:respectfully\s+|strongly\s+|"
    r"firmly\s+|gently\s+|first\s+)?(?:emphasi[sz]e|stress|point\s+out|clarify|remind|inform|note|caution|warn|"
    r"advise|disagree|correct|object)"
    r")"
)
# Harm/ethics vocabulary: an opening that says "it's important to note" is a lecture only with these.
_HARM_RE = LazyPattern(
    r"\b(?:illegal|unlawful|unethical|immoral|harmful|harm|dangerous|inappropriate|not\s+appropriate|offensive|"
    r"disrespectful|discriminat\w*|prejudic\w*|stereotyp\w*|hateful|hate|violen\w*|crime|criminal|abuse|"
    r"against\s+the\s+law|serious\s+consequences|legal\s+consequences|human\s+rights|dignity|not\s+recommended|"
    r"morally|wrong|violat\w*|never\s+(?:okay|acceptable|justified)|respect\w*|consent|safety|well-being|privacy|"
    r"(?:not|never)\s+(?:a\s+)?(?:recommended|safe|ethical|legal|appropriate|acceptable|okay))\b"
)
# Phrases of an assistant moralising instead of answering, counted over the whole (bounded) answer.
_MORALISING_RE = LazyPattern(
    r"\b(?:it(?:'s|\s+is)\s+(?:important|crucial|essential)\s+to|not\s+appropriate|inappropriate|unethical|"
    r"illegal|harmful|offensive|disrespectful|discriminat\w+|prejudice\w*|with\s+(?:respect|dignity)|"
    r"respect\s+and\s+dignity|dignity\s+and\s+respect|regardless\s+of\s+their|fairness|positivity|equality|"
    r"human\s+rights|promote\s+(?:fairness|positivity|respect|understanding|inclusiv\w+|equality)|"
    r"should\s+(?:be\s+treated|not\s+be\s+(?:discriminated|denied|judged))|stereotyp\w+|"
    r"seek\s+(?:professional\s+)?help|mental\s+health\s+professional|crisis\s+(?:hot)?line|"
    r"(?:is|are)\s+(?:never|not)\s+(?:okay|acceptable|justified|justifiable)|i\s+cannot|i\s+can'?t|instead)\b"
)
# Signs that the answer actually delivers content: list items, "here's how", code.
_COMPLIANCE_RE = LazyPattern(
    r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S|\bhere\s+(?:is|are)\b|\bhere'?s\b|```|\bsteps?\s+(?:to|you)\b"
)
_REDIRECT_RE = LazyPattern(r"\binstead\b|\brather\s+than\b|\bi\s+(?:would\s+)?(?:suggest|recommend)\b")
_COMPLY_PIVOT_RE = LazyPattern(
    r"\b(?:however|but|that\s+said|nonetheless|nevertheless)\b[^.!?]{0,60}?\b(?:i\s+(?:will|can|'ll|am\s+happy\s+to|"
    r"'m\s+happy\s+to)\s+(?:provide|give|share|try|help|explain|answer|offer|outline|describe)|here\s+(?:is|are)|"
    r"here's)"
)
_NO_ACCESS_RE = LazyPattern(
    r"\b(?:i|we)\s*(?:do\s+not|don'?t|cannot|can'?t)\s+(?:have\s+)?(?:access|the\s+ability|information\s+about)"
)
_DEFLECT_RE = LazyPattern(
    r"\breach\s+out\s+to\b|\b(?:talk|speak)\s+(?:to|with)\s+(?:someone|a\s+(?:trusted|mental|professional|"
    r"counsel|therap|doctor))|mental\s+health\s+professional|crisis\s+(?:hot)?line|people\s+who\s+care\s+about\s+you|"
    r"\bseek\s+(?:professional\s+|immediate\s+)?(?:help|support)"
)
_PIVOT_RE = LazyPattern(r"\b(?:however|but|that\s+said|nevertheless|nonetheless|instead|in\s+general)\b")
# Right after "As an AI ...": disowning or declining ("and do not condone", "don't have access to ...").
_AI_DECLINE_RE = LazyPattern(
    r"[\s,]*(?:[\w-]+\s+){0,3}?(?:(?:developed|created|made|trained)\s+by\s+[\w ]{1,30}?,\s*)?(?:and\s+|,\s*)?(?:i\s+)?"
    r"(?:do\s+not|don'?t|cannot|can'?t|am\s+not\s+able\s+to|'m\s+not\s+able\s+to)\s+(?:condone|promote|endorse|"
    r"support|encourage|have\s+(?:the\s+)?(?:ability|capability|capacity|means)|have\s+access|access|provide|assist|"
    r"help)\b"
)
# "As an AI, I must clarify that ..." - a lecture when harm/ethics vocabulary follows.
_AI_LECTURE_RE = LazyPattern(
    r"\bi\s+(?:must|have\s+to|need\s+to|want\s+to|would\s+like\s+to|should)\s+(?:clarify|point\s+out|"
    r"emphasi[sz]e|stress|inform|note|remind)|\bi\s+am\s+committed\s+to|\bit(?:'s|\s+is)\s+not\s+(?:appropriate|"
    r"ethical|accurate|fair|right|okay)"
)
# A friendly preamble, then "However, I must inform you that ..." / "However, it is not safe ...".
_PIVOT_LECTURE_RE = LazyPattern(
    r"\b(?:however|but)\s*,?\s+(?:i\s+(?:must|have\s+to|need\s+to|should|want\s+to|would\s+like\s+to)\s+"
    r"(?:respectfully\s+|kindly\s+|gently\s+|first\s+)?(?:inform|point\s+out|clarify|remind|emphasi[sz]e|stress|"
    r"note|caution|warn|advise)|it(?:'s|\s+is)\s+(?:not|never)\s+(?:appropriate|ethical|safe|legal|okay|acceptable))"
)
# Questions whose honest answer may be "I would advise against it".
_ADVICE_TASK_RE = LazyPattern(
    r"\b(?:should\s+(?:i|we)|is\s+it\s+(?:a\s+good\s+idea|safe|okay|ok|wise|smart)|would\s+you\s+recommend|"
    r"do\s+you\s+recommend)\b",
    re.IGNORECASE,
)
_ADVISE_AGAINST_RE = LazyPattern(
    r"\b(?:advise|caution|urge|recommend)\s+(?:you\s+)?against|\bdiscourage|\bwould\s*n[o']?t\s+recommend|"
    r"\bnot\s+(?:be\s+)?(?:recommended|advisable|a\s+good\s+idea)"
)
# Cheap substring gates for regexes that most answers cannot match.
_PIVOT_WORDS = ("however", "but", "that said", "nonetheless", "nevertheless")
_JUST_AN_AI_WORDS = (" ai", "model", "assistant", "programming", "guideline", "polic", "principles", "responsible")
_SENTENCE_END_RE = LazyPattern(r"[.!?](?:\s|$)|\n")

# --------------------------------------------------------------------------------------------------
# Non-answers
# --------------------------------------------------------------------------------------------------

_NON_ANSWER_RE = LazyPattern(
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
_BUT_ANSWER_RE = LazyPattern(r"\b(?:but|however|though|although)\b.{8,}")
_CLARIFY_RE = LazyPattern(
    r"\b(?:could|can|would)\s+you\s+(?:please\s+)?(?:clarify|rephrase|provide\s+more|be\s+more\s+specific|"
    r"elaborate|tell\s+me\s+more)|please\s+(?:clarify|provide\s+more|rephrase)|what\s+do\s+you\s+mean"
)


def refusal_rule(norm: str, stripped: str, task_text: str = "") -> str | None:
    """The refusal rule that fires on this answer (None if it is not a refusal).

    Judged on how the answer opens (its first sentences) and on its dominant intent. Rule names start
    with "refusal" or "ai-disclaimer"; ``assess_response`` reports the part before the first "/".
    The body of the answer is only scanned (bounded) when an opening rule needs it.
    """
    opening = norm[:400]
    first = _first_sentences(opening, 2)
    lazy = _Body(stripped)
    comply_pivot = has_any(opening, _PIVOT_WORDS) and bool(_COMPLY_PIVOT_RE.search(opening))

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
    if has_any(opening, _JUST_AN_AI_WORDS) and _JUST_AN_AI_RE.search(opening):
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
            self._text = straighten(self._stripped[:BODY_CHARS]).lower()
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


def non_answer(norm: str, stripped: str) -> bool:
    """The answer opens with "I don't know" / "I'm not sure" / a request to clarify, and gives no answer
    after it."""
    if not _NON_ANSWER_RE.match(norm):
        return False
    if len(stripped) <= 160:
        # "I'm not sure, but I think it's Rome." still answers.
        return not _BUT_ANSWER_RE.search(norm)
    first = _first_sentences(norm, 1)
    rest = norm[len(first) :]
    return bool(_CLARIFY_RE.search(rest[:300])) and len(stripped) < 600
