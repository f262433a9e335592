"""What the request asks (classify/intent.py, issue #12): questions that ask for reasons are tier 2 however
short, mechanical edits of supplied content tier 1 however long, labels and trivial uses of planning verbs,
and intent phrases read only in their own sense. The dev-set figures are in test_classify.py."""

from __future__ import annotations

import pytest

from tiered_router.classify import classify, classify_tier
from tiered_router.tiers import Tier


@pytest.mark.parametrize(
    "prompt",
    [
        "Why did Rome fall?",  # a cause, in four words
        "Is P equal to NP? Argue.",  # a yes/no question, then a reasoning imperative
        "What caused the Great Depression?",
        "How do tides work?",  # a mechanism, not "how do you say ..."
        "Is it fair to tax inheritances?",  # a judgement
        "Should schools drop homework?",
        "Show there is no largest prime.",
        "Tell me why the sky is blue.",  # "tell me" frames the question
        "How could a village keep its only shop open?",  # advice or a hypothetical
        "Our sign-ups halved last month. What would you check first?",
        "Take me through how a bill becomes law.",
        "Was the Treaty of Versailles too harsh? Make a case.",
    ],
)
def test_short_questions_asking_for_reasons_are_tier_2(prompt: str) -> None:
    assert classify_tier(prompt) == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        # the question wrapped in a framing that asks to understand it
        "Help me understand how compound interest grows a pension.",
        "I don't get why the Treaty of Versailles led to another war.",
        "Can you break down how a bill turns into law?",
        "I'm curious why some languages have grammatical gender.",
        # a yes/no question that weighs a claim rather than asks a fact
        "Is remote work really more productive?",
        "Is wind power more effective than solar in Scotland?",
        "Is coffee healthier than tea? Back up your answer.",
        "Can a thermostat ever be said to want something?",
        # chat style: a question with no question mark
        "should zoos exist",
        "is it wrong to skip jury duty for a holiday",
        # advice for someone else
        "Where should a first-time manager start, and what traps should they avoid?",
    ],
)
def test_questions_asking_for_reasons_in_other_words_are_tier_2(prompt: str) -> None:
    assert classify_tier(prompt) == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "Is Mount Everest taller than K2?",  # a comparative that measures is a lookup
        "Add these up: 3.20, 4.50, 1.10, 7.25, 2.00, 9.99. What's the total?",  # a list is one thing, not constraints
        "How many legs does a spider have?",
    ],
)
def test_lookups_and_brief_answers_stay_tier_1(prompt: str) -> None:
    assert classify_tier(prompt) == Tier.LOCAL_FAST, classify(prompt)


def test_a_demand_for_a_brief_answer_lowers_the_score_and_says_so() -> None:
    open_question = classify("Should the app's main button say Send or Submit?")
    brief = classify("Should the app's main button say Send or Submit? Just pick one word.")
    assert "brief-answer" in brief.reasons and "brief-answer" not in open_question.reasons
    assert brief.score < open_question.score


def test_mechanical_edits_of_supplied_content_are_tier_1_however_long() -> None:
    names = ["Zoe", "Adam", "Priya", "Marcus", "Lena", "Oscar", "Beatrice", "Hiro", "Yusuf", "Clara"]
    for n in (4, 10, 40):
        d = classify("Sort these names alphabetically: " + ", ".join((names * 4)[:n]) + ".")
        assert d.tier == Tier.LOCAL_FAST and "mechanical-edit" in d.reasons, (n, d)
        assert "constraints" not in d.reasons  # the commas are items, not constraints
    paragraph = ("Put this in the past tense and change nothing else: Every morning the baker opens the shop, "
                 "lights the ovens, sets out the loaves, greets the first customers and sweeps the step.")
    assert classify(paragraph).tier == Tier.LOCAL_FAST
    # The same shape with reasoning in the instruction, or code as the content, is not a mechanical edit.
    for hard in ("Fix this deadlock and explain it: thread 1 locks A then B, thread 2 locks B then A.",
                 "Convert this function to an iterative one and prove they agree: def f(n): return f(n - 1) + 1"):
        d = classify(hard)
        assert d.tier == Tier.LOCAL_HEAVY and "mechanical-edit" not in d.reasons, (hard, d)


