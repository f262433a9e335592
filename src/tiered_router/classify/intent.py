"""What the request asks: intent phrases anywhere, how it opens, and whether it is a mechanical edit of
content it supplies. Read once into an ``Ask`` (``read_ask``); ``add_intent`` and ``closed_form`` turn it
into logit terms, and the length and structure signals read it too (supplied content is context, not
complexity).

Why the opening matters more than phrases further on: the first verb or question word says what is asked
("Why did Rome fall?", "Prove that ...", "Sort these names: ..."); a phrase further on may belong to the
content ("... and the colour of the curtains"). Why a short question can be hard: "Why did Rome fall?"
and "Is P equal to NP? Argue." ask for an argued explanation in four words, so a causal, mechanism or
judgement question and a reasoning imperative weigh like a planning verb, whatever the length. Why a long
request can be easy: a list of names to sort or a paragraph to put in the past tense is material to
transform, and its commas are items, not constraints.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .lexicon import (
    ACTION_LEAD,
    CAUSAL_AFTER_WHAT,
    COMPARATIVES,
    DELIVERABLES,
    GENERIC_LEAD,
    HEAVY_NOUN,
    HOW_LOOKUP,
    HOW_TO_SUBJECTS,
    HOW_VERBS,
    LENGTH_UNITS,
    LONG_LENGTH,
    LONGFORM_PAIRS,
    LONGFORM_WORDS,
    LOOKUP_LEAD,
    MEDIUM_LEAD,
    PLAN_PAIRS,
    PLAN_VERBS,
    PLAN_WORDS,
    PROVE_PAIRS,
    PROVE_WORDS,
    PUT_TOGETHER_OBJECTS,
    REASON_VERBS,
    STRONG_LEAD,
    TRANSFORM_LEAD,
    WALK_AS_NOUN,
    WALK_THROUGH,
    WHY_PAIRS,
    WRITE_VERBS,
)
from .readings import (
    DETERMINERS,
    asks_brief,
    asks_cause_tersely,
    asks_for_ideas,
    asks_next_step,
    asks_question,
    asks_to_win,
    delicate_ask,
    embedded_request,
    final_lookup_question,
    imperative,
    noun_first,
    on_data,
    superlative_plan,
    weighs,
    weighs_alternatives,
    whether_should,
    why_interjection,
)
from .supplied import NOT_MECHANICAL, code_or_math, layout_edit, supplied_content
from .text import NARRATORS, Text, narrated_move, read_text

__all__ = ["SUPPLIED_WEIGHT", "Ask", "add_intent", "closed_form", "read_ask"]

_LENGTH_REQUIREMENT_RE = re.compile(
    r"(under|below|at\s+most|no\s+more\s+than|fewer\s+than|less\s+than|max(?:imum)?|up\s+to|within)?\s*"
    r"(\d[\d,]*)[\s-]*(words?|pages?|paragraphs?|sections?|slides?)\b"
)

_YES_NO = frozenset({"is", "are", "was", "were", "does", "do", "did", "can", "could", "would", "will"})
_CHOICE_LEADS = _YES_NO | {"should"}
_HOW_NOT_LOOKUP_RE = re.compile(r"\bhow\s+(?!many|much|long|old|far|tall|big|large|often|fast|high|deep|wide|heavy)")
_HOW_AUX = frozenset({"does", "do", "did"})
_MODALS = frozenset({"would", "should", "could", "might"})
# Asking for advice or a hypothetical anywhere: "where would you start", "what should we cut", "how might I",
# "where should a beginner start".
# Also advice asked as what would remedy a problem: "what changes would fix that?". One regex, one pass.
_ADVICE_RE = re.compile(
    r"\b(?:(?:how|what|where|which|when|who)\s+(?:would|should|could|might)\s+(?:you|i|we|one|they|he|she|people"
    r"|someone|somebody|anyone|everyone|(?:a|an|the|my|our|their|his|her)\s+[a-z]+)"
    r"|(?:would|should|could|might)\s+(?:best\s+)?(?:fix|help|solve|improve|counter|prevent))\b"
)
# A plan asked for as what something is turned into: "turn this goal into a quarterly plan".
_INTO_DELIVERABLE_RE = re.compile(
    r"\b(?:into|as)\s+(?:a|an)\s+(?:[a-z-]+\s+){0,2}(?:plan|strategy|roadmap|proposal|itinerary|budget|curriculum"
    r"|policy|schedule|argument|essay)\b"
)
# Verbs that operate on an expression or values written right after them ("Evaluate -2(x - 3) for x = 2",
# "compare 0.5 and 0.45"): arithmetic, not an evaluation or a comparison of ideas.
_OPERATE_VERBS = frozenset({"evaluate", "compare", "compute", "calculate", "simplify", "expand", "multiply",
                            "divide", "round", "convert"})
# Asking for an argued position: "make a case for ...", "take a side".
_MAKE_A_CASE_RE = re.compile(r"\b(?:make|build|put|present)\s+(?:me\s+|us\s+)?(?:a|the|your)\s+case\b")
_TAKE_A_SIDE_RE = re.compile(r"\b(?:take|pick|choose)\s+(?:a\s+|one\s+)?sides?\b")
# Asking for the answer to be argued: "back up your answer", "support your claim", "justify each choice".
_BACK_UP_RE = re.compile(
    r"\b(?:back\s+up|support|defend|justify|argue\s+for)\s+(?:your|the|this|that|each|every|my)\s+"
    r"(?:answers?|claims?|positions?|views?|choices?|reasoning|conclusions?|arguments?|opinions?|picks?|verdict)\b"
)
# Questions whose answer is a list of considerations, not a value: "what are the trade-offs of ...".
_NOT_A_VALUE = frozenset({"tradeoffs", "trade-offs", "pros", "cons", "implications", "consequences", "risks",
                          "advantages", "disadvantages", "benefits", "drawbacks", "causes", "alternatives",
                          "lessons", "arguments"})
# The asker's situation first, then the request: "I'm a nurse and I need to convert ...".
_SELF_WORDS = frozenset({"i", "im", "ive", "id", "we", "were", "weve", "my", "our"})
_WH = frozenset({"what", "which", "how", "whats"})
_OPTIMAL_SUFFIXES = ("-efficient", "-effective", "-optimal")
# Verbs of overcoming in a how-to question: "how do we beat the lich king without fire resistance?" asks
# for a plan, "how do I get the length of a list?" for a fact.
_GOAL_VERBS = frozenset({"beat", "defeat", "win", "survive", "counter", "overcome", "outsmart", "outmanoeuvre",
                         "outmaneuver", "escape", "afford", "conquer", "capture", "persuade", "convince"})
# Planning verbs made of two words, as the request's verb: "work out", "figure out", "map out".
_PLANNING_PHRASAL = frozenset({("work", "out"), ("figure", "out"), ("map", "out"), ("lay", "out"),
                               ("sort", "out"), ("think", "through"), ("come", "up")})
_BLOCK_MIN_CHARS = 150  # a block of supplied content before its instruction is at least this long
_PARAGRAPH_WORDS = 30  # ... and the instruction after it at most this many words
# Puzzles of who lies: "who's telling the truth?", "which of them is lying?". (An optimum to find, "fewest
# weighings to find the fake coin", was tried too: on MBPP "the minimum number of jumps to reach the end" is a
# routine function to write, and it cost 0.005 APGR there, so it is not read.)
_PUZZLE_WORDS = frozenset({"truth", "lying", "liar", "liars"})
_PUZZLE_RE = re.compile(
    r"\b(?:who|which\s+of\s+them)(?:'?s|\s+is|\s+are)\s+(?:telling\s+the\s+truth|lying|the\s+liars?)\b"
)
_HOW_EMBEDDED_STOP = frozenset({"to", "about", "come", "so", "is", "are", "was", "were", "do", "does", "did", "can",
                                "will", "would", "should", "could", "might", "many", "much", "long", "old", "far",
                                "tall", "big", "large", "often", "fast", "high", "deep", "wide", "heavy"})
# A sentence of its own opening with a reasoning verb: the request's verb, like a leading one.
_REASON_CLAUSES = frozenset(("|", v) for v in REASON_VERBS)
_OPEN_LEAD_WEIGHT = 1.4  # a question or reasoning imperative that asks for an argued answer
SUPPLIED_WEIGHT = 0.25  # how much supplied content counts towards length, relative to the instruction
# A demand for a one-word or one-sentence answer withdraws the argued answer an open question asks for.
_BRIEF_WEIGHT = _OPEN_LEAD_WEIGHT


class Ask(NamedTuple):
    """What the request asks. Counts of intent phrases by family (``n_judge``: a judgement question); how it
    opens (``lead``: "strong", "open", "task", "action", "lookup" or "", and the reason it is named by);
    whether an argued answer is asked for (``open_intent``); a mechanical edit of supplied content
    (``edit``) or a scene followed by a simple action (``scene``), with the characters of that supplied
    content or scene (``supplied``); how short the instruction is (``shortness``: 1 up to 6 words, 0 from
    about 28), which scales the action and lookup discounts."""

    n_plan: int
    n_why: int
    n_prove: int
    n_long: int
    n_judge: int
    lead: str
    lead_reason: str
    open_intent: bool
    edit: bool
    scene: bool
    supplied: int
    shortness: float
    head: frozenset[str]  # the instruction's words (all the words unless supplied content was split off)
    brief: bool = False  # the answer asked for is a word, a value or one sentence
    in_data: bool = False  # a value looked up in supplied data: the content signals read the instruction only

    @property
    def material(self) -> bool:
        """Whether what the request supplies is material (to edit, or data a value is read from), so that the
        vocabulary and content signals read the instruction only."""
        return self.edit or self.in_data


def read_ask(t: Text) -> Ask:
    """The ``Ask`` of a request."""
    return _instruction_after_block(t) or _read_ask(t)


def _instruction_after_block(t: Text) -> Ask | None:
    """A block of supplied content, a blank line, then a short instruction about it: "<the CSV>\n\nturn this
    into a markdown table", "<a contract clause>\n\nwhat's the notice period in that clause?". The
    instruction is read on its own and the block counts as supplied content: a mechanical edit of it, or a
    question answered by reading it (`context-then-question`). Not for code asked about (a bug hunt), nor
    for lettered options or worked examples (their own readings)."""
    lowered = t.lowered
    cut = lowered.rfind("\n\n")
    if cut < _BLOCK_MIN_CHARS or t.options or t.few_shot:
        return None
    tail = lowered[cut:].strip()
    if not tail or 2 * len(tail) > cut:
        return None
    inner_text = read_text(tail)
    if inner_text.n_words > _PARAGRAPH_WORDS:
        return None
    inner = _read_ask(inner_text)
    if inner.n_plan or inner.n_prove or inner.n_long or inner.lead == "strong":
        return None
    code = code_or_math(lowered[:cut])
    if inner.lead == "action" and not inner.open_intent and inner.head.isdisjoint(NOT_MECHANICAL) and (
            not code or layout_edit(inner_text.first, inner.head)):
        return inner._replace(edit=True, scene=False, supplied=cut)
    if not code and (tail.endswith("?") or inner.lead in ("lookup", "open")) and inner.head.isdisjoint(HEAVY_NOUN):
        return inner._replace(lead="lookup", lead_reason="lookup", open_intent=False, n_why=0, n_judge=0,
                              edit=False, scene=True, supplied=cut)
    return None


def _read_ask(t: Text) -> Ask:
    wset, pairs, lowered, first, second = t.wset, t.pairs, t.lowered, t.first, t.second
    lead = t.lead
    third = lead[2] if len(lead) > 2 else ""

    # ---- intent phrases anywhere in the request ----
    n_plan = len(pairs & PLAN_PAIRS) + len(wset & PLAN_WORDS)
    if n_plan and first == "how" and second in HOW_LOOKUP and "should" in lead[2:4]:
        n_plan -= 1  # "how long should I boil an egg?", "how many minutes should I ...": a quantity, not advice
    if ("put", "together") in pairs and not pairs.isdisjoint(PUT_TOGETHER_OBJECTS):
        n_plan += 1
    if not pairs.isdisjoint(WALK_THROUGH) and pairs.isdisjoint(WALK_AS_NOUN):
        n_plan += 1
    if "or" in wset and not wset.isdisjoint(COMPARATIVES) and ("which" in wset or first in _CHOICE_LEADS):
        n_plan += 1  # a choice between options: "which is cheaper, X or Y?", "is it better to X or Y?"
    n_why = len(pairs & WHY_PAIRS) + ("why" in wset and (first != "why" or not why_interjection(second, pairs)))
    if "how" in wset and not wset.isdisjoint(HOW_VERBS) and _HOW_NOT_LOOKUP_RE.search(lowered):
        n_why += 1  # "how the immune system works", not "how much does she earn if she works"
    if not wset.isdisjoint(_MODALS) and _ADVICE_RE.search(lowered):
        n_plan += 1  # "where would you start", "what changes to the formation would fix that?"
    if (("make", "sense") in pairs or ("makes", "sense") in pairs) and not wset.isdisjoint(_WH):
        n_plan += 1  # "what order and amounts make sense?"
    if "most" in wset and any(w.endswith(_OPTIMAL_SUFFIXES) for w in wset):
        n_plan += 1  # "the most gold-efficient order"
    n_prove = len(pairs & PROVE_PAIRS) + len(wset & PROVE_WORDS)
    argued = ("case" in wset and (("case", "for") in pairs or ("case", "against") in pairs
                                  or bool(_MAKE_A_CASE_RE.search(lowered)))) or (
        ("side" in wset or "sides" in wset) and bool(_TAKE_A_SIDE_RE.search(lowered))) or (
        "your" in wset and bool(_BACK_UP_RE.search(lowered)))
    n_prove += argued
    if not wset.isdisjoint(_PUZZLE_WORDS) and _PUZZLE_RE.search(lowered):
        n_prove += 1  # "Alice says Bob is lying. … Who's telling the truth?"
    n_long = 0
    if not wset.isdisjoint(WRITE_VERBS):  # asked for ("write an essay"), not mentioned ("the article says")
        n_long = len(pairs & LONGFORM_PAIRS) + len(wset & LONGFORM_WORDS)
        if not wset.isdisjoint(LENGTH_UNITS) or "-word" in lowered or "-page" in lowered:
            for cap, number, unit in _LENGTH_REQUIREMENT_RE.findall(lowered):
                # "a 50-word summary" is short; "an 800-word op-ed" or "5 pages" is a long deliverable; "under 20
                # words" is a cap on an answer, not a deliverable.
                long = int(number.replace(",", "")[:7]) >= LONG_LENGTH.get(unit.rstrip("s"), 10**9)
                n_long += 2 if long else 0 if cap else 1

    # ---- questions that ask for a cause, a mechanism or a judgement, however short ----
    n_judge = 0
    open_lead = ""
    if (first == "why" and not why_interjection(second, pairs)) or (
            first == "what" and second in CAUSAL_AFTER_WHAT and third != "up") or (
            first in ("what", "whats") and "really" in wset) or (
            first == "where" and ("come", "from") in pairs and second in _HOW_AUX):
        # "What keeps inflation high?", "What is entropy, really?", "Where does Earth's magnetic field come from?"
        open_lead = "explain-why"
        n_why = max(n_why, 1)  # "what made the Dust Bowl so bad?" is a why-question, like "why was it so bad?"
    elif first == "how" and (second == "come" or ((second in _HOW_AUX or second == "can") and third
                                                   and third not in HOW_TO_SUBJECTS)):
        open_lead = "explain-why"  # "how do vaccines teach ...", not "how do you say ..."
        n_why += 1
    elif first == "how" and second in _HOW_AUX and third in HOW_TO_SUBJECTS and not wset.isdisjoint(_GOAL_VERBS):
        open_lead = "plan-request"  # "how do we beat the lich king without fire resistance?"
        n_plan += 1
    elif first == "how" and second in _MODALS:
        open_lead = "plan-request"  # "how could a town attract ...", "how would you build ..."
        n_plan += 1
    elif first == "how" and delicate_ask(lowered):
        open_lead = "plan-request"  # "how do I tell my cofounder I want out?"
        n_plan += 1
    elif second in ("me", "us") and third == "through":
        open_lead = "plan-request"  # "take me through", "walk us through"
        n_plan += 1
    elif asks_question(lowered, t.n_boundaries) and (first == "should" or (
            first in _YES_NO and weighs(wset, pairs))):
        open_lead = "judgement"  # "Should cities ban cars?", "Is it ethical to eat meat?"
        n_judge = 1
    elif superlative_plan(lead):
        open_lead = "plan-request"  # "Best build for a stealth archer?", "what's the best opening against e4?"
        n_plan += 1
    elif weighs_alternatives(lowered, first, wset, t.n_words) or whether_should(lowered):
        open_lead = "judgement"  # "Kafka or RabbitMQ for our order pipeline?", "tell me if I should lease or buy"
        n_judge = 1
    elif asks_for_ideas(lowered, wset) or asks_next_step(lowered, wset, pairs) or asks_to_win(lowered, wset, pairs):
        open_lead = "plan-request"  # "flaky test, only on CI — ideas?", "churn doubled. now what"
        n_plan += 1
    elif asks_cause_tersely(lowered, wset, t.n_words):
        open_lead = "explain-why"  # "Bronze Age collapse, 1177 BC — cause?", "Tides. Two a day. How?"
        n_why += 1
    elif first == "how" and second and second not in _HOW_EMBEDDED_STOP and third:
        open_lead = "explain-why"  # "how a mortgage offset saves interest", "(help me understand) how X works"
        n_why += 1
    any_phrase = bool(n_plan or n_why or n_prove or n_long or n_judge)

    # ---- how the request opens ----
    obj = [w for w in lead[1:5] if w not in DETERMINERS][:2]
    kind, reason = "", ""
    if open_lead:
        kind, reason = "open", open_lead
    elif (first in STRONG_LEAD or first in MEDIUM_LEAD) and not noun_first(lead):
        if on_data(lead) or (first in _OPERATE_VERBS and t.after_first and not t.after_first.isalpha()):
            kind, reason = "action", "action-verb"  # "compare these two numbers", "analyse the word 'x'"
        elif first in STRONG_LEAD:
            kind, reason = "strong", ("plan-request" if first in PLAN_VERBS else "analysis-request")
        elif not DELIVERABLES.isdisjoint(obj):
            kind, reason = "open", "plan-request"  # "create a plan", "draft a strategy"
        else:
            kind, reason = "task", "task-verb"
    elif (first, second) in _PLANNING_PHRASAL and not on_data(lead[1:]):
        kind, reason = "open", "plan-request"  # "work out stat priorities for a mage", "figure out how to ..."
    elif first in DELIVERABLES and second == "for" and ":" not in lowered[:60]:
        kind, reason = "open", "plan-request"  # "schema for a multi-tenant invoicing app": a deliverable, named
    elif (first, second) in PROVE_PAIRS:
        kind, reason = "open", "analysis-request"  # "show that ...", "show there are ..."
    elif (first in GENERIC_LEAD or first in ACTION_LEAD) and (
            not DELIVERABLES.isdisjoint(obj)
            or (not DELIVERABLES.isdisjoint(wset) and bool(_INTO_DELIVERABLE_RE.search(lowered)))):
        kind, reason = "open", "plan-request"  # "make a migration plan", "turn this goal into a plan"
    elif any_phrase:
        pass  # "put together", "what's the best way", "pick between": not a simple action or lookup
    elif first in GENERIC_LEAD and not wset.isdisjoint(HEAVY_NOUN):
        pass  # "give me the risks"
    elif first in ACTION_LEAD and HEAVY_NOUN.isdisjoint(obj):  # "fix this deadlock" is not a simple action
        kind, reason = "action", "action-verb"
    elif first in _SELF_WORDS and HEAVY_NOUN.isdisjoint(wset) and embedded_request(lowered) in TRANSFORM_LEAD:
        kind, reason = "action", "action-verb"  # "I'm a nurse and I need to convert ..."
    elif first in NARRATORS and "?" not in lowered and HEAVY_NOUN.isdisjoint(wset) and narrated_move(lowered):
        kind, reason = "action", "action-verb"  # "I climb the rope ladder up to the lookout platform"
    elif first in LOOKUP_LEAD and (first != "how" or second in HOW_LOOKUP):
        kind, reason = "lookup", "lookup"
    if kind in ("", "lookup", "task") and (argued or not pairs.isdisjoint(_REASON_CLAUSES)):
        kind, reason = "open", "analysis-request"  # "Is P equal to NP? Argue."; "... ? Make a case."
    open_intent = any_phrase or kind in ("strong", "open")

    # ---- content supplied to work on ----
    found = supplied_content(t, kind, reason, open_intent)
    kind, reason, n_head = found.kind, found.reason, found.n_head
    shortness = max(0.0, 1.0 - max(0, n_head - 6) / 22.0)  # 1 for short requests, 0 from ~28 words
    brief = asks_brief(wset, lowered)
    return Ask(n_plan, n_why, n_prove, n_long, n_judge, kind, reason, open_intent, found.edit, found.scene,
               found.supplied, shortness, found.head, brief, found.in_data)


def add_intent(ask: Ask, logit: float, reasons: list[str]) -> float:
    """The intent terms: phrases anywhere (``plan-request``, ``explain-why``, ``justify``, ``long-form``,
    ``judgement``), then the opening (a planning/analysis verb or an open question up; a task verb a little
    up; a simple action, a mechanical edit or a short lookup down)."""
    # (phrases found, weight of the first, weight of each further one up to two more, reason)
    for found, first, more, reason in ((ask.n_plan, 1.1, 0.3, "plan-request"), (ask.n_why, 0.9, 0.2, "explain-why"),
                                       (ask.n_prove, 0.9, 0.2, "justify"), (ask.n_long, 1.0, 0.3, "long-form")):
        if found:
            logit += first + more * min(found - 1, 2)
            reasons.append(reason)
    if ask.n_judge:
        logit += 0.9
    kind = ask.lead
    if kind == "strong":
        logit += 2.3
    elif kind == "open":
        logit += _OPEN_LEAD_WEIGHT
    elif kind == "task":
        logit += 0.8
    elif kind == "action":
        logit -= 1.1 * ask.shortness + 0.2
    elif kind == "lookup":
        logit -= 0.9 * ask.shortness + 0.1
    if ask.brief:
        logit -= _BRIEF_WEIGHT
        reasons.append("brief-answer")
    if ask.lead_reason:
        reasons.append(ask.lead_reason)
    if ask.edit:
        reasons.append("mechanical-edit")
    elif ask.scene:
        reasons.append("scene-then-action" if ask.lead == "action" else "context-then-question")
    return logit


def closed_form(t: Text, ask: Ask, logit: float, reasons: list[str]) -> float:
    """Options to pick from, or a final "how many / what is" question, and no open intent (``closed-form``).
    The answer is a value the quality gate can check (format, arithmetic), so starting low is cheap; being
    closed-form says nothing about difficulty."""
    if not ask.open_intent and (t.options or (t.wset.isdisjoint(_NOT_A_VALUE)
                                              and final_lookup_question(t.window, imperative(t.first)))):
        reasons.append("closed-form")
        return logit - 1.0
    return logit
