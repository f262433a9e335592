"""Heuristic tier classifier: which tier a task needs, decided in microseconds without a model call.

The classifier reads the task (a prompt string or an OpenAI-style messages list) and builds a
continuous complexity score in ``[0, 1]`` from general signals:

* **intent** - what is being asked. A leading imperative action ("walk", "grab", "open") or a short
  factual lookup ("what is", "who", "how many", "convert", "translate") pulls the score down; planning,
  design, proof, comparison, analysis, optimisation, debugging and explain-why requests push it up,
  most strongly when they open the request.
* **structure** - multi-step and constraint structure: chained instructions ("... and explain",
  "; consider"), lists, commas and semicolons, constraint words ("without", "before", "given", "each").
* **content** - numbers (quantities to combine), code (fences, keywords, identifiers, technical
  vocabulary) and maths (operators, exponents, mathematical vocabulary).
* **closed-form** - lettered options are cut from the question (they are answers to pick from, not
  steps or constraints) and count only towards length; a question that asks for a value (options, or a
  final "how many / what is" question) with no planning/explaining/proving intent gets a discount: its
  answer can be checked by the quality gate, so starting low is cheap. Few-shot examples are context.
* **length** - log-scaled length of the whole request.
* **conversation** - size of the system prompt, number of turns, prior assistant turns.

Each signal adds to a logit; the score is ``logistic(_SCORE_SLOPE * logit)``, continuous, so that
routing thresholds can be swept. ``Thresholds`` turns it into a tier; the cloud threshold defaults to an
unreachable value since the cloud tier is reached only by explicit override (``context["tier"]``) or by
failure upstream.

Speed: the text is lower-cased and split into words once (``str.translate`` + ``str.split``, both C
loops); almost every signal is then a set intersection on the words or on adjacent word pairs, or a
``str.count``. The few regexes are anchored or start with a literal, and everything lexical looks at a
bounded window (first 4 kB + last 2 kB) while the length term counts the whole text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise, product
from typing import Any, Protocol

from tiered_router.config import Settings
from tiered_router.messages import as_messages, content_text
from tiered_router.options import RouteOptions
from tiered_router.tiers import Tier

__all__ = ["Classifier", "Decision", "HeuristicClassifier", "Thresholds", "classify", "classify_tier",
           "decide_with", "forced_decision"]


@dataclass(frozen=True)
class Decision:
    """The classifier's answer: the tier, the complexity score in [0, 1], and the signals that fired."""

    tier: Tier
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Thresholds:
    """Score at/above which tier 2 (``heavy``) or tier 3 (``cloud``) is chosen.

    ``cloud`` defaults to 1.01, which no score reaches: the cloud tier is only used on an explicit
    override or when the lower tiers fail.
    """

    heavy: float = 0.5
    cloud: float = 1.01


_DEFAULT_THRESHOLDS = Thresholds()

# Lexical signals only look at a bounded window of the request; the length term counts the whole text.
_HEAD_CHARS = 4096
_TAIL_CHARS = 2048
# The logit starts at _BIAS; score = logistic(_SCORE_SLOPE * logit), so a logit of 0 is a score of 0.5.
# The slope keeps long, signal-rich prompts from all saturating at 1.0.
_BIAS = -2.2
_SCORE_SLOPE = 0.6
_TIE = 0.01