def test_a_scene_before_a_simple_action_is_context() -> None:
    d = classify("The hall is cold and dark, rain beats on the windows, a clock ticks somewhere above, and "
                 "the fire has gone out. Light the candle.")
    assert d.tier == Tier.LOCAL_FAST and "scene-then-action" in d.reasons


def test_planning_words_used_trivially_and_action_verbs_asking_for_reasoning() -> None:
    # A label ("Plan:", "Strategy:") names the message; the request is the action after it.
    for prompt in ("Plan: open the door.", "Strategy: just keep walking north.", "Prove you're awake: say 'hi'."):
        d = classify(prompt)
        assert d.tier == Tier.LOCAL_FAST and "plan-request" not in d.reasons, (prompt, d)
    # A reasoning verb applied to a small piece of data is an operation on it.
    for prompt in ("Compare these two numbers: 48213 and 48231.", "Evaluate 12 × 4 − 6.",
                   "Analyse the word 'unhappiness' into prefix, root and suffix."):
        assert classify_tier(prompt) == Tier.LOCAL_FAST, prompt
    # ... but "the number of ways" is not a piece of data, and a label over a real task keeps the task.
    ways = classify("Determine the number of ways to tile a 2 by n board with dominoes.")
    assert "task-verb" in ways.reasons and "action-verb" not in ways.reasons
    assert classify_tier("Task: design a schema for multi-tenant invoices.") == Tier.LOCAL_HEAVY
    # A label ending in a noun is a label whatever its first word; "walk" after "the long" is a noun.
    assert "plan-request" not in classify("Design note: open the settings page.").reasons
    walk = classify("After the long walk through the valley you reach a gate. Open the gate.")
    assert walk.tier == Tier.LOCAL_FAST and "scene-then-action" in walk.reasons
    # "return the books" in a to-do list is not code.
    todo = classify("Make a to-do list from this: call the bank, buy stamps, return the library books, pay rent.")
    assert todo.tier == Tier.LOCAL_FAST and "mechanical-edit" in todo.reasons
    # Generic and action verbs that ask for a plan, a proof or a decision.
    for prompt in ("Make a migration plan for moving the orders table to PostgreSQL.",
                   "Write a proof that every bounded monotone sequence converges.",
                   "Give me a strategy to beat a stronger chess player.",
                   "Pick between a job at a startup and one at a bank for someone with a new mortgage.",
                   "Turn these meeting notes into a project plan for the next quarter."):
        assert classify_tier(prompt) == Tier.LOCAL_HEAVY, prompt


