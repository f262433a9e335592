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
    synthesize synthesise appraise benchmark model discuss argue steelman rebut refute
    """
)
PLAN_VERBS = _lex("plan design devise architect strategize strategise")
# Verbs that open substantive (but not necessarily hard) work.
MEDIUM_LEAD = _lex(
    """
    implement solve explain outline draft estimate recommend predict develop organize organise decide
    describe sketch build create construct calculate compute determine interpret review research
    structure schedule reason elaborate prepare compose tackle choose select identify find rank
    suggest teach negotiate
    """
)
# Imperative physical/game actions and simple edits: a short request opening with one is tier 1.
_SIMPLE_ACTIONS = _lex(
    """
    walk go head run grab take pick open close shut drink eat mount dismount light knock wave sell buy
    ask talk say tell look examine inspect drop equip unequip wear put sheathe unsheathe draw attack
    strike jump climb sit rest sleep wait enter leave exit use step turn push pull swim follow greet
    feed pet hide sneak search listen shout call unlock lock throw cook fish ride cross return move
    stand kneel pray hug smile nod dance sing whistle flee dodge block cast loot trade craft mine chop
    dig extinguish douse read rename translate convert spell uppercase lowercase capitalize capitalise boil
    define name list count rephrase reword paraphrase fix correct thank remind make rewrite shorten
    repeat print show give play pause stop start save load check hand pay heal bow kick punch fill
    swap add keep set submit click tap press scroll hover refuel recharge dim brighten bump raise lower slip
    crouch dock undock launch warp scan board
    """
)
# Mechanical edits of content the request supplies: sorting, reformatting, extracting, converting. With
# that content attached (after a colon, quoted, or as a list) the request is easy however long it is.
TRANSFORM_LEAD = _lex(
    """
    sort order alphabetise alphabetize arrange reorder reverse capitalise capitalize uppercase lowercase
    titlecase translate transliterate convert reformat format remove delete replace substitute extract
    copy count number spell change label tag list turn put rewrite rephrase reword paraphrase rename
    swap strike cross dedupe deduplicate join combine merge split abbreviate bold underline italicise
    italicize punctuate shorten trim fix correct proofread tidy clean transcribe make add insert
    highlight mark underline group switch indent prettify pretty minify cut condense tighten
    """
)
ACTION_LEAD = _SIMPLE_ACTIONS | TRANSFORM_LEAD
# Small pieces of given data: a reasoning verb applied to one of these ("compare these two numbers",
# "analyse the word 'unhappiness'") is an operation on the data, not analysis.
DATA_NOUNS = _lex(
    "word words number numbers digit digits letter letters name names date dates sentence sentences "
    "phrase phrases string strings spelling value values figure figures list lists row rows csv line lines "
    "column columns record records"
)
# What a generic verb may ask for that is itself planning or reasoning work: "make a migration plan",
# "give me a strategy", "write a proof".
DELIVERABLES = _lex(
    """
    plan plans strategy strategies roadmap proposal itinerary curriculum budget architecture design schema
    proof proofs algorithm essay analysis framework policy argument critique comparison breakdown playbook
    blueprint
    """
)
# Words of judgement: a yes/no question that carries one asks for an argued answer ("Is it ethical to
# eat meat?"), not a fact.
NORMATIVE = _lex(
    """
    ethical unethical moral immoral morally ethically fair unfair justified unjustified justifiable wise wrong
    unwise worth worthwhile desirable acceptable sustainable responsible viable feasible realistic profitable
    """
)
# After "what" opening a question, a verb of cause: "what caused", "what led to", "what makes X safe".
CAUSAL_AFTER_WHAT = _lex(
    "caused causes cause led leads made makes drives drove explains triggered sparked went determines "
    "determined keeps kept"
)
# Subjects after "how do/does/did" that make it a how-to question ("how do you say", "how do I get"), not
# a question about how something works.
HOW_TO_SUBJECTS = _lex("i you we one u my your our")
# Verbs that ask for an argued answer when they open a sentence of their own ("Is P equal to NP? Argue.",
# "... ? Convince me."): the request's own verb, like a leading one.
REASON_VERBS = _lex(
    """
    argue justify defend convince persuade reason prove discuss debate explain critique weigh compare
    contrast evaluate assess analyse analyze derive characterize characterise demonstrate
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
    complexity big-o essay report proposal curriculum itinerary budget analysis framework pipeline migration
    migrations approach approaches progression investigation contingency contingencies metrics
    scalability concurrency consistency latency throughput invariant theorem lemma distribution
    equation equations formula variance probability derivative integral matrix recursion recursive
    dynamic asymptotic policy negotiation risks consequences implications alliances evidence argument
    arguments hypothesis correctness tradeoffs trade-offs pros cons alternatives decision method
    methodology consensus protocol fault tolerance indexing sharding caching invalidation deadlock
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
    (b"%", b"%"),
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
    | {(v, "through") for v in _lex("think reason work me us")}
    | {("step", "by"), ("come", "up"), ("how", "should"), ("how", "would")}
    | {("how", "could"), ("about", "how")}  # "think hard about how to turn the clans against each other"
    | set(product(SUPERLATIVES, PLAN_TARGETS))
    | set(product(("most", "least"), _lex("efficient effective optimal reliable robust profitable")))
    | set(product(("i", "we"), PROBLEM_VERBS))
    | {("me", v) for v in _lex("decide choose plan figure understand design prepare negotiate")}
    # ordering or dividing work under constraints: "how to sequence quests so none get locked out"
    | {("to", v) for v in _lex("sequence prioritize prioritise allocate negotiate")}
    | set(product(_lex("pick choose decide select"), ("between",)))  # a decision between options
    | {("what", "should"), ("should", "i"), ("should", "we"), ("should", "my"), ("should", "our")}
)
PLAN_WORDS = _lex("step-by-step")
WHY_PAIRS = frozenset(
    {("explain", "how"), ("explain", "why")}
    # "what would happen", not "what will be the total": a consequence, not a value
    | set(product(_lex("would will might could"), _lex("happen happens")))
    | {("what", "if"), ("root", "cause"), ("whats", "going"), ("whats", "wrong"), ("whats", "causing")}
    | {("is", "causing"), ("are", "causing"), ("difference", "between"), ("differences", "between")}
    | {("down", "how"), ("down", "why"), ("down", "what")}
    | {("what", w) for w in CAUSAL_AFTER_WHAT if w not in ("made", "makes", "went")}
    | {("what", "makes"), ("went", "wrong"), ("how", "come"), ("what", "led"), ("through", "how")}
    | {("through", "why")}
    # a diagnosis asked for: "my colony keeps starving around day 30, what am i doing wrong"
    | {("doing", "wrong"), ("going", "wrong")}
    # the consequences of a change: "what breaks if we move from REST to GraphQL"
    | {("breaks", "if"), ("break", "if"), ("wrong", "if")}
)
HOW_VERBS = _lex(
    "work works solve solves handle handles prevent prevents achieve achieves guarantee guarantees "
    "ensure ensures differ differs scale scales affect affects influence influences shaped changed evolved "
    "grow grows spread spreads interact interacts relate relates compound compounds"
)
COMPARATIVES = _lex(
    "better worse cheaper faster safer easier harder stronger smarter riskier healthier costlier greener "
    "best worst cheapest fastest safest easiest"
)
PERSONAL = _lex("i im ive id my we were our us")
PROVE_PAIRS = frozenset(
    {("show", "that"), ("prove", "that"), ("show", "your"), ("with", "reasons"), ("explain", "your")}
    | {("explain", "each"), ("explain", "every"), ("pros", "and"), ("and", "against"), ("or", "against")}
    | {("in", "detail"), ("in", "depth"), ("your", "reasoning"), ("the", "reasoning"), ("the", "math")}
    | {("your", "work")}
    | {("show", "there"), ("prove", "there"), ("convince", "me"), ("persuade", "me"), ("reason", "it")}
    | {("reason", "through"), ("reason", "about"), ("defend", "your"), ("defend", "it"), ("defend", "the")}
    | {("defend", "this"), ("defend", "that"), ("back", "it"), ("argue", "for"), ("argue", "against")}
    # whether an argument stands: "check whether this argument holds", "is the reasoning sound"
    | set(product(_lex("argument reasoning claim logic proof conclusion inference"),
                  _lex("holds hold valid sound follows flawed")))
)
LONGFORM_WORDS = _lex("essay essays article whitepaper thesis dissertation")
PROVE_WORDS = _lex("justify derivation derivations argue fallacy fallacies syllogism")
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
# Verbs that are also common nouns: after "and" they are usually the noun ("a string and list", "design and
# structure"), so they chain only after "then", "also" or a sentence boundary.
_NOUN_VERBS = _lex("list note mark test model structure schedule review benchmark plan design research build")
CHAIN_PAIRS = frozenset(
    set(product(("then", "also", "|"), FOLLOW_VERBS | STRONG_LEAD | MEDIUM_LEAD))
    | set(product(("and",), (FOLLOW_VERBS | STRONG_LEAD | MEDIUM_LEAD) - _NOUN_VERBS))
)
# "walk through the options", not "the long walk through the forest": after one of these words "walk" or
# "talk" is a noun, and "walk through" says nothing about planning.
WALK_THROUGH = frozenset({("walk", "through"), ("talk", "through")})
WALK_AS_NOUN = frozenset(product(_lex("a an the long short my our his her their your this that"), ("walk", "talk")))
# "put together a plan", not "both baskets put together"
PUT_TOGETHER_OBJECTS = frozenset(("together", w) for w in _lex("a an the some my our your me us"))
# Verbs that ask for a written deliverable: an essay or a stated length counts as a long deliverable only
# when one of these asks for it ("write an 800-word op-ed"), not when a text mentions one ("according to
# the article", "she must submit a 15-page paper").
WRITE_VERBS = _lex("write draft compose prepare produce create author generate give make outline expand")

# Stated lengths from which a deliverable is long.
LONG_LENGTH = {"word": 300, "page": 2, "paragraph": 4, "section": 3, "slide": 5}
