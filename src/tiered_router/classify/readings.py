"""Small readers of how a request is phrased, for ``intent.read_ask``: whether a yes/no question weighs a claim
(``weighs``), whether the request is a question at all (``asks_question``), whether its first word is a noun
(``noun_first``) or its "why" an interjection (``why_interjection``), whether it asks for a brief answer
(``asks_brief``), what it asks the assistant to do after "I need to" (``embedded_request``), whether a part of
it or its end asks for a value (``value_question``, ``final_lookup_question``), and whether a verb applies to a
small piece of data (``on_data``). Each reads words or text the caller already has; none scores anything."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from .lexicon import (
    ACTION_LEAD,
    CAUSAL_AFTER_WHAT,
    DATA_NOUNS,
    GENERIC_LEAD,
    HEAVY_NOUN,
    LOOKUP_LEAD,
    MEDIUM_LEAD,
    NORMATIVE,
    STRONG_LEAD,
    SUPERLATIVES,
)

__all__ = [
    "DETERMINERS",
    "asks_brief",
    "asks_cause_tersely",
    "asks_for_ideas",
    "asks_next_step",
    "asks_question",
    "asks_to_win",
    "delicate_ask",
    "embedded_request",
    "final_lookup_question",
    "imperative",
    "noun_first",
    "on_data",
    "superlative_plan",
    "value_question",
    "weighs",
    "weighs_alternatives",
    "whether_should",
    "why_interjection",
]

DETERMINERS = frozenset({"the", "this", "these", "those", "that", "a", "an", "my", "our", "your", "two",
                          "both", "each", "every", "all", "following", "given", "me", "us"})
# A final question that asks for a value ("what is the total", "which of these"), not for advice, a
# hypothetical or a cause ("what should", "what would", "what if", "what caused").
# The verbs of cause are the lexicon's (what caused, what drove, what made ...) and a few more.
_NOT_A_VALUE_AFTER_WH = ("should", "would", "could", "might", "if", "happens?", "do", "does", "can", r"caus\w*",
                         *sorted(CAUSAL_AFTER_WHAT | {"make", "brought", "gives"}))
_VALUE_CLAUSE_RE = re.compile(
    r"(?:^|[,;:]\s*|\b(?:then|and|so)\s+)(?:how\s+(?:many|much|long|old|far|fast|tall|big|large|often|high|deep|wide|"
    r"heavy)\b|(?:what|which|who|"
    rf"when|where)\b(?!'?s?\s+(?:{'|'.join(_NOT_A_VALUE_AFTER_WH)})\b))"
)
# "what does CPM stand for?", "what does 'ennui' mean?": a definition, not an explanation.
_MEANING_RE = re.compile(r"what\s+does\s+\S+(?:\s+\S+){0,3}?\s+(?:stand\s+for|mean)\b")
_SENTENCE_BREAK_RE = re.compile(r"[.!?]\s|\n")
_LAST_SENTENCE_RE = re.compile(r"(?:^|[.!?]\s+|\n\s*)([^.!?\n]*[.?!]?)$")
# A yes/no question that asks whether a claim holds, not for a fact: "Are electric cars really greener?",
# "Can a machine ever understand language?", "Is it ever right to lie?".
_CONTESTED = frozenset({"really", "actually", "truly", "genuinely", "necessarily", "ever", "overrated",
                        "underrated", "myth"})
# What a yes/no question about is a matter of philosophy, not fact: "Is free will real?", "Does money buy
# happiness?". ("free will" is read as its second word.)
_ABSTRACT = frozenset({"happiness", "consciousness", "conscious", "morality", "justice", "truth", "reality",
                       "existence", "identity", "knowledge", "beauty", "virtue", "fate", "soul", "god", "ethics",
                       "freedom", "meaningful", "objective", "subjective", "determinism", "will"})
# "Why hello there!": "why" as an interjection, not a question.
_WHY_INTERJECTION = frozenset({"hello", "hi", "hey", "thank", "thanks", "yes", "certainly", "sure", "good"})
# A first word that may be a verb or a noun ("Plan B for dinner is pasta", "Design team needs this"): it is a
# noun when a finite verb follows it within a few words. Verbs that take a clause ("prove the sum is even",
# "check the door is locked") are not read this way.
_FINITE = frozenset({"is", "are", "was", "were", "can", "will", "needs", "need", "has", "have", "should", "must",
                     "looks", "seems", "got", "isnt", "arent", "wasnt", "cant", "wont"})
_CLAUSE_OPENERS = frozenset({"that", "which", "who", "whether", "if", "why", "how", "what", "where", "when", "it",
                             "there", "this", "these", "they", "we", "i", "you", "he", "she"})
_CLAUSE_VERBS = frozenset({"prove", "show", "argue", "explain", "check", "verify", "determine", "decide", "evaluate",
                           "assess", "estimate", "predict", "demonstrate", "justify", "confirm", "establish",
                           "analyse", "analyze", "compare", "calculate", "compute", "derive", "discuss", "consider",
                           "suppose", "assume", "imagine", "describe", "identify", "find", "investigate", "weigh",
                           "critique", "diagnose", "debug", "reason", "contrast", "interpret", "research",
                           "recommend", "suggest"})
_EMBEDDED_REQUEST_RE = re.compile(
    r"\b(?:i|we)\s+(?:just\s+|only\s+|really\s+)?(?:need|want|have|would\s+like|'?d\s+like)\s+(?:you\s+)?to\s+"
    r"([a-z]+)"
)
# Comparatives that weigh rather than measure: "Is nuclear safer than coal?" (not "Is K2 taller than Everest?").
_EVALUATIVE = frozenset({"better", "worse", "safer", "riskier", "healthier", "greener", "fairer", "wiser",
                         "smarter"})
_WEIGHED_QUALITIES = frozenset({"effective", "efficient", "dangerous", "harmful", "beneficial", "useful",
                                "important", "valuable", "reliable", "secure", "humane", "productive", "ethical",
                                "sustainable", "just", "moral", "fair", "risky", "plausible", "likely",
                                "convincing", "credible", "accurate", "persuasive", "rational", "reasonable"})
# Asking for an answer of a word, a value or one sentence: a small model can give it whatever the topic.
_BRIEF_RE = re.compile(
    r"\b(?:(?:in|with|using)\s+(?:just\s+|only\s+)?(?:one|a\s+single|a|1)\s+(?:word|number|letter|sentence|line)"
    r"|one[- ](?:word|line|sentence)\s+(?:answer|reply|response|summary|description|version|explanation)"
    r"|(?:just|only)\s+(?:pick\s+one|say|one\s+word|yes\s+or\s+no"
    r"|the\s+(?:answer|number|name|word|result|total|letter))"
    r"|(?:answer|reply|respond)\s+(?:only\s+)?(?:with\s+)?(?:a\s+)?(?:yes\s+or\s+no|yes/no)"
    r"|no\s+explanations?\b|(?:don'?t|do\s+not|without)\s+(?:explain|explanation|elaborat)"
    r"|(?:quick|short|brief)\s+(?:version|answer)\b"
    # an output format that is one word or a sentence or two: "Output the label only", "max two sentences"
    r"|output\s+(?:the|a|only\s+the)?\s*(?:label|answer|number|word|category|letter)\s+only"
    r"|(?:max(?:imum)?|at\s+most|no\s+more\s+than)\s+(?:one|two|1|2)\s+sentences?"
    r"|(?:answer|reply|respond)\s+(?:with\s+)?[a-z]+(?:\s*/\s*[a-z]+){1,4}\b)"
)
# Nearly every phrasing _BRIEF_RE matches holds one of these words ("in one number" alone does not): the
# regex runs only when one is there. Common words ("answer", "number") would run it on most long prompts.
_BRIEF_WORDS = frozenset({"word", "letter", "sentence", "sentences", "output", "answer", "one-word", "one-line",
                          "one-sentence", "line", "just",
                          "only", "yes", "version", "quick", "short", "brief", "explanation", "explanations",
                          "explain", "elaborate", "elaborating", "elaboration"})
_ALWAYS = frozenset({"always", "never"})
# A superlative asking for a plan of a kind ("best build", "cheapest setup"), after "what's the" at most.
_SUPERLATIVE_OPENERS = frozenset({"what", "whats", "is", "the", "which", "a", "your"})
_STRATEGIC_TARGETS = frozenset({"build", "builds", "strategy", "setup", "loadout", "allocation", "combination",
                                "approach", "opening", "rotation", "lineup", "team", "deck", "composition"})
# An alternative asked with no question word, for a purpose or with the asker's stake in it: "Kafka or
# RabbitMQ for our order pipeline?", "Pay off my mortgage early or invest the difference?". ("Left or
# right?", "Take the sword or the shield?" name no purpose and no stake: a move, not a decision.)
_ALTERNATIVE_MAX_WORDS = 16
_PURPOSE_MIN_WORDS = 6
_SITUATION_MAX_WORDS = 14  # "Siege the castle or starve it out? 400 men, winter in three weeks."
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
_OR_SEPARATORS = (" or ", " vs ", " versus ")  # ("vs." ends a sentence: no question sentence holds it)
_OR_WORDS = frozenset(w.strip() for w in _OR_SEPARATORS)
_CIRCUMSTANCE = ("for", "at", "in", "with", "given", "when", "if")
# Asking for ideas or an opinion at the end: "flaky test, only on CI — ideas?", "postgres vs mongo for event
# sourcing, thoughts?", "… what do you think?". ("Any tips?" is left alone: often a light request.)
_IDEAS_RE = re.compile(
    r"(?:^|[\s,;:(\u2014\u2013-])(?:any\s+)?(?:ideas|thoughts|suggestions|advice|opinions|recommendations)\s*\??\s*$"
    r"|\bwhat\s+(?:do|would)\s+you\s+(?:think|suggest|recommend|advise)\b[^.!?]{0,40}\??\s*$"
)
# A terse question that asks for a cause, a mechanism or a verdict, at the end of a short message: "Bronze Age
# collapse, 1177 BC — cause?", "Tides. Two a day. How?", "ice floats. most solids sink. what gives",
# "USSR, 1991. Inevitable?", "Telomeres and aging — causal or correlational?", "the 2008 crash, in mechanism
# terms", "… and through what channel?".
_INQUIRY_END_RE = re.compile(
    r"(?:^|[.,;:!?\u2014\u2013-]\s*|\s)(?:(?:the|same|main|root|real)\s+)?(?:causes?|why|how|what\s+gives"
    r"|inevitable|avoidable|preventable|causal(?:\s+or\s+correlational)?|correlational|mechanism|in\s+mechanism\s+terms"
    r"|through\s+what\s+(?:channel|mechanism)s?|by\s+what\s+mechanism"
    # a verdict on a move: "Refinance from 7.2% to 6.1% with $4k closing costs, worth it?"
    r"|(?:is\s+it\s+)?worth\s+it|(?:a\s+)?(?:good|bad|smart)\s+(?:idea|move|call)|makes?\s+sense)\s*[?.!]*\s*$"
)
_INQUIRY_MAX_WORDS = 20
# The regexes above run only when one of their words is there (most requests hold none).
_INQUIRY_WORDS = frozenset({"cause", "causes", "why", "how", "gives", "inevitable", "avoidable", "preventable",
                            "causal", "correlational", "mechanism", "channel", "channels", "mechanisms", "worth",
                            "idea", "move", "call", "sense"})
_IDEAS_WORDS = frozenset({"ideas", "thoughts", "suggestions", "advice", "opinions", "recommendations", "think",
                          "suggest", "recommend", "advise"})
# Asking what to do next in a word or two: "churn doubled after we raised prices. now what", "Next 90 days,
# concretely.", "What's the path out?", "what are my options", "where do I even start", "dig into it with me".
_NEXT_STEP_RE = re.compile(
    r"(?:^|[.!?]\s+)next\s+(?:steps?|moves?|\d+\s+days)\b"  # as a request of its own, not "the next step in …"
    r"|\b(?:now\s+what|what\s+now|what\s+next|what\s+are\s+(?:my|our)\s+options"
    r"|where\s+(?:do|should)\s+(?:i|we)\s+(?:even\s+)?(?:start|begin)|(?:the|a)\s+(?:way|path)\s+(?:out|forward)"
    r"|dig\s+into\s+(?:it|this|that)|go[- ]to[- ]market)\b"
)
# Every phrase _NEXT_STEP_RE matches holds one of these word pairs: the regex runs only when one is there
# (its words alone, "now", "next", "way", are in most long requests).
_NEXT_STEP_PAIRS = frozenset({("now", "what"), ("what", "now"), ("what", "next"), ("my", "options"),
                              ("our", "options"), ("even", "start"), ("even", "begin"), ("i", "start"),
                              ("we", "start"), ("i", "begin"), ("we", "begin"), ("way", "out"), ("path", "out"),
                              ("way", "forward"), ("path", "forward"), ("dig", "into"), ("|", "next"),
                              ("to", "market")})
# Winning or scheduling asked for in a phrase: "which 4 heroes counter a double-healer comp?", "best way to
# hold the bridge with 5 archers?", "which two professions pair best if I want to be self-sufficient",
# "4 cooks, 3 ovens, 9 orders — who does what when?", "how do I get the dwarf king to sign without giving up
# the mine?".
_WINNING_RE = re.compile(
    r"\bwhich\b[^.?!]{0,60}\bcounters?\b"  # not "which … survive / beat": "which animal would survive …" is a quiz
    r"|\b(?:best|fastest|safest|cheapest)\s+way\s+to\s+(?:hold|defend|protect|take|beat|defeat|win|survive|counter"
    r"|capture|escape|clear)\b"
    r"|\bwhich\b[^.?!]{0,80}\b(?:pair|combine|work|go|fit)s?\s+best\s+(?:if|for|when|so|to)\b"
    r"|\bwho\s+does\s+what\b"
    r"|\bhow\s+(?:do|can|could|should)\s+(?:i|we)\s+get\s+(?:the|my|our|him|her|them)\b[^.?!]{0,40}?\bto\s+(?:sign"
    r"|agree|accept|join|ally|support|trust|back|fund|approve|cooperate)\b"
)
# Each phrase of _WINNING_RE holds one of these word pairs, or "which" and "counter(s)": the regex runs only then.
_WINNING_PAIRS = frozenset({("best", "way"), ("fastest", "way"), ("safest", "way"), ("cheapest", "way"),
                            ("does", "what"), ("i", "get"), ("we", "get"), ("pair", "best"), ("pairs", "best"),
                            ("combine", "best"), ("combines", "best"), ("work", "best"), ("works", "best"),
                            ("go", "best"), ("goes", "best"), ("fit", "best"), ("fits", "best")})
# "Tell me if I should lease or buy": a decision asked for as "if / whether I should".
_WHETHER_SHOULD_RE = re.compile(r"\b(?:if|whether)\s+(?:i|we)\s+should\b")
_STAKE = frozenset({"my", "our", "we", "i", "us", "me"})
# Telling, asking or persuading a person close to the asker: "How do I tell my cofounder I want out?",
# "how should we ask our landlord for a rent cut". (Not "how do I tell if an egg is bad".)
_DELICATE_ASK_RE = re.compile(
    r"\bhow\s+(?:do|can|should|would|could|might)\s+(?:i|we)\s+(?:best\s+)?(?:tell|ask|approach|confront|convince"
    r"|persuade|talk\s+to|break\s+(?:it|the\s+news)\s+to|bring\s+(?:it|this|that)\s+up\s+with)\s+(?:my|our)\s+"
    r"(?:[a-z-]+\s+)?(?:boss|manager|cofounder|co-founder|partner|wife|husband|spouse|girlfriend|boyfriend|friends?"
    r"|parents?|mom|mum|dad|mother|father|kids?|son|daughter|children|team|employees?|landlord|clients?"
    r"|colleagues?|co-?workers?|teacher|roommate|flatmate|sister|brother|family|investors?|customers?"
    r"|neighbou?rs?|in-laws|ex)\b"
)


def weighs(wset: frozenset[str], pairs: frozenset[tuple[str, str]]) -> bool:
    """Whether a yes/no question asks for a weighing: a word of judgement ("ethical", "worth"), a claim put to
    the test ("really", "ever"), a matter of philosophy ("happiness", "free will"), or a comparative that
    weighs ("safer than", "more effective")."""
    if not (wset.isdisjoint(NORMATIVE) and wset.isdisjoint(_CONTESTED) and wset.isdisjoint(_EVALUATIVE)
            and wset.isdisjoint(_ABSTRACT)):
        return "will" not in wset or ("free", "will") in pairs
    if not wset.isdisjoint(_ALWAYS) and not wset.isdisjoint(HEAVY_NOUN):
        return True  # "can a greedy algorithm always solve it optimally?"
    return any(("more", w) in pairs or ("less", w) in pairs for w in _WEIGHED_QUALITIES & wset)


def weighs_alternatives(t_lowered: str, first: str, wset: frozenset[str], n_words: int) -> bool:
    """Whether a short question asks to choose between alternatives, with no question word before them, for a
    purpose, a circumstance or a topic ("Rust or Go for our payments backend?", "Pricing: $9 flat, or tiered
    usage?"), with the asker's stake ("Pay off my mortgage early or invest the difference?"), asking what
    comes first ("crit or haste first on a frost mage?"), or beside a situation stated with numbers ("Siege
    the castle or starve it out? 400 men, winter in three weeks.")."""
    if wset.isdisjoint(_OR_WORDS) or n_words > _ALTERNATIVE_MAX_WORDS + _SITUATION_MAX_WORDS:
        return False
    question, situation = _alternative_question(t_lowered.strip())
    if not question or question.split()[0].strip("'\"") in LOOKUP_LEAD or question.startswith("should"):
        return False
    if situation:  # "Silent, act 2, poison deck but no scaling block. Wraith Form or Footwork here?"
        return any(c.isdigit() for c in situation) and len(situation.split()) <= _SITUATION_MAX_WORDS
    if n_words > _ALTERNATIVE_MAX_WORDS or first in LOOKUP_LEAD or first == "should":
        return False
    at = next((question.find(w) + len(w) for w in _OR_SEPARATORS if w in question), -1)
    after_or = question[at:] if at >= 0 else ""
    # A purpose or a circumstance named in a few words is a preference ("Tea or coffee for breakfast?"), not a
    # decision; a topic named before the alternatives is one ("Pricing: $9 flat, or tiered usage?").
    topic_at = question.find(":", 0, max(0, at - 4))
    purpose = (any(f" {w} " in f" {after_or}" for w in _CIRCUMSTANCE) and n_words >= _PURPOSE_MIN_WORDS) or (
        topic_at > 0 and LOOKUP_LEAD.isdisjoint(question[topic_at + 1:].split()))
    # "crit or haste first on a frost mage?": what comes first; "monolith or microservices, 4-person startup?":
    # a situation stated after a comma, with a number
    situated = " first" in f" {after_or}" or ("," in after_or and any(c.isdigit() for c in after_or))
    return bool(after_or) and (purpose or situated or not wset.isdisjoint(_STAKE))


def _alternative_question(text: str) -> tuple[str, str]:
    """(the sentence that asks "A or B?", the rest) when one sentence of ``text`` is such a question and the
    rest, before or after it, states the situation; ("", "") otherwise."""
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]
    asked = [s for s in sentences if s.endswith("?") and any(w in f" {s} " for w in _OR_SEPARATORS)]
    if len(asked) != 1:
        return "", ""
    return asked[0], " ".join(s for s in sentences if s is not asked[0])


def asks_for_ideas(lowered: str, wset: frozenset[str]) -> bool:
    """Whether the request ends by asking for ideas, suggestions or an opinion."""
    return not wset.isdisjoint(_IDEAS_WORDS) and bool(_IDEAS_RE.search(lowered[-80:]))


def asks_cause_tersely(lowered: str, wset: frozenset[str], n_words: int) -> bool:
    """Whether a short message ends by asking, in a word or two, for a cause, a mechanism or a verdict."""
    return (n_words <= _INQUIRY_MAX_WORDS and not wset.isdisjoint(_INQUIRY_WORDS)
            and bool(_INQUIRY_END_RE.search(lowered[-60:])))


def asks_next_step(lowered: str, wset: frozenset[str], pairs: frozenset[tuple[str, str]]) -> bool:
    """Whether the message asks what to do next in a phrase ("now what", "what are my options", "the path
    out", "next 90 days")."""
    if pairs.isdisjoint(_NEXT_STEP_PAIRS) and "go-to-market" not in wset and not lowered.startswith("next"):
        return False
    return bool(_NEXT_STEP_RE.search(lowered, 0, 600))


def asks_to_win(lowered: str, wset: frozenset[str], pairs: frozenset[tuple[str, str]]) -> bool:
    """Whether the request asks how to win, counter or schedule something, in a phrase (``_WINNING_RE``)."""
    if pairs.isdisjoint(_WINNING_PAIRS) and not ("which" in wset and ("counter" in wset or "counters" in wset)):
        return False
    return bool(_WINNING_RE.search(lowered, 0, 600))


def whether_should(lowered: str) -> bool:
    """Whether the request asks if the asker should do something ("tell me if I should lease or buy")."""
    return "should" in lowered and bool(_WHETHER_SHOULD_RE.search(lowered, 0, 300))


def delicate_ask(lowered: str) -> bool:
    """Whether the request asks how to tell, ask or persuade a person close to the asker."""
    return bool(_DELICATE_ASK_RE.search(lowered, 0, 300))


def asks_question(lowered: str, n_boundaries: int) -> bool:
    """Whether the request is a question: it has a question mark, or it is one unpunctuated line, as chat
    often is ("is it wrong to eat meat")."""
    return "?" in lowered or n_boundaries == 0


def why_interjection(second: str, pairs: frozenset[tuple[str, str]]) -> bool:
    """"Why hello there!", "Why not. Set a timer": "why" that asks nothing."""
    return second in _WHY_INTERJECTION or (second == "not" and ("not", "|") in pairs)


def noun_first(lead: Sequence[str]) -> bool:
    """Whether the first word, which may be a verb, is the head of a subject or a name: "Plan B for dinner is
    pasta", "Design doc review can wait", "Plan B, forget the window"."""
    if not lead or lead[0] in _CLAUSE_VERBS:
        return False
    if len(lead) > 1 and ((len(lead[1]) == 1 and lead[1] not in ("a", "i")) or lead[1].isdigit()):
        return True  # "Plan B", "Design 2": a name
    for before, word in pairwise(lead):
        if word in _FINITE:
            return before not in _CLAUSE_OPENERS
        if word in _CLAUSE_OPENERS:
            return False
    return False


def asks_brief(wset: frozenset[str], lowered: str) -> bool:
    """Whether the request asks for a one-word, one-value or one-sentence answer: said at its start ("In one
    word, ...") or its end ("... Just pick one.")."""
    if wset.isdisjoint(_BRIEF_WORDS):
        return False
    if len(lowered) <= 600:
        return bool(_BRIEF_RE.search(lowered))
    return bool(_BRIEF_RE.search(lowered, 0, 200) or _BRIEF_RE.search(lowered, len(lowered) - 400))


def embedded_request(lowered: str) -> str:
    """The verb of "I need to ...", "we'd like you to ..." in the first sentence, or ""."""
    m = _EMBEDDED_REQUEST_RE.search(lowered, 0, 240)
    return m.group(1) if m else ""


def value_question(lowered: str, at: int) -> bool:
    """Whether the part of the request at ``at`` is a question asking for a value ("how many legs ...?",
    "what is the capital ...?") after context that holds no numbers (a word problem's numbers are its
    data, not context; a "how to" in it is a problem being worked on)."""
    question = lowered[at:at + 200]
    # A question mark, or nothing after it: "... I keep mixing up dates. Tell me what year the wall came down"
    ends = "?" in question or (len(lowered) - at <= 200 and not _SENTENCE_BREAK_RE.search(question.rstrip(" .!\n")))
    return (ends and bool(_VALUE_CLAUSE_RE.match(question) or _MEANING_RE.match(question))
            and not any(c.isdigit() for c in lowered[:at]) and "how to" not in lowered[:at])


def on_data(lead: Sequence[str]) -> bool:
    """Whether a reasoning or task verb is applied to a small piece of given data: a word, a number, a
    name ("compare these two numbers", "analyse the word 'unhappiness'"), not "the number of ways"."""
    for i in range(1, min(4, len(lead))):
        w = lead[i]
        if w in DATA_NOUNS:
            return i + 1 >= len(lead) or lead[i + 1] != "of"
        if w not in DETERMINERS:
            return False
    return False


def imperative(first: str) -> bool:
    return first in ACTION_LEAD or first in MEDIUM_LEAD or first in STRONG_LEAD or first in GENERIC_LEAD


def final_lookup_question(window: str, imperative: bool) -> bool:
    """Whether the request ends by asking for a value: a last sentence with a "how many / how much / what /
    which / who / when / where" clause ("If he has 24 feet to dig, how long will it take?"). A one-sentence
    instruction that ends in a full stop asks no question: its "what" is a relative clause ("Write a function
    to remove the brackets and what is between them.")."""
    t = window.rstrip()
    if t.endswith(")") and "(" in t[-200:]:
        t = t[: t.rindex("(")].rstrip()  # "How many ...? (Remember there are 31 days in March.)"
    if not t or t[-1] not in "?." or (imperative and t[-1] == "." and not _SENTENCE_BREAK_RE.search(t[:-1])):
        return False
    m = _LAST_SENTENCE_RE.search(t[-400:])
    sentence = (m.group(1) if m else t[-400:]).lower()
    return bool(_VALUE_CLAUSE_RE.search(sentence))


def superlative_plan(lead: Sequence[str]) -> bool:
    """Whether the request opens by asking for the best plan of a kind: "best build for a stealth archer",
    "what's the best opening against e4", "the cheapest setup for a home lab" (not "the best way to boil an
    egg" or "the fastest route to the inn": a way or a route is a lookup)."""
    at = 0
    while at < len(lead) and lead[at] in _SUPERLATIVE_OPENERS:
        at += 1
    return at + 1 < len(lead) and lead[at] in SUPERLATIVES and lead[at + 1] in _STRATEGIC_TARGETS