def test_intent_phrases_count_only_in_their_sense() -> None:
    """Phrases that are intent in one sense and something else in another (found in benchmark word problems
    and coding tasks): they must not fire in the other sense."""
    cases = {
        "How much does Karen earn in two days if she works 8 hours a day at $10 an hour?": "explain-why",
        "Mico and Marco are 20 together. What will be their total age in 5 years?": "explain-why",
        "There are 10 eggs in one basket and 20 in another. How many eggs are in both baskets put together?":
            "plan-request",
        "He saves by buying 18 flowers at the better price. How much does he pay?": "plan-request",
        "According to the article, how many species were found in the survey?": "long-form",
        "Shiela must submit a 15-page research paper and has finished 1/3 of it. How many pages are left?":
            "long-form",
        "Write a function to create a new tuple from the given string and list.": "multi-step",
        "Write a function to remove the parenthesis and what is inbetween them from a string.": "closed-form",
    }
    for prompt, reason in cases.items():
        assert reason not in classify(prompt).reasons, (prompt, classify(prompt).reasons)
    # ... and still fire in their own sense.
    assert "explain-why" in classify("Explain how the immune system works.").reasons
    assert "explain-why" in classify("What would happen if the Moon disappeared?").reasons
    assert "plan-request" in classify("Put together a budget for a family of four.").reasons
    assert "long-form" in classify("Write a 1500-word article on tidal power.").reasons


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("Hi! I hope your week is going well. My son and I argued about this at breakfast and could not settle "
         "it, so I said I'd ask you: how many moons does Mars have?", "lookup"),
        ("You are in a cellar. Barrels line the walls, a lantern flickers and the stairs creak behind you. "
         "What do you do? > light the lantern", "action-verb"),
        ("Thanks for all your help with the move last month, it has been a hectic few weeks at work and at "
         "home; one small thing today: please change 'grey' to 'gray' in this line: \"The grey cat sat.\"",
         "action-verb"),
    ],
)
def test_context_then_a_simple_request_counts_the_context_at_a_quarter(prompt: str, reason: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and reason in d.reasons, d
    assert "scene-then-action" in d.reasons or "context-then-question" in d.reasons, d


def test_a_word_problems_numbers_are_its_data_not_context() -> None:
    problem = ("A baker sells 48 rolls in the morning and half as many in the afternoon; 12 are returned. "
               "How many rolls did the baker sell in the end?")
    assert "context-then-question" not in classify(problem).reasons


_CSV = ("city,country,population,area_km2\nOslo,Norway,709000,454\nLyon,France,522000,48\n"
        "Porto,Portugal,232000,41\nGraz,Austria,291000,127\nTurku,Finland,195000,245\n")
_CLAUSE = ("7.2 The Tenant may end this tenancy by giving the Landlord not less than one calendar month's notice in "
           "writing, ending on a rent day. Notice sent only by text message is not valid, and keys must be returned "
           "to the letting office on or before the last day of the tenancy.")
_CODE = "```python\ndef mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n```"


def test_content_first_then_a_short_instruction_reads_the_instruction() -> None:
    table = classify(_CSV + "\nturn this into a markdown table")
    assert table.tier == Tier.LOCAL_FAST and "mechanical-edit" in table.reasons, table
    question = classify(_CLAUSE + "\n\nhow much notice does that clause ask for, and can I text it?")
    assert question.tier == Tier.LOCAL_FAST and "context-then-question" in question.reasons, question
    # Code asked about is a problem to work on, not text to read an answer from.
    bug = classify(_CODE + "\n\nwhy does this blow up on an empty list and what's the cleanest fix?")
    assert "context-then-question" not in bug.reasons and "mechanical-edit" not in bug.reasons, bug


def test_layout_edits_treat_supplied_code_as_material() -> None:
    for instruction in ("rename total to running_sum everywhere", "fix the spelling in the comments only"):
        d = classify(instruction + "\n\n" + _CODE.replace("def mean", "# calcualte the avrage\ndef mean"))
        assert d.tier == Tier.LOCAL_FAST and "mechanical-edit" in d.reasons, (instruction, d)
        assert "code" not in d.reasons  # the code is what is edited, not what makes it hard
    assert classify("make this faster\n\n" + _CODE).tier == Tier.LOCAL_HEAVY  # not a layout edit


@pytest.mark.parametrize(
    "prompt",
    [
        "Figure out how to sneak the prisoners past the bridge guards.",  # a planning verb of two words
        "How do we defeat the dragon with only two healers?",  # how-to, but a goal to reach
        "Does a hash-based algorithm always beat a sorted list for lookups?",  # a general claim to test
        "Which database fits a chat app best: Postgres, Mongo or Cassandra?",  # a choice by a superlative
        "What's the most time-efficient route through the three dungeons?",
        "Our raid keeps wiping at the second boss. What changes to the team would fix that?",  # a remedy
    ],
)
def test_planning_asked_in_everyday_words_is_tier_2(prompt: str) -> None:
    assert classify_tier(prompt) == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "The torches gutter as the wind rises and the old bridge creaks beneath our boots. I cross to the far side.",
        "The merchant counts his coins twice and eyes my pack with a greedy little smile. She sells him the pelts.",
        "Long day at the office, the printer jammed twice and lunch was cold, so could you just convert 72 F to C?",
    ],
)
def test_a_move_told_in_the_first_or_third_person_after_a_scene_is_tier_1(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "scene-then-action" in d.reasons, d


def test_a_goal_of_ones_own_is_not_a_request_to_act() -> None:
    # "I need to convert ..." asks the assistant to convert; "I want to pay off ..." states a goal.
    assert "action-verb" in classify("I'm a pharmacist and I need to convert 2 grains to milligrams.").reasons
    assert "action-verb" not in classify("I want to pay off three credit cards with different rates.").reasons


def test_quoted_names_are_material_not_the_request() -> None:
    d = classify("Move 'migration strategy draft.pdf' into the Archive folder.")
    assert d.tier == Tier.LOCAL_FAST and "plan-request" not in d.reasons, d
    assert classify("Write a migration strategy for 'billing-db' with zero downtime.").tier == Tier.LOCAL_HEAVY


def test_a_move_told_first_is_an_action_unless_a_question_follows() -> None:
    move = classify("I climb over the fallen beam and follow the tunnel toward the sound of running water.")
    assert move.tier == Tier.LOCAL_FAST and "action-verb" in move.reasons, move
    asked = classify("I sit by the fire and think hard about how to win the three barons over before winter. "
                     "What's my best move?")
    assert asked.tier == Tier.LOCAL_HEAVY, asked


@pytest.mark.parametrize(
    "prompt",
    [
        "Postgres or MongoDB for a booking system?",
        "Sell the car now or wait until spring for my trade-in?",
        "Rent or buy for our family of four in Austin?",
        "Python or Go for our internal CLI tools?",
    ],
)
def test_an_alternative_for_a_purpose_or_with_a_stake_is_a_decision(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_HEAVY and "judgement" in d.reasons, d


@pytest.mark.parametrize(
    "prompt",
    ["Left or right?", "Take the sword or the shield?", "Tea or coffee for breakfast?", "Is 29 prime or composite?",
     "Which is heavier, a kilo of feathers or a kilo of steel?", "Attack the goblin or flee?"],
)
def test_an_alternative_with_no_purpose_or_stake_or_asked_as_a_lookup_is_not(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "judgement" not in d.reasons, d


def test_telling_or_asking_a_person_close_to_you_is_advice_but_telling_a_thing_is_not() -> None:
    for prompt in ("How should I tell my manager I'm burning out?",
                   "how do we break the news to our kids about the move"):
        d = classify(prompt)
        assert d.tier == Tier.LOCAL_HEAVY and "plan-request" in d.reasons, d
    for prompt in ("How do I tell if an egg is bad?", "How do I tell my phone to stop autocorrecting?"):
        assert classify(prompt).tier == Tier.LOCAL_FAST, prompt


def test_how_long_or_how_often_should_i_asks_for_a_quantity_not_advice() -> None:
    for prompt in ("How many minutes should I microwave rice?", "How long should I steep green tea?"):
        d = classify(prompt)
        assert d.tier == Tier.LOCAL_FAST and "plan-request" not in d.reasons, d
    assert classify("How should I structure my savings across three accounts?").tier == Tier.LOCAL_HEAVY


def test_asking_for_the_short_version_is_a_brief_answer() -> None:
    d = classify("what's the difference between its and it's, short answer")
    assert d.tier == Tier.LOCAL_FAST and "brief-answer" in d.reasons, d
    assert classify("Explain the difference between TCP and UDP congestion control in depth.").tier == Tier.LOCAL_HEAVY


@pytest.mark.parametrize(
    "prompt",
    [
        # The question is not the last sentence: a remark follows it.
        "good evening, i am learning english and also learning some history at night school, the teacher is very "
        "kind but fast and i miss things often. who was the first president of the united states? my notes say "
        "lincoln but that looks wrong.",
        # "What does X stand for / mean" asks for a definition.
        "So I started a new job at a logistics firm last week and everyone speaks in acronyms in the standup, I "
        "nod along and write them down to look up later. Here's the first one: what does ETA stand for?",
    ],
)
def test_a_simple_question_after_a_long_preamble_is_a_lookup(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "context-then-question" in d.reasons, d


def test_the_words_of_notes_to_reformat_do_not_make_the_edit_a_plan() -> None:
    d = classify("Turn these notes into bullet points, change nothing else:\n\nwe agreed the rollout strategy "
                 "needs a risk analysis before the budget review, our team owns the migration, priya drafts the "
                 "architecture proposal by friday, legal reviews the contract next week.")
    assert d.tier == Tier.LOCAL_FAST and "mechanical-edit" in d.reasons, d
    assert "reasoning-words" not in d.reasons and "substantial-deliverable" not in d.reasons, d


@pytest.mark.parametrize(
    "prompt",
    [
        "Which user has the highest score in this export?\nname,score,team\nana,82,red\nbo,97,blue\ncy,64,red\n"
        "dee,91,blue\neli,77,green",
        "so this is the config our deploy bot printed, what's the replica count?\n\nreplicas: 3\nimage: api:2.4.1\n"
        "memory: 512Mi\ncpu: 250m\nport: 8080",
        'What is the order id in this webhook body?\n\n{"event": "order.created", "data": {"order_id": "ord_5512", '
        '"total": 42.5, "currency": "EUR"}, "ts": 1718000000}',
    ],
)
def test_a_value_looked_up_in_pasted_data_is_a_lookup_whatever_the_data_holds(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "context-then-question" in d.reasons and "code" not in d.reasons, d


def test_a_question_about_what_pasted_code_does_is_not_a_lookup() -> None:
    d = classify("What does this function print?\n\ndef g(xs):\n    out = []\n    for x in xs:\n        if x % 3 == 0:"
                 "\n            out.append(x * x)\n    print(sum(out))\ng(range(10))")
    assert d.tier == Tier.LOCAL_HEAVY and "context-then-question" not in d.reasons, d


@pytest.mark.parametrize(
    "prompt",
    [
        "my teacher keeps writing 'sic' next to quotes in my essay, what does sic mean?",
        "We're repainting the hallway this weekend and my partner keeps saying eggshell, I keep saying satin, and "
        "the shop guy said something else entirely. Quick question: what is eggshell paint?",
    ],
)
def test_a_short_question_at_the_end_of_chat_is_a_lookup(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "context-then-question" in d.reasons and "judgement" not in d.reasons, d


def test_a_word_problem_with_quantities_in_words_is_not_a_question_after_context() -> None:
    d = classify("Jan has three times as many pens as Marco. Marco has two more pens than Lea. If Lea has four "
                 "pens, how many pens do the three have?")
    assert "context-then-question" not in d.reasons, d


@pytest.mark.parametrize(
    "prompt",
    [
        "Best loadout for a sniper in Warzone?",
        "What's the best opening against a player who always plays the King's Indian?",
        "help me negotiate my rent renewal",
        "Tell me how to prioritise my side projects so none of them stall",
        "what breaks if we switch our queue from SQS to Kafka",
        "Is my plan feasible: opening a second cafe with one manager?",
        "Ann says Ben lies. Ben says Cal lies. Cal says Ann and Ben both lie. Who is telling the truth?",
    ],
)
def test_strategy_consequences_feasibility_and_liar_puzzles_are_tier_2(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)


def test_a_one_line_summary_is_a_brief_answer_and_negotiating_in_a_game_is_an_action() -> None:
    d = classify("Give me a one-line summary: 'The meeting moved to Thursday and lunch is provided.'")
    assert d.tier == Tier.LOCAL_FAST and "brief-answer" in d.reasons, d
    assert classify("Negotiate with the merchant.").tier == Tier.LOCAL_FAST


@pytest.mark.parametrize(
    "prompt",
    [
        "memory leak only in prod after a week — ideas?",
        "redis vs memcached for session storage, thoughts?",
        "Tell me whether we should rent or buy office space — we're 12 people",
    ],
)
def test_asking_for_ideas_an_opinion_or_whether_to_do_something_is_tier_2(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "set the timeout to 30s and leave everything else alone\n\n```toml\n[server]\nhost = \"0.0.0.0\"\n"
        "timeout = \"10s\"\nworkers = 4\n```",
        "Add a docstring to this function, keep the code unchanged.\n\ndef area(w, h):\n    return w * h",
        'turn this into a markdown table\n\n[{"city": "Oslo", "temp": 4}, {"city": "Rome", "temp": 17}, '
        '{"city": "Cairo", "temp": 29}]',
        "Support ticket follows. Just pull out the customer's email and the invoice number.\n\n\"Hi, I was charged "
        "twice for invoice INV-2207 this month. Please refund one of them. You can reach me at lena@kraft.example. "
        "Thanks, Lena\"",
    ],
)
def test_an_edit_that_changes_nothing_else_or_works_on_json_data_is_mechanical(prompt: str) -> None:
    d = classify(prompt)
    assert d.tier == Tier.LOCAL_FAST and "mechanical-edit" in d.reasons, d


def test_a_repair_that_changes_nothing_else_is_still_a_problem() -> None:
    d = classify("Fix the race condition in this function and change nothing else\n\nasync def bump(counter):\n"
                 "    value = await counter.get()\n    await counter.set(value + 1)")
    assert d.tier == Tier.LOCAL_HEAVY and "mechanical-edit" not in d.reasons, d


def test_a_lookup_asked_as_tell_me_after_chat_and_a_browser_click_are_tier_1() -> None:
    d = classify("ugh my brother and I have been arguing about this all evening and neither of us will back down, "
                 "dinner is getting cold. settle it for us: tell me who painted the Mona Lisa")
    assert d.tier == Tier.LOCAL_FAST and "context-then-question" in d.reasons, d
    assert "action-verb" in classify("Click the login button.").reasons


@pytest.mark.parametrize(
    "prompt",
    [
        "Great Depression, 1929 — cause?",
        "Seasons. Why?",
        "bread rises, cake collapses. what gives",
        "Fall of Constantinople. Avoidable?",
        "coffee and longevity — causal or correlational?",
        "What made the 1918 flu so deadly?",
        "2011 Thai floods: what drove the chip shortage?",
        "signups halved since the redesign. now what",
        "Evicted, two weeks to move, no savings. What are my options?",
        "Hiring: senior generalist, or two juniors?",
        "When is a median better than a mean? Characterize it precisely.",
    ],
)
def test_terse_requests_for_a_cause_a_verdict_or_a_next_step_are_tier_2(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "What is the next step after mixing the dough, according to this recipe card?",
        "My character should probably head over to the stables now.",
        "I reckon my character ought to grab the lantern.",
        "Would you mind telling me the capital of Peru?",
        "Rome: what's the population?",
        "Is it Sydney or Canberra, the capital?",
    ],
)
def test_wordy_moves_and_lookups_and_topics_before_a_lookup_stay_tier_1(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_FAST, classify(prompt)


def test_a_verdict_on_a_move_in_two_words_and_big_o_are_tier_2_boiling_text_down_is_not() -> None:
    for prompt in ("Lease a car at 5.9% over three years instead of paying cash, worth it?",
                   "Switching our team from Jira to Linear mid-quarter, good idea?",
                   "Big-O of: for i in 1..n: j = i; while j < n: j *= 2"):
        assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)
    for prompt in ("Boil this down to under 10 words: 'Our office will be closed on Monday for the public holiday "
                   "and will reopen on Tuesday at nine.'",
                   "Fix the grammar only, keep my words: 'me and him goes to the market every days.'"):
        assert classify(prompt).tier == Tier.LOCAL_FAST, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "armor or weapon upgrade first on a level 10 paladin?",
        "Fight the dragon now or grind two more levels? 3 potions left, boss at 60% HP.",
        "my bakery keeps running out of croissants by 10am, what am i doing wrong",
        "which 3 units counter a cavalry rush?",
        "best way to defend the gate with 8 spearmen?",
        "Which two talents pair best if I want to solo the raid boss?",
        "5 nurses, 3 shifts, 2 need weekends off — who does what?",
        "how do I get the guild master to agree without paying the full fee?",
    ],
)
def test_game_and_scheduling_decisions_asked_in_a_phrase_are_tier_2(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "Round 4. The orc is at range 2, your mage has 12 mana and the fire bolt costs 5. Cast fire bolt at the orc.",
        "The reactor hums. Fuel at 40%, shields down. Refuel the ship.",
        "Which animal would most likely survive a cold winter? A) frog B) bear C) snake D) lizard",
        "The goblin charges. Attack or flee?",
        "Sell the ruby or keep it?",
    ],
)
def test_moves_after_a_game_status_and_quick_choices_stay_tier_1(prompt: str) -> None:
    assert classify(prompt).tier == Tier.LOCAL_FAST, classify(prompt)


def test_output_formats_of_a_word_or_two_sentences_are_brief_and_a_named_deliverable_is_a_plan() -> None:
    for prompt in ("Classify the ticket into one of: BILLING, SHIPPING, OTHER. Output the label only.\n\nTicket: "
                   "'my parcel never arrived and the tracking stopped a week ago, can you help'",
                   "Reply in character as a cheerful shopkeeper, max two sentences: 'do you sell rope?'",
                   "Rate this review, answer positive/negative/neutral: 'Great fit, fast delivery.'"):
        d = classify(prompt)
        assert d.tier == Tier.LOCAL_FAST and "brief-answer" in d.reasons, d
    for prompt in ("schema for a multi-tenant invoicing app", "roadmap for moving our billing off the monolith",
                   "How many ways can you climb 12 stairs taking 1 or 2 at a time? Show the reasoning.",
                   "postgres or dynamo, 3 engineers and 50k users?"):
        assert classify(prompt).tier == Tier.LOCAL_HEAVY, classify(prompt)
    assert classify("Plan for the rogue: open the chest and take the gold.").tier == Tier.LOCAL_FAST
