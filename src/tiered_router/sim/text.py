"""Deterministic answer text and the simulator's tokenizer.

A token is a short run of letters (a lower-case run of up to 8, with an optional capital in front, or up
to 4 capitals), up to 3 digits, or one other character, so "Hello, world!" is four tokens. That is
about what a real byte-level tokenizer gives for prose, and as pessimistic as one for adversarial text:
random-case base64 costs a token every 2 to 4 characters, digits a token every 3, punctuation a token
each, a non-ASCII character one token per UTF-8 byte, and a whitespace run one more token every 4
characters. So a text never counts more tokens than it has UTF-8 bytes, the bound the router reserves
the budget on. Streaming pieces keep their leading whitespace, which makes ``"".join(pieces(text)) ==
text`` for any text without trailing whitespace, and ``len(pieces(text)) == count_tokens(text)`` for the
simulator's own (ASCII, single-spaced) answers.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from functools import lru_cache

_TOKEN = r"[A-Z]?[a-z]{1,8}|[A-Z]{1,4}|[0-9]{1,3}|[^\sA-Za-z0-9]"
_COUNT_RE = re.compile(_TOKEN)
_PIECE_RE = re.compile(r"\s*(?:" + _TOKEN + ")")
_WIDE_SPACE_RE = re.compile(r"\s{4,}")
_SPACE_RE = re.compile(r"\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s")
_JSON_ASK_RE = re.compile(
    r"\b(?:in|as|with|return|returns|output|respond|reply|answer|valid|only|using)\s+(?:a\s+|an\s+|valid\s+)?json\b"
    r"|\bjson\s+(?:object|format|only|response|output)\b",
    re.IGNORECASE,
)
# First words that make a prompt a question or a writing/planning task rather than an in-story action.
_TASK_WORDS = frozenset(
    """what why how when where who whom which whose is are was were am do does did can could should would
    will shall may might must explain describe compare summarize summarise list outline plan design write
    give tell analyze analyse help suggest recommend propose create draft evaluate discuss define translate
    calculate compute estimate find show prove solve review rewrite generate please""".split()
)
_SWAPS = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are", "i'm": "you're"}
_SWAP_RE = re.compile(r"\b(?:i'm|i|me|my|mine|myself|am)\b", re.IGNORECASE)

REFUSAL = "I'm sorry, but I can't help with that."
_GREETING = "Hello! It is good to hear from you. What would you like to do next?"
_THANKS = "You're welcome! Let me know if there is anything else you need."
_ACK = "Understood. Tell me what you would like to do next and I will take it from there."
_SOCIAL = {
    **dict.fromkeys(("hi", "hello", "hey", "greetings", "howdy", "yo", "hiya"), _GREETING),
    **dict.fromkeys(("thanks", "thank", "thx", "cheers"), _THANKS),
    **dict.fromkeys(("ok", "okay", "yes", "no", "sure", "fine", "alright", "bye", "goodbye"), _ACK),
}

_SCENE = (
    "The air is cool and still, and the only sound is the soft echo of your footsteps.",
    "A faint draft carries the smell of old stone and candle smoke.",
    "Dust drifts through a thin beam of light as you move.",
    "Somewhere nearby a floorboard creaks, then everything falls silent again.",
    "It goes smoothly, and nothing seems to stand in your way.",
    "The shadows in the corners look deeper than they did a moment ago.",
)
_DISCOVERY = (
    "A narrow doorway on the far side leads deeper into the building.",
    "On a small table you notice a brass key resting beside a folded note.",
    "To your left, a worn staircase climbs toward a faint golden glow.",
    "A wooden chest sits against the wall, its lid slightly open.",
    "Through a cracked window you can see the courtyard and the old well.",
    "A tapestry on the wall shows a map with one room circled in red ink.",
)
_PROMPT_NEXT = ("What do you do next?", "Where would you like to go from here?", "What is your next move?")

_STEPS = (
    "Clarify the goal and the constraints first, so you know what a good result looks like and how to measure it.",
    "Gather what you need: the current state, the resources available, and any deadlines or limits that apply.",
    "Break the work into small, testable pieces and start with the one that removes the most uncertainty.",
    "Compare at least two options and weigh their trade-offs in cost, effort and risk before committing.",
    "Carry out the chosen approach step by step, checking each result before moving on.",
    "Plan for problems: decide in advance how you would notice a failure and how you would roll back.",
    "Review the outcome against the original goal and note what worked and what you would change.",
    "Share the result with the people affected and agree on the next milestone.",
)
_INTROS = (
    "The most reliable way to handle {subject} is to work through it in a few clear steps.",
    "Here is a practical approach to {subject}, broken into steps you can follow in order.",
    "A structured plan works well for {subject}. I would tackle it like this.",
)
_OUTROS = (
    "Following these steps keeps the effort focused and makes the result easy to verify.",
    "Taken together, these steps give you a clear path from the first idea to a checked result.",
    "If you keep each step small and verified, the whole task stays manageable.",
)
_JSON_SUMMARIES = (
    "Start by clarifying the goal, then work through the steps in order and verify each result.",
    "Break the task into small steps, compare the options, and check the outcome against the goal.",
    "Gather the facts first, choose the option with the best trade-offs, and review the result.",
)
_JSON_STEPS = (
    "Clarify the goal", "Gather the facts", "Compare the options", "Carry out the plan",
    "Check each result", "Review the outcome",
)


def count_tokens(text: str) -> int:
    # Prompts repeat a lot (system prompts, benchmark loops): short texts are counted once.
    return _count_cached(text) if len(text) <= 8192 else _count(text)


@lru_cache(maxsize=4096)
def _count_cached(text: str) -> int:
    return _count(text)


def _count(text: str) -> int:
    tokens = len(_COUNT_RE.findall(text))
    if not text.isascii():  # a non-ASCII character is one token per UTF-8 byte, as in byte fallback
        tokens += sum(len(ch.encode("utf-8", "surrogatepass")) - 1 for ch in text if ord(ch) > 127 and not ch.isspace())
    if "   " in text or "\n\n" in text or "\t" in text:
        tokens += sum(len(run) // 4 for run in _WIDE_SPACE_RE.findall(text))
    return tokens


def pieces(text: str) -> list[str]:
    """Streaming deltas: one per token, each with the whitespace that precedes it."""
    return _PIECE_RE.findall(text)


def asks_for_json(text: str) -> bool:
    return bool(_JSON_ASK_RE.search(text))


def _seed(*parts: str) -> int:
    return zlib.crc32("\x00".join(parts).encode("utf-8", "surrogatepass"))


def _second_person(text: str) -> str:
    return _SWAP_RE.sub(lambda m: _SWAPS[m.group(0).lower()], text)


def _first_sentence(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _SENTENCE_END_RE.split(line, maxsplit=1)[0].strip()


def _is_action(text: str) -> bool:
    words = text.split()
    if not words or len(words) > 12 or text.rstrip().endswith("?") or "\n" in text.strip():
        return False
    return words[0].lower().strip(",.!:;") not in _TASK_WORDS


def _narrative(text: str, seed: int) -> str:
    action = _second_person(_first_sentence(text).rstrip(".!;: "))
    action = action[:1].lower() + action[1:]
    return " ".join((
        f"You {action}.",
        _SCENE[seed % len(_SCENE)],
        _DISCOVERY[(seed >> 8) % len(_DISCOVERY)],
        _PROMPT_NEXT[(seed >> 16) % len(_PROMPT_NEXT)],
    ))


def _plan(text: str, model: str, seed: int) -> str:
    first = _first_sentence(text).rstrip("?.!:; ")
    words = first.split()
    subject = f'"{first}"' if 0 < len(words) <= 14 else "this request"
    # Four of the eight steps, picked by the seed, kept in their natural order (clarify before review).
    chosen = sorted(random.Random(seed).sample(range(len(_STEPS)), 4))
    steps = [_STEPS[i] for i in chosen]
    intro = _INTROS[(seed >> 8) % len(_INTROS)].format(subject=subject)
    lines = [("Good question. " if text.rstrip().endswith("?") else "") + intro, ""]
    lines += [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    lines += ["", f"{_OUTROS[(seed >> 16) % len(_OUTROS)]} (Simulated answer from {model}.)"]
    return "\n".join(lines)


def _json_answer(model: str, seed: int) -> str:
    start = seed % len(_JSON_STEPS)
    steps = sorted({_JSON_STEPS[(start + i) % len(_JSON_STEPS)] for i in range(3)}, key=_JSON_STEPS.index)
    return json.dumps({
        "answer": _JSON_SUMMARIES[(seed >> 8) % len(_JSON_SUMMARIES)],
        "steps": steps,
        "confidence": round(0.7 + (seed >> 16) % 26 / 100, 2),
        "model": model,
    })


@lru_cache(maxsize=4096)
def answer(model: str, prompt: str, json_mode: bool) -> str:
    """The simulator's normal answer to the last user message ``prompt`` (markers already removed)."""
    prompt = prompt.strip()
    seed = _seed(model, prompt, "json" if json_mode else "text")
    if json_mode or asks_for_json(prompt):
        return _json_answer(model, seed)
    if not prompt:
        return f"Hello! How can I help you today? (Simulated answer from {model}.)"
    words = prompt.split()
    if len(words) <= 4 and (social := _SOCIAL.get(words[0].lower().strip(",.!?"))):
        return social
    if _is_action(prompt):
        return _narrative(_SPACE_RE.sub(" ", prompt), seed)
    return _plan(prompt, model, seed)


def repetition(model: str) -> str:
    """Degenerate output, the kind a looping small model produces."""
    return "The answer is " + "the answer is " * 40 + "the answer"


def bad_json(model: str) -> str:
    """Looks like JSON, is not: unquoted key, single quotes, trailing comma."""
    return "{answer: 'Start with the basics', \"steps\": [\"plan\", \"build\", \"check\",], \"model\": '" + model + "'}"


def after_tool(model: str, result: str) -> str:
    """The answer after a tool result came back: it reports what the tool said."""
    said = _SPACE_RE.sub(" ", result.strip())[:200] or "nothing"
    return f"The tool returned: {said}. Based on that result, the task is done. (Simulated answer from {model}.)"
