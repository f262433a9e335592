"""The heuristic tier classifier: acceptance on the shared dev set, a paraphrase set, API and properties."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiered_router.classify import Decision, Thresholds, classify, classify_tier
from tiered_router.tiers import Tier

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = Path(os.environ.get("TIER_EVAL_DIR", REPO.parent / "shared" / "eval"))
DEV_SET = EVAL_DIR / "tiers_dev.jsonl"
# 60 more dev rows (issue #12) written so that length, the lead verb and commas do not predict the tier:
# short hard questions, long mechanical edits, planning words used trivially, action verbs asking for proofs.
DEV_EXTRA = REPO / "tests" / "data" / "tiers_dev_extra.jsonl"
# Written before the changes they judged and scored once, blind (docs/classifier.md): the first (0.750) led to
# fixes and is no longer blind; the second was written before those fixes (0.850). Kept as regression checks
# at the figures they reached.
BLIND_1 = REPO / "tests" / "data" / "tiers_holdout_blind.jsonl"
BLIND_2 = REPO / "tests" / "data" / "tiers_holdout_blind2.jsonl"
# Two more, written 2026-11-30 by writers who saw neither the code nor the other sets; each scored once, blind,
# then used to find the signal families it showed missing (docs/classifier.md), so no longer blind.
BLIND_3 = REPO / "tests" / "data" / "tiers_holdout_blind3.jsonl"
BLIND_4 = REPO / "tests" / "data" / "tiers_holdout_blind4.jsonl"
BLIND_5 = REPO / "tests" / "data" / "tiers_holdout_blind5.jsonl"
BLIND_6 = REPO / "tests" / "data" / "tiers_holdout_blind6.jsonl"
BLIND_7 = REPO / "tests" / "data" / "tiers_holdout_blind7.jsonl"
# The eighth, written that evening the same way: 0.842 blind at c00c409 (docs/classifier.md).
BLIND_8 = REPO / "tests" / "data" / "tiers_holdout_blind8.jsonl"
# The ninth, written to the data README's tier definitions with game agents among the traffic: 0.842 blind,
# with 10 of 60 tier-2 rows sent down, on 6f386ab plus the pasted-data reading (docs/classifier.md).
BLIND_9 = REPO / "tests" / "data" / "tiers_holdout_blind9.jsonl"
# The tenth, the last user message of coding, browser and support agents among other apps: 0.875 blind, 3 of
# 60 tier-2 rows sent down, at 76d7ace.
BLIND_10 = REPO / "tests" / "data" / "tiers_holdout_blind10.jsonl"
# The eleventh, ordinary requests in unusual words (wordy tier-1 requests, terse tier-2 ones without cue
# words): 0.683 blind, with 24 of 60 tier-2 rows sent down, at 4ec2b87.
BLIND_11 = REPO / "tests" / "data" / "tiers_holdout_blind11.jsonl"
# The twelfth, a day of mixed traffic: 0.867 blind, 6 of 60 tier-2 rows sent down, at e2a45a0.
BLIND_12 = REPO / "tests" / "data" / "tiers_holdout_blind12.jsonl"
# The thirteenth, game and automation agents and their players: 0.792 blind, 14 of 60 tier-2 rows sent down,
# at 0b5be75.
BLIND_13 = REPO / "tests" / "data" / "tiers_holdout_blind13.jsonl"
# The fourteenth, broad mixed traffic, written after all of the above: 0.833 blind, 5 of 60 tier-2 rows sent
# down, at 8204f68 (the last blind figure of the session).
BLIND_14 = REPO / "tests" / "data" / "tiers_holdout_blind14.jsonl"
# The fifteenth, short and medium requests to the data README's definitions: 0.940 blind, 2 of 50 tier-2 rows
# sent down, at 386df99. Nothing was changed for it: its misses are listed in docs/classifier.md.
BLIND_15 = REPO / "tests" / "data" / "tiers_holdout_blind15.jsonl"

# Written for this test, worded differently from the dev set and spread over domains (game, everyday,
# coding, business, maths). Tier 1: actions, lookups, short rewrites. Tier 2: planning, design, proofs,
# diagnosis, multi-step analysis.
PARAPHRASES: list[tuple[str, int]] = [
    # --- tier 1: game actions
    ("Go through the north gate", 1),
    ("Pick up the rusty key", 1),
    ("Talk to the innkeeper about a room", 1),
    ("Climb the ladder", 1),
    ("Put on the leather boots", 1),
    ("Feed the dog", 1),
    ("Close the window, it's cold", 1),
    ("Say hello to the guard.", 1),
    ("please open the gate", 1),
    ("jump over the fence", 1),
    ("Fill the bucket with water", 1),
    ("Ask the blacksmith to repair my armor", 1),
    ("Read the letter on the table", 1),
    ("Thanks! Now go back to the tavern.", 1),
    ("Draw your sword and attack the bandit", 1),
    # --- tier 1: lookups
    ("Who wrote Pride and Prejudice?", 1),
    ("What's the boiling point of water in Fahrenheit?", 1),
    ("How do you say 'thank you' in Japanese?", 1),
    ("What's 12 plus 30?", 1),
    ("When did World War II end?", 1),
    ("What does HTTP stand for?", 1),
    ("Is a tomato a fruit?", 1),
    ("What time zone is Tokyo in?", 1),
    ("What does ROI mean?", 1),
    ("can you tell me who invented the telephone", 1),
    ("hey, what's 15% of 80?", 1),
    ("how many legs does a spider have", 1),
    ("What's the largest ocean?", 1),
    ("Whats the currency of Japan", 1),
    ("Which planet is closest to the sun?", 1),
    # --- tier 1: short rewrites and small generations
    ("Define the word 'ephemeral'.", 1),
    ("Give me a synonym for happy.", 1),
    ("Rename the variable cnt to count in: cnt = cnt + 1", 1),
    ("Convert 5 kilograms to pounds.", 1),
    ("Make this sentence more polite: give me the report.", 1),
    ("What's the plural of 'mouse'?", 1),
    ("Sort these words alphabetically: pear, apple, fig", 1),
    ("Write a one-line subject for an email about tomorrow's meeting.", 1),
    ("i need the french word for bread", 1),
    ("Could you spell 'necessary' for me?", 1),
    ("Give a one-word answer: is ice cold?", 1),
    ("Turn this into past tense: I walk home.", 1),
    ("Count the vowels in 'banana'.", 1),
    ("Swap the first and last words: red green blue", 1),
    ("Add a comma where needed: Hello John how are you", 1),
    # --- tier 2: game planning
    ("Map out the fastest way to reach the rank of Archmage in the Mages Guild", 2),
    (
        "Figure out the best order to tackle the three faction questlines so I don't lock myself out of any rewards.",
        2,
    ),
    ("What's the most efficient build for a stealth archer, and why?", 2),
    ("Lay out a step-by-step approach for clearing the vampire lair with a level 5 character.", 2),
    (
        "what's the smartest way to level up alchemy and enchanting together so I can craft the strongest gear",
        2,
    ),
    ("Come up with a plan to escape the prison without alerting the guards, using the spoon and the rope.", 2),
    # --- tier 2: coding and systems
    ("Write a Python function that merges overlapping intervals and explain its time complexity.", 2),
    ("Refactor this class hierarchy to use composition instead of inheritance and justify the tradeoffs.", 2),
    ("Why does my async code deadlock when I call a blocking function inside the event loop? Suggest fixes.", 2),
    ("Propose a caching layer for a read-heavy service, covering invalidation, TTLs and failure modes.", 2),
    ("How should we structure our database migrations so that deploys have zero downtime?", 2),
    ("Find the bug: my binary search loops forever when the target is missing. Explain the root cause.", 2),
    ("Sketch the architecture for a real-time chat app supporting a million concurrent users.", 2),
    ("can you design a database schema for a multi-tenant invoicing app", 2),
    ("Create a unit test strategy for a payments service that talks to three external providers.", 2),
    ("Explain why quicksort is O(n log n) on average but O(n^2) in the worst case.", 2),
    (
        "Choose the right index for a query that filters by user_id and sorts by created_at, and explain the tradeoff.",
        2,
    ),
    ("Which sorting algorithm should I use for nearly-sorted data of 10 million records, and why?", 2),
    (
        "Review this function for bugs and performance issues: def f(xs): return [x for x in xs if xs.count(x) == 1]",
        2,
    ),
    (
        "My React app re-renders constantly when I type in a form field. What's going on and how do I fix it?",
        2,
    ),
    # --- tier 2: business and everyday decisions
    ("Build a go-to-market strategy for a B2B SaaS product targeting dental clinics.", 2),
    ("Weigh the pros and cons of leasing versus buying a delivery van for a small business.", 2),
    (
        "Put together a budget for a family of four living on $4,000 a month, including savings and emergencies.",
        2,
    ),
    ("Assess whether raising prices by 10% would increase revenue given elastic demand.", 2),
    ("Organize a week-long trip to Japan on a budget, balancing sightseeing, food and rest days.", 2),
    ("Critique this business plan's assumptions and identify the biggest risks.", 2),
    ("What would be the long-term consequences if the central bank raised interest rates sharply? Discuss.", 2),
    (
        "Help me decide between two job offers: one pays more, the other has better growth; walk me "
        "through the decision.",
        2,
    ),
    ("Create a study schedule to prepare for the bar exam in four months while working full time.", 2),
    ("i need a plan to pay off 30k of credit card debt in 3 years while still saving for retirement", 2),
    ("Our team keeps missing sprint deadlines. Diagnose likely reasons and propose a process change.", 2),
    (
        "Is it better to pay off my mortgage early or invest in index funds? Consider taxes, risk and liquidity.",
        2,
    ),
    ("Should I learn Rust or Go for backend work? Compare ecosystems, performance and hiring market.", 2),
    ("Draft a 12-week training program for a first marathon, adjusting for a runner who can run 5 km.", 2),
    ("Write an essay arguing for or against a four-day work week.", 2),
    # --- tier 2: maths and reasoning
    ("Estimate how many piano tuners work in Chicago, showing your reasoning.", 2),
    ("Show that the square root of 2 is irrational.", 2),
    (
        "If a train leaves at 3pm going 60 mph and another leaves at 4pm going 80 mph, when does the "
        "second catch up? Show your work.",
        2,
    ),
    ("Find all integer solutions of x^2 + y^2 = 25 and prove there are no others.", 2),
    ("Model the spread of a rumor in a town of 5,000 people if each person tells two others per day.", 2),
    (
        "Work through the expected value of a lottery ticket costing $2 with a 1 in 10 million chance of $5M.",
        2,
    ),
]


# Held-out sets, worded differently again and written before the benchmark re-tuning was evaluated on them.
# Set A (54 rows) was checked once after the re-tuning: two tier-2 rows were missed ("Determine the expected
# number of coin flips ..., with the derivation" and "Write a persuasive 800-word op-ed ...") and led to two
# general fixes (imperative "determine/calculate" is not a closed-form question; "derivation" is proof intent;
# a stated length of 300+ words is a long deliverable). Set B (45 rows) was written after that and scored
# once, blind: 45/45. See docs/classifier.md.
HELDOUT_A: list[tuple[str, int]] = [
    # tier 1: game / actions, different verbs
    ("Sit down by the campfire", 1),
    ("Hand the merchant ten silver coins", 1),
    ("Light the lantern and look around", 1),
    ("Knock on the cellar door.", 1),
    ("Pet the cat sleeping on the windowsill", 1),
    ("Equip the iron shield", 1),
    ("Swim across to the other bank", 1),
    ("Dismount and tie the horse to the post", 1),
    ("Whistle for your companion", 1),
    ("Tell the captain we are ready to sail", 1),
    # tier 1: lookups and closed questions, worded differently
    ("Name the capital of Canada.", 1),
    ("Tell me the chemical symbol for gold", 1),
    ("In what year did the Berlin Wall fall?", 1),
    ("Who painted the Mona Lisa?", 1),
    ("How tall is Mount Everest?", 1),
    ("What's the square root of 144?", 1),
    ("Which continent is Kenya in?", 1),
    ("What is the freezing point of water in Celsius?", 1),
    ("Is Python dynamically typed?", 1),
    ("What does CPU stand for?", 1),
    ("Which gas do plants absorb from the air?\nA) Oxygen\nB) Carbon dioxide\nC) Nitrogen\nD) Helium\nAnswer:", 1),
    ("What is 7 times 8?", 1),
    ("Sam has 4 pencils and buys 3 more. How many pencils does he have now?", 1),
    ("Which is larger, 0.5 or 0.45?", 1),
    # tier 1: small edits / generations
    ("Capitalize every word in: the quick brown fox", 1),
    ("Shorten this: We are writing to let you know that the meeting is moved.", 1),
    ("Translate 'good morning' to Spanish.", 1),
    ("Give me an antonym of 'ancient'.", 1),
    ("Spell out the number 47 in words.", 1),
    ("Fix the typo: 'recieve the pakage'", 1),
    # tier 2: planning / strategy, indirect wording
    ("I'm torn between renting downtown and buying in the suburbs. Walk through what I should weigh.", 2),
    ("We have six weeks before launch and two engineers. What should we cut, and in what order?", 2),
    ("Lay out a training plan that takes my party from level 3 to level 10 without grinding the same dungeon.", 2),
    ("How would you approach negotiating a raise when the company just announced layoffs?", 2),
    ("Sketch a rollout strategy for moving 200 services from VMs to Kubernetes with minimal risk.", 2),
    ("Develop a marketing plan for a small bakery opening next to a big chain store.", 2),
    ("Outline a fair way to split rent among roommates with different room sizes and incomes, and justify it.", 2),
    ("Think through the trade-offs of a monorepo versus many repos for a 40-person team.", 2),
    # tier 2: diagnosis / analysis
    ("Our API p99 latency doubled after upgrading the ORM. How would you track down the cause?", 2),
    ("Memory keeps growing in our Node worker until it crashes every few hours. Diagnose and suggest fixes.", 2),
    ("Analyze why the Roman Republic collapsed, weighing economic, military and political factors.", 2),
    ("Evaluate whether a four-day week would hurt or help a customer-support team's metrics.", 2),
    ("Explain how public-key cryptography lets two strangers share a secret over an open channel.", 2),
    ("Compare event sourcing with a conventional CRUD design for an order system; when does each win?", 2),
    # tier 2: maths / proofs / algorithms
    ("Prove that there are infinitely many primes.", 2),
    ("Derive the formula for the sum of a geometric series and explain each step.", 2),
    ("Design an algorithm that finds the k most frequent words in a stream using bounded memory.", 2),
    ("Determine the expected number of coin flips needed to get two heads in a row, with the derivation.", 2),
    (
        "Write a function that parses arithmetic expressions with precedence and parentheses, and explain the grammar.",
        2,
    ),
    ("Estimate the yearly water usage of a city of 2 million people, stating your assumptions.", 2),
    # tier 2: writing / long-form
    ("Write a persuasive 800-word op-ed on congestion pricing.", 2),
    ("Draft a detailed incident postmortem for a 3-hour database outage, including root cause and action items.", 2),
    ("Create a curriculum for teaching statistics to nurses over ten sessions.", 2),
    ("Plan meals for a week for a vegetarian athlete needing 160 g of protein a day, with a shopping list.", 2),
]

HELDOUT_B: list[tuple[str, int]] = [
    # tier 1
    ("Pour the potion into the empty flask", 1),
    ("Climb onto the roof and wait", 1),
    ("Pull the lever next to the gate.", 1),
    ("Drop the stolen ring", 1),
    ("Follow the guard to the barracks", 1),
    ("Greet the old woman at the well", 1),
    ("Search the chest for gold", 1),
    ("What's the population of Brazil?", 1),
    ("When was penicillin discovered?", 1),
    ("Where is the Louvre?", 1),
    ("How far is the Moon from Earth?", 1),
    ("Who is the author of '1984'?", 1),
    ("What is the past tense of 'swim'?", 1),
    ("Is a whale a mammal?", 1),
    ("What's 25% of 60?", 1),
    ("How many sides does a hexagon have?", 1),
    ("Convert 100 Fahrenheit to Celsius.", 1),
    ("List the primary colors.", 1),
    ("Rewrite in passive voice: The dog chased the ball.", 1),
    ("Make this shorter: I am writing this email in order to ask whether you are free.", 1),
    ("Reword politely: send it now.", 1),
    ("Which planet has the most moons?\nA. Earth\nB. Mars\nC. Saturn\nD. Venus\nAnswer:", 1),
    ("A shop sells pens at $2 each. Mia buys 5 pens. How much does she pay?", 1),
    ("Name three mammals that live in the ocean.", 1),
    ("Lowercase this: HELLO WORLD", 1),
    # tier 2
    (
        "Our startup's churn jumped from 3% to 8% after we raised prices. "
        "Figure out what to investigate first and why.",
        2,
    ),
    ("Propose a strategy to win the siege of the northern fortress with half the enemy's troops.", 2),
    ("How should I structure a six-month plan to switch careers from teaching to data analysis?", 2),
    ("Design a rate limiter for a public API that handles bursts fairly across tenants.", 2),
    ("Compare three ways to store user sessions at scale and recommend one for a global app.", 2),
    ("Walk me through choosing between a fixed and a variable rate mortgage given rising rates.", 2),
    ("Analyze the causes of the 2008 financial crisis and rank them by importance.", 2),
    ("Why do some bridges oscillate in the wind, and how do engineers prevent it?", 2),
    ("Explain why a hash map has O(1) average lookup but can degrade to O(n), and how to avoid that.", 2),
    ("Evaluate the pros and cons of nuclear power for a country with little sunshine.", 2),
    ("Prove that every tree with n nodes has n-1 edges.", 2),
    ("Devise a study plan to learn linear algebra in eight weeks alongside a full-time job.", 2),
    ("Optimize this SQL query that joins four tables and times out, and explain the indexes you'd add.", 2),
    ("Diagnose why my sourdough keeps coming out dense, considering flour, hydration and proofing.", 2),
    ("Write a detailed business proposal for opening a bike repair shop near a university.", 2),
    ("Plan a two-week itinerary through Italy for a family with toddlers, balancing travel time and rest.", 2),
    ("Critique this argument: since crime fell after the new law, the law caused the drop.", 2),
    ("Build a budget that lets a couple save for a house deposit in three years on a combined $90k income.", 2),
    ("What would happen to global trade if the Suez Canal closed for a year? Discuss the ripple effects.", 2),
    ("Refactor a 2,000-line God class into smaller modules; describe the steps and the risks.", 2),
]


def _load_dev() -> list[tuple[str, int]]:
    if not DEV_SET.exists():
        pytest.skip(f"shared eval set not found: {DEV_SET} (set TIER_EVAL_DIR to the directory holding it)")
    return _load_jsonl(DEV_SET)


def _load_jsonl(path: Path) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8") as fh:
        return [(row["prompt"], int(row["tier"])) for row in map(json.loads, filter(str.strip, fh))]


def _metrics(rows: list[tuple[str, int]]) -> tuple[float, float, list[str]]:
    """(accuracy, share of tier-2 rows sent to tier 1, the misrouted prompts)."""
    wrong = []
    t2_total = t2_to_t1 = 0
    for prompt, gold in rows:
        tier = classify_tier(prompt)
        if int(tier) != gold:
            wrong.append(f"gold={gold} got={int(tier)} {prompt!r}")
        if gold == 2:
            t2_total += 1
            t2_to_t1 += tier == Tier.LOCAL_FAST
    return 1 - len(wrong) / len(rows), t2_to_t1 / max(t2_total, 1), wrong


# --------------------------------------------------------------------------------------------------
# Acceptance
# --------------------------------------------------------------------------------------------------


def test_acceptance_examples() -> None:
    assert classify_tier("Walk to the next room") == Tier.LOCAL_FAST
    assert classify_tier("Plan the optimal path to become Hortator") == Tier.LOCAL_HEAVY


@pytest.mark.parametrize(
    "prompt",
    ["What is the capital of Italy?", "What's 9 times 7?", "Is 29 prime?", "Convert 3 feet to centimeters."],
)
def test_short_lookups_are_tier_1(prompt: str) -> None:
    assert classify_tier(prompt) == Tier.LOCAL_FAST


def test_dev_set_accuracy() -> None:
    accuracy, t2_to_t1, wrong = _metrics(_load_dev())
    print(f"\ntiers_dev: accuracy={accuracy:.3f} tier2->tier1={t2_to_t1:.3f}")
    assert accuracy >= 0.90, wrong
    assert t2_to_t1 <= 0.05, wrong


def test_dev_extra_rows_accuracy_reported_apart_from_the_old_rows() -> None:
    """Issue #12: the new rows reach 0.85 with at most 10 % of tier-2 rows sent to tier 1, while the old rows
    stay where they were (1.000, none sent down). Each set is reported on its own."""
    old_rows, new_rows = _load_dev(), _load_jsonl(DEV_EXTRA)
    assert len(new_rows) == 60 and abs(sum(t == 1 for _, t in new_rows) - 30) <= 3
    old_acc, old_down, old_wrong = _metrics(old_rows)
    new_acc, new_down, new_wrong = _metrics(new_rows)
    print(f"\nold rows (tiers_dev.jsonl, n={len(old_rows)}): accuracy={old_acc:.3f} tier2->tier1={old_down:.3f}"
          f"\nnew rows (tiers_dev_extra.jsonl, n={len(new_rows)}): accuracy={new_acc:.3f} tier2->tier1={new_down:.3f}")
    assert new_acc >= 0.85, new_wrong
    assert new_down <= 0.10, new_wrong
    assert old_acc == 1.0 and old_down == 0.0, old_wrong


@pytest.mark.parametrize(("path", "floor"), [(BLIND_1, 0.925), (BLIND_2, 0.85), (BLIND_3, 0.95), (BLIND_4, 0.9),
                                            (BLIND_5, 0.9), (BLIND_6, 0.93),
                                            (BLIND_7, 0.95), (BLIND_8, 0.93), (BLIND_9, 0.9),
                                            (BLIND_10, 0.93), (BLIND_11, 0.83),
                                            (BLIND_12, 0.87), (BLIND_13, 0.9),
                                            (BLIND_14, 0.85), (BLIND_15, 0.94)])
def test_blind_held_out_sets_stay_where_they_were_scored(path: Path, floor: float) -> None:
    accuracy, t2_to_t1, wrong = _metrics(_load_jsonl(path))
    print(f"\n{path.name}: accuracy={accuracy:.3f} tier2->tier1={t2_to_t1:.3f}")
    assert accuracy >= floor, wrong


def test_paraphrase_set_accuracy() -> None:
    assert sum(1 for _, t in PARAPHRASES if t == 1) >= 20 and sum(1 for _, t in PARAPHRASES if t == 2) >= 20
    accuracy, t2_to_t1, wrong = _metrics(PARAPHRASES)
    print(f"\nparaphrases: n={len(PARAPHRASES)} accuracy={accuracy:.3f} tier2->tier1={t2_to_t1:.3f}")
    assert accuracy >= 0.90, wrong
    assert t2_to_t1 <= 0.05, wrong


@pytest.mark.parametrize("name", ["A", "B"])
def test_held_out_sets(name: str) -> None:
    rows = HELDOUT_A if name == "A" else HELDOUT_B
    accuracy, t2_to_t1, wrong = _metrics(rows)
    print(f"\nheld-out {name}: n={len(rows)} accuracy={accuracy:.3f} tier2->tier1={t2_to_t1:.3f}")
    assert accuracy >= 0.90, wrong
    assert t2_to_t1 <= 0.05, wrong


def test_closed_form_questions_start_low() -> None:
    """Options to pick from and a final "how many" question are not signs of difficulty by themselves."""
    mcq = "Which gas do plants absorb from the air?\nA) Oxygen\nB) Carbon dioxide\nC) Nitrogen\nD) Helium\nAnswer:"
    d = classify(mcq)
    assert d.tier == Tier.LOCAL_FAST and "multiple-choice" in d.reasons and "closed-form" in d.reasons
    word_problem = "Sam has 4 pencils and buys 3 more. How many pencils does he have now?"
    assert classify(word_problem).tier == Tier.LOCAL_FAST
    # ... but a closed-form question that asks for reasoning is not discounted.
    why = "Which sorting algorithm should I use for nearly-sorted data, and why?"
    assert "closed-form" not in classify(why).reasons and classify(why).tier == Tier.LOCAL_HEAVY
    # Option lines are not steps or constraints: a long option list does not make the stem "multi-step".
    assert "multi-step" not in d.reasons and "constraints" not in d.reasons


def test_options_that_resemble_each_other_score_higher() -> None:
    """The same question is harder to answer when its options differ only in a detail."""
    stem = "Which statement about the solutions of the equation is true?\n"
    apart = stem + "A) There is one\nB) The sky is blue\nC) Seven cats\nD) None of these\nAnswer:"
    close = stem + "A) k = 0 and n = 1\nB) k = 1 and n = 0\nC) k = n = 1\nD) k = 1 and n = 1\nAnswer:"
    far, near = classify(apart), classify(close)
    assert near.score > far.score
    assert "close-options" in near.reasons and "close-options" not in far.reasons
    # Same options in another letter style: the letters themselves are not counted as shared words.
    restyled = close.replace("A) ", "(a) ").replace("B) ", "(b) ").replace("C) ", "(c) ").replace("D) ", "(d) ")
    assert "close-options" in classify(restyled).reasons
    assert abs(classify(restyled).score - near.score) < 0.01  # only the option lines' length differs


def test_scores_are_continuous_and_ordered() -> None:
    rows = _load_dev() + PARAPHRASES
    scores = [classify(p).score for p, _ in rows]
    assert len(set(scores)) >= 0.9 * len(scores), "too many exact ties"
    t1 = [s for (_, t), s in zip(rows, scores, strict=True) if t == 1]
    t2 = [s for (_, t), s in zip(rows, scores, strict=True) if t == 2]
    assert statistics.median(t2) - statistics.median(t1) > 0.4
    # Longer versions of the same request score higher.
    short = classify("Summarize this text.").score
    longer = classify("Summarize this text. " + "It talks about the weather in spring. " * 40).score
    assert longer > short


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------


def test_decision_shape() -> None:
    d = classify("Design a REST API for a library system; explain versioning.")
    assert isinstance(d, Decision)
    assert d.tier == Tier.LOCAL_HEAVY
    assert 0.0 <= d.score <= 1.0
    assert isinstance(d.reasons, tuple) and all(isinstance(r, str) for r in d.reasons)
    assert "plan-request" in d.reasons
    assert classify_tier("Design a REST API for a library system; explain versioning.") == d.tier


def test_reasons_name_the_signals() -> None:
    assert "action-verb" in classify("Walk to the next room").reasons
    assert "lookup" in classify("What is the capital of Italy?").reasons
    assert "code" in classify("Fix this: ```python\ndef f(x):\n    return x +\n```").reasons
    assert "math" in classify("Solve x^3 - 6x^2 + 11x - 6 = 0").reasons
    assert "long-prompt" in classify("Please read this. " + "Some background sentence here. " * 60).reasons
    assert "multi-step" in classify("Compare A and B, then recommend one and explain why.").reasons


def test_messages_input_and_content_parts() -> None:
    text = "Plan a three-day conference for 200 attendees, covering venue, schedule and catering."
    as_str = classify(text)
    as_msgs = classify([{"role": "user", "content": text}])
    as_parts = classify([{"role": "user", "content": [{"type": "text", "text": text}]}])
    assert as_str.tier == as_msgs.tier == as_parts.tier == Tier.LOCAL_HEAVY
    assert as_str.score == pytest.approx(as_msgs.score) == pytest.approx(as_parts.score)
    # The last user message is the request; earlier turns are context.
    convo = [
        {"role": "user", "content": "Design a database schema for invoices."},
        {"role": "assistant", "content": "Here is a schema ..."},
        {"role": "user", "content": "Open the inventory"},
    ]
    assert classify(convo).score < classify("Design a database schema for invoices.").score


def test_conversation_depth_and_system_prompt_raise_the_score() -> None:
    prompt = "What should I do next?"
    base = classify(prompt).score
    deep: list[dict[str, object]] = []
    for i in range(6):
        deep += [{"role": "user", "content": f"step {i}"}, {"role": "assistant", "content": f"answer {i}"}]
    deep.append({"role": "user", "content": prompt})
    with_system = [
        {"role": "system", "content": "You are a careful assistant. " * 120},
        {"role": "user", "content": prompt},
    ]
    assert classify(deep).score > base
    assert "conversation-depth" in classify(deep).reasons
    assert classify(with_system).score > base


def test_forcing_a_tier_keeps_the_score() -> None:
    natural = classify("Walk to the next room")
    for value, expected in [(3, Tier.CLOUD_API), ("tier-2", Tier.LOCAL_HEAVY), ("local-fast", Tier.LOCAL_FAST)]:
        d = classify("Walk to the next room", {"tier": value})
        assert d.tier == expected
        assert d.score == natural.score
        assert f"forced:tier-{int(expected)}" in d.reasons
    assert classify("Walk to the next room", {"tier": "cloud"}).tier == Tier.CLOUD_API
    assert classify("Walk to the next room", {"tier": "LOCAL_HEAVY"}).tier == Tier.LOCAL_HEAVY


@pytest.mark.parametrize("bad", [0, 4, "tier-9", "gpu", 2.5, True])
def test_invalid_forced_tier_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="tier"):
        classify("hello", {"tier": bad})


def test_allow_cloud_false_caps_tier() -> None:
    d = classify("Walk to the next room", {"tier": 3, "allow_cloud": False})
    assert d.tier == Tier.LOCAL_HEAVY
    assert "cloud-not-allowed" in d.reasons and "forced:tier-3" in d.reasons
    # With a reachable cloud threshold a hard prompt would go to the cloud, but not when cloud is off.
    hard = "Design an algorithm to detect cycles in a directed graph and prove its correctness."
    th = Thresholds(heavy=0.3, cloud=0.6)
    assert classify(hard, thresholds=th).tier == Tier.CLOUD_API
    assert classify(hard, {"allow_cloud": False}, th).tier == Tier.LOCAL_HEAVY
    # allow_cloud=True or a missing key changes nothing.
    assert classify("Walk to the next room", {"allow_cloud": True}).tier == Tier.LOCAL_FAST


def test_default_cloud_threshold_is_unreachable() -> None:
    assert Thresholds().cloud > 1.0
    monster = "Design, prove and optimise a distributed consensus protocol; compare it with Raft and PBFT. " * 50
    assert classify(monster).tier == Tier.LOCAL_HEAVY


def test_thresholds_move_the_boundary() -> None:
    d = classify("Explain what a mutex is.")
    assert classify("Explain what a mutex is.", thresholds=Thresholds(heavy=d.score)).tier == Tier.LOCAL_HEAVY
    assert classify("Explain what a mutex is.", thresholds=Thresholds(heavy=d.score + 1e-9)).tier == Tier.LOCAL_FAST


def test_few_shot_prompt_is_judged_on_its_last_question() -> None:
    shots = "".join(f"Question {i}: What colour is the sky?\nA) blue\nB) green\nAnswer: A\n\n" for i in range(5))
    easy = classify(shots + "Question: What colour is grass?\nA) blue\nB) green\nAnswer:")
    hard = classify(
        shots
        + "Question: Derive the variance of a binomial distribution and prove each step.\nA) np\nB) np(1-p)\nAnswer:"
    )
    assert "few-shot" in easy.reasons
    assert hard.score > easy.score


def test_huge_prompt_is_long_and_read_through_a_bounded_window() -> None:
    # Speed is measured in bench/classify_speed.py, not asserted here. What is asserted: length counts
    # the whole text, while the lexical signals see a bounded window (so 100 kB and 1 MB of the same
    # filler give the same reasons, and the cost stays bounded).
    medium = classify("Design a system. " + "lorem ipsum dolor sit amet, " * 4_000)  # ~110 kB
    huge = classify("Design a system. " + "lorem ipsum dolor sit amet, " * 40_000)  # ~1.1 MB
    assert huge.tier == Tier.LOCAL_HEAVY and "long-prompt" in huge.reasons
    assert set(huge.reasons) == set(medium.reasons)
    assert huge.score >= medium.score


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

_text = st.text(max_size=400)
_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": _text}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": _text})}),
    _text,
)
_content = st.one_of(_text, st.none(), st.lists(_part, max_size=4), st.integers())
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool", "developer"]), "content": _content}
)
_task = st.one_of(_text, st.lists(_message, max_size=8))
_tier_value = st.one_of(st.sampled_from([1, 2, 3]), st.sampled_from(["tier-1", "local-heavy", "cloud", "LOCAL_FAST"]))
_thresholds = st.builds(
    Thresholds,
    heavy=st.floats(min_value=0.0, max_value=1.2, allow_nan=False),
    cloud=st.floats(min_value=0.0, max_value=1.5, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(task=_task)
def test_any_input_gives_a_valid_decision(task: object) -> None:
    d = classify(task)  # type: ignore[arg-type]
    assert 0.0 <= d.score <= 1.0
    assert d.tier in Tier
    assert isinstance(d.reasons, tuple)
    assert d.tier != Tier.CLOUD_API  # default cloud threshold is unreachable


@settings(max_examples=200, deadline=None)
@given(task=_task, forced=st.one_of(st.none(), _tier_value), thresholds=_thresholds)
def test_allow_cloud_false_never_yields_tier_3(task: object, forced: object, thresholds: Thresholds) -> None:
    context: dict[str, object] = {"allow_cloud": False}
    if forced is not None:
        context["tier"] = forced
    assert classify(task, context, thresholds).tier != Tier.CLOUD_API  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(task=_task, forced=_tier_value)
def test_forcing_always_wins(task: object, forced: object) -> None:
    d = classify(task, {"tier": forced})  # type: ignore[arg-type]
    assert d.tier == Tier.parse(forced)
    assert d.score == classify(task).score  # type: ignore[arg-type]
