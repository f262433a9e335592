"""The classifier's word tables: lower-case words, apostrophes removed ("what's" -> "whats"), and pairs of
adjacent words. Every signal that reads words is a set intersection with one of these."""

from __future__ import annotations

from itertools import product


def _lex(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs that, opening a request, ask for planning / design / reasoning work.
STRONG_LEAD = _lex(
    """
    plan design devise architect strategize strategise prove derive compare contrast analyze analyse
    evaluate assess critique critically justify optimize optimise debug diagnose troubleshoot investigate
    refactor restructure forecast weigh propose formulate reconcile prioritize prioritise brainstorm
    synthesize synthesise appraise benchmark model discuss argue
    """
)
PLAN_VERBS = _lex("plan design devise architect strategize strategise")
# Verbs that open substantive (but not necessarily hard) work.
MEDIUM_LEAD = _lex(
    """
    implement solve explain outline draft estimate recommend predict develop organize organise decide
    describe sketch build create construct calculate compute determine interpret review research
    structure schedule reason elaborate prepare compose tackle choose select identify find rank
    suggest teach
    """
)
# Imperative physical/game actions and simple edits: a short request opening with one is tier 1.
ACTION_LEAD = _lex(
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
# Question openers that usually mean a factual lookup ("how" only with HOW_LOOKUP after it).
LOOKUP_LEAD = _lex(
    "what whats who whos whom whose when where wheres which is are was were does do did can could will has have how"
)
HOW_LOOKUP = _lex("many much old far long tall big large often")
# Generic output verbs: neutral, rather than a simple action, when they ask for a substantial deliverable.
GENERIC_LEAD = _lex("make give put show list tell get write")

# Verbs that add a further requirement when chained after the main instruction.
FOLLOW_VERBS = _lex(
    """
    flag highlight cite list give provide include note point mark show suggest summarize summarise
    rewrite fix test verify check recommend explain justify compare estimate predict identify discuss
    """
)
# Reasoning-intent words that count anywhere in the request.
STRONG_ANY = _lex(
    """
    plan design devise strategize strategise prove derive compare contrast analyze analyse evaluate
    assess critique critically justify optimize optimise debug diagnose troubleshoot investigate refactor
    forecast predict recommend weigh propose formulate prioritize prioritise tradeoff tradeoffs
    trade-off trade-offs optimal optimally optimum efficient efficiently systematic systematically
    rigorous rigorously comprehensive thorough thoroughly detailed step-by-step ethical ethics
    """
)
# Nouns of substantial deliverables and of hard subject matter.
HEAVY_NOUN = _lex(
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
CONSTRAINT = _lex(
    """
    without before after while given consider considering including include covering across each
    every both versus vs unless only least most under within until whereas assuming suppose if such
    avoid avoids avoiding ensure ensuring minimize minimise maximize maximise balance balancing
    constraint constraints requirement requirements limit limited budget deadline tradeoff must should
    """
)
# Vocabulary of programming and systems.
CODE_WORDS = _lex(
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
CODE_KEYWORDS = _lex("def return import self print elif const var let fn struct impl println printf")
# (byte that must be present, token to count)
CODE_SYMBOLS = (
    (b"`", b"```"),
    (b"{", b"{"),
    (b"=", b"=="),
    (b"=", b"!="),
    (b">", b"->"),
    (b">", b"=>"),
    (b":", b"::"),
    (b";", b"();"),
)
MATH_WORDS = _lex(
    """
    prove proof derive equation equations integral derivative matrix matrices polynomial theorem lemma
    probability variance expectation binomial prime primes factor factoring factorial logarithm
    exponent sum series sequence limit converge converges modulo vector vectors eigenvalue geometry
    triangle angle area volume radius ratio percent percentage average mean median irrational rational
    inequality function solve roots root quadratic cubic algebra calculus squared cubed
    """
)
MATH_SYMBOLS = (
    (b"^", b"^"),
    (b"*", b"**"),
    (b"=", b" = "),
    (b"+", b" + "),
    (b"*", b" * "),
    (b"/", b" / "),
    (b"\\", b"\\frac"),
)
MATH_UNICODE = "√π∑∫≤≥≠×÷²³"

# Word pairs (adjacent words) that signal intent. "|" stands for a sentence or clause boundary.
SUPERLATIVES = _lex(
    "best fastest quickest cheapest easiest safest smartest shortest simplest strongest cleanest wisest"
)
PLAN_TARGETS = _lex(
    "way ways order sequence strategy approach plan route path build moves move method setup "
    "combination allocation option options choice ending endings outcome outcomes"
)
PROBLEM_VERBS = _lex(
    "fix solve debug prevent avoid stop handle improve optimize optimise speed scale reduce increase "
    "maximize maximise minimize minimise choose decide balance approach structure"
)
PLAN_PAIRS = frozenset(
    {(v, "out") for v in _lex("work figure map lay think sort plan")}
    | {(v, "through") for v in _lex("walk talk think reason work me us")}
    | {("step", "by"), ("come", "up"), ("put", "together"), ("how", "should"), ("how", "would")}
    | {("how", "could")}
    | set(product(SUPERLATIVES, PLAN_TARGETS))
    | set(product(("most", "least"), _lex("efficient effective optimal reliable robust profitable")))
    | set(product(("i", "we"), PROBLEM_VERBS))
    | {("me", v) for v in _lex("decide choose plan figure understand design prepare")}
    | {("what", "should"), ("should", "i"), ("should", "we"), ("should", "my"), ("should", "our")}
)
PLAN_WORDS = _lex("step-by-step")
WHY_PAIRS = frozenset(
    {("explain", "how"), ("explain", "why"), ("what", "would"), ("what", "will"), ("what", "might")}
    | {("what", "if"), ("root", "cause"), ("whats", "going"), ("whats", "wrong"), ("whats", "causing")}
    | {("is", "causing"), ("are", "causing"), ("difference", "between"), ("differences", "between")}
    | {("down", "how"), ("down", "why"), ("down", "what")}
)
HOW_VERBS = _lex(
    "work works solve solves handle handles prevent prevents achieve achieves guarantee guarantees "
    "ensure ensures differ differs scale scales affect affects influence influences shaped changed evolved "
    "grow grows spread spreads interact interacts relate relates compound compounds"
)
COMPARATIVES = _lex(
    "better worse cheaper faster safer easier harder stronger smarter riskier healthier costlier greener"
)
PERSONAL = _lex("i im ive id my we were our us")
PROVE_PAIRS = frozenset(
    {("show", "that"), ("prove", "that"), ("show", "your"), ("with", "reasons"), ("explain", "your")}
    | {("explain", "each"), ("explain", "every"), ("pros", "and"), ("and", "against"), ("or", "against")}
    | {("in", "detail"), ("in", "depth"), ("your", "reasoning"), ("the", "math"), ("your", "work")}
)
LONGFORM_WORDS = _lex("essay essays article whitepaper thesis dissertation")
PROVE_WORDS = _lex("justify derivation derivations")
LONGFORM_PAIRS = frozenset(
    {("business", "plan"), ("lesson", "plan"), ("literature", "review"), ("case", "study")}
    | {("white", "paper")}
    | set(
        product(
            _lex("detailed full comprehensive formal technical in-depth"),
            _lex("report guide tutorial proposal review breakdown analysis overview"),
        )
    )
)
LENGTH_UNITS = _lex("word words page pages paragraph paragraphs section sections slide slides")
CHAIN_PAIRS = frozenset(product(("and", "then", "also", "|"), FOLLOW_VERBS | STRONG_LEAD | MEDIUM_LEAD))

# Stated lengths from which a deliverable is long.
LONG_LENGTH = {"word": 300, "page": 2, "paragraph": 4, "section": 3, "slide": 5}