def _lex(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --------------------------------------------------------------------------------------------------
# Lexicons: lower-case words, apostrophes removed ("what's" -> "whats").
# --------------------------------------------------------------------------------------------------

# Verbs that, opening a request, ask for planning / design / reasoning work.
_STRONG_LEAD = _lex(
    """
    plan design devise architect strategize strategise prove derive compare contrast analyze analyse
    evaluate assess critique critically justify optimize optimise debug diagnose troubleshoot investigate
    refactor restructure forecast weigh propose formulate reconcile prioritize prioritise brainstorm
    synthesize synthesise appraise benchmark model discuss argue
    """
)
_PLAN_VERBS = _lex("plan design devise architect strategize strategise")
# Verbs that open substantive (but not necessarily hard) work.
_MEDIUM_LEAD = _lex(
    """
    implement solve explain outline draft estimate recommend predict develop organize organise decide
    describe sketch build create construct calculate compute determine interpret review research
    structure schedule reason elaborate prepare compose tackle choose select identify find rank
    suggest teach
    """
)
# Imperative physical/game actions and simple edits: a short request opening with one is tier 1.
_ACTION_LEAD = _lex(
    """
    walk go head run grab take pick open close shut drink eat mount dismount light knock wave sell buy
    ask talk say tell look examine inspect drop equip unequip wear put sheathe unsheathe draw attack
    strike jump climb sit rest sleep wait enter leave exit use step turn push pull swim follow greet
    feed pet hide sneak search listen shout call unlock lock throw cook fish ride cross return move
    stand kneel pray hug smile nod dance sing whistle flee dodge block cast loot trade craft mine chop
    dig extinguish douse read rename translate convert spell uppercase lowercase capitalize capitalise
    define name list count rephrase reword paraphrase fix correct thank remind make rewrite shorten
    repeat print show give play pause stop start save load check hand pay heal bow kick punch fill
    swap add
    """
)
# Question openers that usually mean a factual lookup ("how" only with _HOW_LOOKUP after it).
_LOOKUP_LEAD = _lex(
    "what whats who whos whom whose when where wheres which is are was were does do did can could will has have how"
)
_HOW_LOOKUP = _lex("many much old far long tall big large often")
# A final question that asks for a value ("what is the total", "which of these"), not for advice or a
# hypothetical ("what should", "what would", "what if").
_VALUE_CLAUSE_RE = re.compile(
    r"(?:^|[,;:]\s*|\b(?:then|and|so)\s+)(?:how\s+(?:many|much|long|old|far|fast|tall|big|large|often|high|deep|wide|"
    r"heavy)\b|(?:what|which|who|"
    r"when|where)\b(?!'?s?\s+(?:should|would|could|might|if|happens?|do|does|can|causes?)\b))"
)
_LAST_SENTENCE_RE = re.compile(r"(?:^|[.!?]\s+|\n\s*)([^.!?\n]*[.?!]?)$")
# Generic output verbs: neutral, rather than a simple action, when they ask for a substantial deliverable.
_GENERIC_LEAD = _lex("make give put show list tell get write")

# Verbs that add a further requirement when chained after the main instruction.
_FOLLOW_VERBS = _lex(
    """
    flag highlight cite list give provide include note point mark show suggest summarize summarise
    rewrite fix test verify check recommend explain justify compare estimate predict identify discuss
    """
)
# Reasoning-intent words that count anywhere in the request.
_STRONG_ANY = _lex(
    """
    plan design devise strategize strategise prove derive compare contrast analyze analyse evaluate
    assess critique critically justify optimize optimise debug diagnose troubleshoot investigate refactor
    forecast predict recommend weigh propose formulate prioritize prioritise tradeoff tradeoffs
    trade-off trade-offs optimal optimally optimum efficient efficiently systematic systematically
    rigorous rigorously comprehensive thorough thoroughly detailed step-by-step ethical ethics
    """
)
# Nouns of substantial deliverables and of hard subject matter.
_HEAVY_NOUN = _lex(
    """
    plan plans strategy strategies roadmap architecture algorithm algorithms schema proof proofs
    complexity essay report proposal curriculum itinerary budget analysis framework pipeline migration
    migrations approach approaches progression investigation contingency contingencies metrics
    scalability concurrency consistency latency throughput invariant theorem lemma distribution
    equation equations formula variance probability derivative integral matrix recursion recursive
    dynamic asymptotic policy negotiation risks consequences implications alliances evidence argument
    arguments hypothesis correctness tradeoffs trade-offs pros cons alternatives decision method
    methodology consensus protocol fault tolerance indexing sharding caching invalidation deadlock race
    optimization optimisation forecasting model models regression inference causes cause justification
    rationale reasoning verdict assumptions bottleneck bottlenecks failure failures scheduling
    allocation design designs system systems infrastructure risk options
    """
)
# Constraint / requirement structure words.
_CONSTRAINT = _lex(
    """
    without before after while given consider considering including include covering across each
    every both versus vs unless only least most under within until whereas assuming suppose if such
    avoid avoids avoiding ensure ensuring minimize minimise maximize maximise balance balancing
    constraint constraints requirement requirements limit limited budget deadline tradeoff must should
    """
)
# Vocabulary of programming and systems.
_CODE_WORDS = _lex(
    """
    python javascript typescript java rust golang c++ c# sql bash regex api apis graphql json yaml
    http https function functions class classes method methods variable variables loop loops array
    arrays dict hashmap hash trie graph graphs node nodes stack queue heap pointer pointers thread
    threads async await mutex locking database databases query queries index indexes server servers
    client deploy deployment docker kubernetes microservice microservices monolith cache compile
    compiler runtime bug bugs exception generator generators iterator iterators recursion lambda
    closure script code repo git endpoint endpoints backend frontend latency p99 memory cpu kernel
    module library framework unittest programming
    """
)
_CODE_KEYWORDS = _lex("def return import self print elif const var let fn struct impl println printf")
# (byte that must be present, token to count)
_CODE_SYMBOLS = (
    (b"`", b"```"),
    (b"{", b"{"),
    (b"=", b"=="),
    (b"=", b"!="),
    (b">", b"->"),
    (b">", b"=>"),
    (b":", b"::"),
    (b";", b"();"),
)
_MATH_WORDS = _lex(
    """
    prove proof derive equation equations integral derivative matrix matrices polynomial theorem lemma
    probability variance expectation binomial prime primes factor factoring factorial logarithm
    exponent sum series sequence limit converge converges modulo vector vectors eigenvalue geometry
    triangle angle area volume radius ratio percent percentage average mean median irrational rational
    inequality function solve roots root quadratic cubic algebra calculus squared cubed
    """
)
_MATH_SYMBOLS = (
    (b"^", b"^"),
    (b"*", b"**"),
    (b"=", b" = "),
    (b"+", b" + "),
    (b"*", b" * "),
    (b"/", b" / "),
    (b"\\", b"\\frac"),
)
_MATH_UNICODE = "√π∑∫≤≥≠×÷²³"

# Word pairs (adjacent words) that signal intent. "|" stands for a sentence or clause boundary.
_SUPERLATIVES = _lex(
    "best fastest quickest cheapest easiest safest smartest shortest simplest strongest cleanest wisest"
)
_PLAN_TARGETS = _lex(
    "way ways order sequence strategy approach plan route path build moves move method setup "
    "combination allocation option options choice ending endings outcome outcomes"
)
_PROBLEM_VERBS = _lex(
    "fix solve debug prevent avoid stop handle improve optimize optimise speed scale reduce increase "
    "maximize maximise minimize minimise choose decide balance approach structure"
)
_PLAN_PAIRS = frozenset(
    {(v, "out") for v in _lex("work figure map lay think sort plan")}
    | {(v, "through") for v in _lex("walk talk think reason work me us")}
    | {("step", "by"), ("come", "up"), ("put", "together"), ("how", "should"), ("how", "would")}
    | {("how", "could")}
    | set(product(_SUPERLATIVES, _PLAN_TARGETS))
    | set(product(("most", "least"), _lex("efficient effective optimal reliable robust profitable")))
    | set(product(("i", "we"), _PROBLEM_VERBS))
    | {("me", v) for v in _lex("decide choose plan figure understand design prepare")}
    | {("what", "should"), ("should", "i"), ("should", "we"), ("should", "my"), ("should", "our")}
)
_PLAN_WORDS = _lex("step-by-step")
_WHY_PAIRS = frozenset(
    {("explain", "how"), ("explain", "why"), ("what", "would"), ("what", "will"), ("what", "might")}
    | {("what", "if"), ("root", "cause"), ("whats", "going"), ("whats", "wrong"), ("whats", "causing")}
    | {("is", "causing"), ("are", "causing"), ("difference", "between"), ("differences", "between")}
    | {("down", "how"), ("down", "why"), ("down", "what")}
)
_HOW_VERBS = _lex(
    "work works solve solves handle handles prevent prevents achieve achieves guarantee guarantees "
    "ensure ensures differ differs scale scales affect affects influence influences shaped changed evolved "
    "grow grows spread spreads interact interacts relate relates compound compounds"
)
_COMPARATIVES = _lex(
    "better worse cheaper faster safer easier harder stronger smarter riskier healthier costlier greener"
)
_PERSONAL = _lex("i im ive id my we were our us")
_PROVE_PAIRS = frozenset(
    {("show", "that"), ("prove", "that"), ("show", "your"), ("with", "reasons"), ("explain", "your")}
    | {("explain", "each"), ("explain", "every"), ("pros", "and"), ("and", "against"), ("or", "against")}
    | {("in", "detail"), ("in", "depth"), ("your", "reasoning"), ("the", "math"), ("your", "work")}
)
_LONGFORM_WORDS = _lex("essay essays article whitepaper thesis dissertation")
_PROVE_WORDS = _lex("justify derivation derivations")
_LONGFORM_PAIRS = frozenset(
    {("business", "plan"), ("lesson", "plan"), ("literature", "review"), ("case", "study")}
    | {("white", "paper")}
    | set(
        product(
            _lex("detailed full comprehensive formal technical in-depth"),
            _lex("report guide tutorial proposal review breakdown analysis overview"),
        )
    )
)
_LENGTH_UNITS = _lex("word words page pages paragraph paragraphs section sections slide slides")
_CHAIN_PAIRS = frozenset(product(("and", "then", "also", "|"), _FOLLOW_VERBS | _STRONG_LEAD | _MEDIUM_LEAD))

# --------------------------------------------------------------------------------------------------
# Normalisation table and the few regexes (anchored, or starting with a literal).
# --------------------------------------------------------------------------------------------------

# Word splitting works on ASCII bytes (bytes.translate is a C table lookup): non-ASCII characters are
# dropped, punctuation becomes a space, sentence/clause punctuation becomes the boundary token "|",
# apostrophes are deleted ("what's" -> "whats").
_SPACE_PUNCT = b'"#$%&()*+,/:<=>@[\\]^_`{}~\r\t'
_BOUNDARY_PUNCT = b".!?;\n"
_BYTE_TABLE = bytes.maketrans(_SPACE_PUNCT + _BOUNDARY_PUNCT, b" " * len(_SPACE_PUNCT) + b"|" * len(_BOUNDARY_PUNCT))
# Bytes that plain prose is made of; what is left after deleting them is the (usually empty) set of
# symbols worth counting, so symbol counts are skipped for prose.
_PROSE_BYTES = bytes(b for b in range(256) if chr(b).isalnum() or chr(b) in " \t\n\r.,'\"?!%$&@#")
_DIGIT_TABLE = bytes.maketrans(b"123456789", b"000000000")
_POLITE_PREFIX_RE = re.compile(
    r"\s*(?:(?:please|pls|kindly|hey|hi|ok|okay|now|then|so|and)[\s,!.]+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|need|would\s+like)\s+(?:you\s+)?to\s+"
    r"|help\s+me\s+(?:to\s+)?|let'?s\s+|i'?d\s+like\s+(?:you\s+)?to\s+)?"
)
_FIRST_WORDS_RE = re.compile(r"[a-z][a-z'-]*")
_LENGTH_REQUIREMENT_RE = re.compile(r"(\d[\d,]*)[\s-]*(words?|pages?|paragraphs?|sections?|slides?)\b")
# Stated lengths from which a deliverable is long.
_LONG_LENGTH = {"word": 300, "page": 2, "paragraph": 4, "section": 3, "slide": 5}
_FEWSHOT_ANSWER_RE = re.compile(
    r"^[ \t]*(?:answer|a|output|label)[ \t]*:[ \t]*(?:\S[^\n]*|\n[ \t]*\S[^\n]{0,80})$",
    re.MULTILINE | re.IGNORECASE,
)
_NUMBERED_LINE_RE = re.compile(r"\n[ \t]*(?:\d{1,2}|[a-e])[.)][ \t]")
_OPTION_A_RE = re.compile(r"\n[ \t]*[(\[]?[Aa][.):\]][ \t]")
_OPTION_LINE_RE = re.compile(r"[ \t]*[(\[]?[A-Ja-j][.):\]][ \t][^\n]*")
_OPTION_WORD_RE = re.compile(r"[a-z][a-z'-]*|\d+(?:[.,]\d+)?")
_OPTION_SIMILARITY_WEIGHT = 5.0
_ANSWER_CUE_RE = re.compile(r"\n[ \t]*(?:answer|a|solution)[ \t]*:[ \t]*$", re.IGNORECASE)


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


def _option_similarity(options: list[str]) -> float:
    """Mean word overlap (Jaccard) between pairs of options, letters left out. Options that resemble each
    other ("k = 1 and n = 0" / "k = n = 1") must be told apart on a detail, which a small model gets wrong
    more often than a choice between unrelated answers (docs/routing-eval.md)."""
    sets = [set(_OPTION_WORD_RE.findall("".join(o.lower().split(None, 1)[1:]))) for o in options]
    total, pairs = 0.0, 0
    for i, a in enumerate(sets):
        for b in sets[i + 1:]:
            union = len(a | b)
            if union:
                total += len(a & b) / union
                pairs += 1
    return total / pairs if pairs else 0.0


def _final_lookup_question(window: str) -> bool:
    """Whether the request ends by asking for a value: a last sentence with a "how many / how much / what /
    which / who / when / where" clause ("If he has 24 feet to dig, how long will it take?"), or one that
    opens with "Calculate / Compute / Find / Determine"."""
    t = window.rstrip()
    if t.endswith(")") and "(" in t[-200:]:
        t = t[: t.rindex("(")].rstrip()  # "How many ...? (Remember there are 31 days in March.)"
    if not t or t[-1] not in "?.":
        return False
    m = _LAST_SENTENCE_RE.search(t[-400:])
    sentence = (m.group(1) if m else t[-400:]).lower()
    return bool(_VALUE_CLAUSE_RE.search(sentence))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _lead_words(lowered: str) -> list[str]:
    """The first words of the request, after polite framing ("please", "can you", "help me to")."""
    m = _POLITE_PREFIX_RE.match(lowered)
    start = m.end() if m else 0
    return [w.replace("'", "") for w in _FIRST_WORDS_RE.findall(lowered, start, start + 80)[:2]]


def _conversation(messages: Sequence[Mapping[str, Any]]) -> tuple[str, int, int, int]:
    """(last user text, system prompt chars, user turns, assistant turns)."""
    system_chars = 0
    users = 0
    assistants = 0
    last_user: Any = None
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            system_chars += len(content_text(m.get("content")))
        elif role == "user":
            users += 1
            last_user = m.get("content")
        elif role == "assistant":
            assistants += 1
    if last_user is None:
        text = content_text(messages[-1].get("content")) if messages else ""
    else:
        text = content_text(last_user)
    return text, system_chars, users, assistants


def _score(text: str, system_chars: int, users: int, assistants: int) -> tuple[float, list[str]]:
    """The complexity score in (0, 1) of the request ``text`` and the names of the signals that fired."""
    reasons: list[str] = []
    n_chars = len(text)
    window = text
    if n_chars > _HEAD_CHARS + _TAIL_CHARS:
        window = text[:_HEAD_CHARS] + "\n" + text[-_TAIL_CHARS:]
    raw = _BIAS
    has_options = False

    # ---- few-shot prompts: the worked examples are context, the request is the last block ----
    if "nswer:" in window or "NSWER:" in window or "\nA:" in window or "utput:" in window or "abel:" in window:
        shots = 0
        last_end = 0
        for m in _FEWSHOT_ANSWER_RE.finditer(window):
            shots += 1
            last_end = m.end()
        if shots >= 2:
            window = window[last_end:].strip()
            n_chars = len(window)
            reasons.append("few-shot")

    # ---- closed-form questions: lettered options are answers to pick from, not steps or constraints;
    # an answer cue ("Answer:") or an output instruction after them is not part of the task ----
    if "\n" in window:
        stem, options = _split_options(window)
        if options:
            reasons.append("multiple-choice")
            has_options = True
            window = stem.strip()
            n_chars = len(window) + sum(len(o) + 1 for o in options) - 1
            # Centred on a typical overlap (about 0.2), so it reorders multiple-choice questions among
            # themselves rather than moving them all up or down.
            closeness = _option_similarity(options) - 0.2
            raw += _OPTION_SIMILARITY_WEIGHT * closeness
            if closeness > 0.15:
                reasons.append("close-options")
        else:
            cue = _ANSWER_CUE_RE.search(window)
            if cue:
                window = window[: cue.start()].strip()
                n_chars = len(window)

    lowered = window.lower()
    ascii_text = lowered.encode("ascii", "ignore")
    spaced = b" " + ascii_text.translate(_BYTE_TABLE, b"'").replace(b"|", b" | ") + b" "
    normalised = spaced.decode("ascii")  # " words | separated by single-character gaps "
    words = normalised.split()
    wset = set(words)
    pairs = set(pairwise(words))
    n_boundaries = normalised.count(" | ")
    n_words = len(words) - n_boundaries

    # ---- length: log-scaled, continuous, counts the whole request ----
    raw += 0.75 * math.log2(1.0 + n_chars / 40.0)
    if n_words >= 60 or n_chars > 400:
        reasons.append("long-prompt")
    # Tie-breaker: mean word length (a readability proxy) separates requests of equal length. Kept tiny:
    # on benchmark questions longer words mean jargon, not difficulty (it anti-correlates on ARC and MMLU).
    if n_words:
        raw += _TIE * (min(len(ascii_text) / n_words, 12.0) - 5.0)

    # ---- intent phrases anywhere in the request ----
    n_plan = len(pairs & _PLAN_PAIRS) + len(wset & _PLAN_WORDS)
    if "or" in wset and not wset.isdisjoint(_COMPARATIVES):
        n_plan += 1  # a choice between options: "which is cheaper, X or Y?"
    n_why = len(pairs & _WHY_PAIRS) + ("why" in wset) + ("how" in wset and not wset.isdisjoint(_HOW_VERBS))
    n_prove = len(pairs & _PROVE_PAIRS) + len(wset & _PROVE_WORDS)
    n_long = len(pairs & _LONGFORM_PAIRS) + len(wset & _LONGFORM_WORDS)
    if not wset.isdisjoint(_LENGTH_UNITS) or "-word" in lowered or "-page" in lowered:
        for number, unit in _LENGTH_REQUIREMENT_RE.findall(lowered):
            # "a 50-word summary" is short; "an 800-word op-ed" or "5 pages" is a long deliverable.
            n_long += 2 if int(number.replace(",", "")[:7]) >= _LONG_LENGTH.get(unit.rstrip("s"), 10**9) else 1
    if n_plan:
        raw += 1.1 + 0.3 * min(n_plan - 1, 2)
        reasons.append("plan-request")
    if n_why:
        raw += 0.9 + 0.2 * min(n_why - 1, 2)
        reasons.append("explain-why")
    if n_prove:
        raw += 0.9 + 0.2 * min(n_prove - 1, 2)
        reasons.append("justify")
    if n_long:
        raw += 1.0 + 0.3 * min(n_long - 1, 2)
        reasons.append("long-form")

    # ---- intent: how the request opens ----
    lead = _lead_words(lowered)
    first = lead[0] if lead else ""
    second = lead[1] if len(lead) > 1 else ""
    shortness = max(0.0, 1.0 - max(0, n_words - 6) / 22.0)  # 1 for short requests, 0 from ~28 words
    if first == "why":
        raw += 0.8
    if first in _STRONG_LEAD:
        raw += 2.3
        reasons.append("plan-request" if first in _PLAN_VERBS else "analysis-request")
    elif first in _MEDIUM_LEAD:
        raw += 0.8
        reasons.append("task-verb")
    elif n_plan or n_why or n_prove or n_long:
        pass  # "show that", "put together", "what's the best way": not a simple action or lookup
    elif first in _GENERIC_LEAD and not wset.isdisjoint(_HEAVY_NOUN):
        pass  # "make a meal plan", "give me a strategy"
    elif first in _ACTION_LEAD:
        raw -= 1.1 * shortness + 0.2
        reasons.append("action-verb")
    elif first in _LOOKUP_LEAD and (first != "how" or second in _HOW_LOOKUP):
        raw -= 0.9 * shortness + 0.1
        reasons.append("lookup")

    # ---- closed-form questions: options to pick from, an answer cue, or a final "how many / what is"
    # question, and no planning/explaining/proving intent. The answer is a value the quality gate can check
    # (format, arithmetic), so starting low is cheap; being closed-form says nothing about difficulty ----
    open_intent = n_plan or n_why or n_prove or n_long or first in _STRONG_LEAD or first == "why"
    if not open_intent and (has_options or _final_lookup_question(window)):
        raw -= 1.0
        reasons.append("closed-form")

    # A question set in the asker's own situation ("I have already...", "our team...") asks for advice.
    if n_words >= 10 and not wset.isdisjoint(_PERSONAL):
        raw += 0.4
        reasons.append("personal-context")

    # ---- intent words and deliverables anywhere ----
    strong_any = len(wset & _STRONG_ANY) - (first in _STRONG_ANY)
    if strong_any > 0:
        raw += 0.8 * math.sqrt(strong_any)
        reasons.append("reasoning-words")
    heavy_nouns = len(wset & _HEAVY_NOUN)
    if heavy_nouns:
        raw += 0.55 * math.sqrt(heavy_nouns)
        reasons.append("substantial-deliverable")

    # ---- structure: chained instructions, constraints, lists ----
    chained = len(pairs & _CHAIN_PAIRS)
    if chained:
        raw += 0.6 * math.sqrt(chained)
    n_and = normalised.count(" and ") + normalised.count(" then ") + normalised.count(" also ")
    n_commas = ascii_text.count(b",") + ascii_text.count(b":")
    n_constraint = len(wset & _CONSTRAINT)
    n_clauses = max(0, n_boundaries - 1)  # sentence ends, ";" and line breaks after the first
    n_list = 0
    if n_boundaries > 2 and "\n" in lowered:
        n_list = lowered.count("\n- ") + lowered.count("\n* ") + lowered.count("\n• ")
        n_list += len(_NUMBERED_LINE_RE.findall(lowered))
    structure = 0.35 * n_and + 0.25 * n_commas + 0.4 * n_constraint + 0.3 * n_list + 0.3 * n_clauses
    if structure > 0:
        raw += 0.55 * math.log2(1.0 + structure)
    if n_constraint >= 2 or n_commas + n_clauses >= 3:
        reasons.append("constraints")
    if chained or n_and >= 2 or n_clauses >= 2 or n_list >= 2:
        reasons.append("multi-step")

    # ---- content: numbers (quantities to combine), code and maths ----
    n_numbers = spaced.translate(_DIGIT_TABLE).count(b" 0")  # words that start with a digit
    if n_numbers:
        raw += 0.25 * math.log2(1.0 + n_numbers)
        if n_numbers >= 3:
            reasons.append("numbers")
    symbols = ascii_text.translate(None, _PROSE_BYTES)
    n_code = 2 * len(wset & _CODE_WORDS) + len(wset & _CODE_KEYWORDS)
    n_math = len(wset & _MATH_WORDS) + ("sqrt" in lowered)
    if symbols:
        n_code += min(symbols.count(b"_"), 6)
        for gate, token in _CODE_SYMBOLS:
            if gate in symbols:
                n_code += ascii_text.count(token)
        for gate, token in _MATH_SYMBOLS:
            if gate in symbols:
                n_math += ascii_text.count(token)
    if n_code:
        raw += 0.3 * math.log2(1.0 + n_code)
        if n_code >= 2:
            reasons.append("code")
    if len(ascii_text) != len(lowered):  # non-ASCII text: look for maths symbols too
        for char in _MATH_UNICODE:
            n_math += lowered.count(char)
    if n_math:
        raw += 0.25 * math.log2(1.0 + n_math)
        if n_math >= 2:
            reasons.append("math")

    # ---- the conversation so far ----
    convo = 0.0
    if system_chars:
        convo += 0.25 * math.log2(1.0 + system_chars / 400.0)
    if users > 1 or assistants:
        convo += 0.3 * math.log2(1.0 + max(users - 1, 0) + assistants)
    if convo:
        raw += min(convo, 1.5)
        if assistants >= 2 or users >= 3:
            reasons.append("conversation-depth")
        if system_chars >= 1500:
            reasons.append("large-system-prompt")

    return _sigmoid(_SCORE_SLOPE * raw), reasons


def forced_decision(tier: Tier, allow_cloud: bool = True, score: float = 0.0,
                    reasons: Iterable[str] = ()) -> Decision:
    """The decision for a tier the caller chose: reasons start with ``forced:tier-N``. The one place a
    forced tier is written down, for the router (which does not score it) and for ``classify`` (which does)."""
    out = [f"forced:tier-{int(tier)}", *reasons]
    if tier is Tier.CLOUD_API and not allow_cloud:
        tier = Tier.LOCAL_HEAVY
        out.append("cloud-not-allowed")
    return Decision(tier=tier, score=score, reasons=tuple(dict.fromkeys(out)))


def classify(
    task: str | Iterable[Mapping[str, Any]],
    context: RouteOptions | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Decision:
    """Decide which tier ``task`` needs.

    ``task`` is a prompt string or an OpenAI-style messages list. ``context["tier"]`` forces a tier
    (1/2/3 or a name accepted by ``Tier.parse``; an invalid value raises ``ValueError``).
    ``context["allow_cloud"] = False`` caps the tier at 2, including a forced tier 3. A forced decision
    still reports the computed score.
    """
    return decide_with(HeuristicClassifier(thresholds), task, context)


def decide_with(classifier: Classifier, task: str | Iterable[Mapping[str, Any]],
                context: RouteOptions | Mapping[str, Any] | None = None) -> Decision:
    """``classifier``'s decision on ``task`` (a prompt or messages). A forced tier (``context["tier"]``)
    wins, and the decision still reports the classifier's score and reasons after ``forced:tier-N``."""
    options = RouteOptions.coerce(context)
    messages = as_messages([task] if isinstance(task, Mapping) else task)
    if options.tier is None:
        return classifier.decide(messages, options)
    scored = classifier.decide(messages, RouteOptions())
    return forced_decision(options.tier, options.allow_cloud, scored.score, scored.reasons)


def _decide(score: float, reasons: list[str], th: Thresholds, allow_cloud: bool) -> Decision:
    if score >= th.cloud:
        tier = Tier.CLOUD_API
    elif score >= th.heavy:
        tier = Tier.LOCAL_HEAVY
    else:
        tier = Tier.LOCAL_FAST
    if not allow_cloud and tier == Tier.CLOUD_API:
        tier = Tier.LOCAL_HEAVY
        reasons.append("cloud-not-allowed")
    return Decision(tier=tier, score=score, reasons=tuple(dict.fromkeys(reasons)))


class Classifier(Protocol):
    """What the router asks of a classifier: the starting tier of an unforced request, with a score in
    [0, 1] and the reasons for it (RouteOptions carries ``allow_cloud``, which caps the tier at 2)."""

    def decide(self, messages: Sequence[Mapping[str, Any]], options: RouteOptions) -> Decision: ...


class HeuristicClassifier:
    """The built-in classifier: the score above, cut at ``thresholds``. No model, microseconds."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or _DEFAULT_THRESHOLDS

    @classmethod
    def from_settings(cls, settings: Settings) -> HeuristicClassifier:
        """At the operating point configured by ``TIER_HEAVY_THRESHOLD`` / ``TIER_CLOUD_THRESHOLD``."""
        return cls(Thresholds(
            heavy=_DEFAULT_THRESHOLDS.heavy if settings.heavy_threshold is None else settings.heavy_threshold,
            cloud=_DEFAULT_THRESHOLDS.cloud if settings.cloud_threshold is None else settings.cloud_threshold,
        ))

    def decide(self, messages: Sequence[Mapping[str, Any]], options: RouteOptions) -> Decision:
        score, reasons = _score(*_conversation(messages))
        return _decide(score, reasons, self.thresholds, options.allow_cloud)


def classify_tier(
    task: str | Iterable[Mapping[str, Any]],
    context: RouteOptions | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Tier:
    """The tier of :func:`classify` (same decision)."""
    return classify(task, context, thresholds).tier
