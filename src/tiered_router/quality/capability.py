"""Capability disclaimers: "I cannot browse the internet.", "As a text model I do not have access to your
files.", "That is not something I can do."

A small model that cannot do what was asked often says so plainly, without the apology or the "help /
assist / provide" verb that the refusal rules (``refusal``) look for. Such an answer is a refusal: a
stronger tier may know the answer, or at least say how to get it. It is one only when the disclaimer *is*
the answer. "I can't run code, but here is what it will print: 1024" helps, and "No, I can't browse the
web" is the right answer to "Can you browse the web?".

A capability statement needs two things in one sentence, so that an in-character "I cannot open the gate
without the captain's seal" or "I can't stress enough..." is not read as one:

* an inability ("I can't", "I'm unable to", "I have no way to", "I lack the means to", "it is not
  possible for me to");
* a thing only an assistant lacks: the internet, files and images, the user's devices and accounts,
  real-time data, running code, reminders, calls. Or a self-reference: "beyond my capabilities",
  "outside what I can do", "not something I can do", "what a language model can do".

Everything is judged on the lower-cased opening that ``assess_response`` already made (``norm``, at most
700 characters), so the cost does not grow with the answer.
"""

from __future__ import annotations

import re

from .common import LazyPattern, has_any

__all__ = ["asks_about_ability", "capability_answer", "capability_disclaimer"]

_ADV = r"(?:really\s+|simply\s+|just\s+|unfortunately\s+|currently\s+|still\s+|actually\s+|personally\s+)?"
# An inability that needs a thing only an assistant lacks (_TARGET_RE) to be a capability statement.
_INABILITY = (
    r"\bi(?:'m|\s+am)\s+" + _ADV + r"(?:not\s+(?:able|capable|equipped|designed|built|connected|set\s+up|in\s+a\s+"
    r"position)|unable|incapable)\b"
    r"|\bi\s+" + _ADV + r"(?:can(?:no|')?t|can\s+not|could\s*n[o']?t|(?:do\s+not|don'?t)\s+have\s+"
    r"(?:the\s+|any\s+)?(?:ability|abilities|capability|capabilities|capacity|means|access|a\s+way|any\s+way|way|"
    r"tools?|permission|real[\s-]time|live|internet|web|current|up[\s-]to[\s-]date|browsing)|have\s+no\s+(?:way|"
    r"means|ability|capability|capacity|access|tools?|internet|connection)|lack\s+(?:the\s+|any\s+)?(?:ability|"
    r"capability|capacity|means|access|tools?)|can\s+only)\b"
    r"|\b(?:not\s+possible|impossible|no\s+way)\s+for\s+me\b"
    r"|\bthere(?:'s|\s+is)\s+no\s+way\s+(?:for\s+me|i\s+can)\b"
)
# Statements that are about the assistant's own abilities whatever follows.
_SELF_CLAIM = (
    r"(?:\bnot|n't)\s+something\s+(?:that\s+)?i(?:'m|\s+am)?\s+(?:can|could|able|capable|equipped)"
    r"|\bsomething\s+(?:that\s+)?i\s*(?:can(?:no|')?t|am\s+not\s+able|'m\s+not\s+able|am\s+unable|'m\s+unable)"
    r"|\b(?:beyond|outside(?:\s+of)?|not\s+(?:within|among|part\s+of)|isn'?t\s+(?:within|among|part\s+of)|"
    r"aren'?t\s+(?:within|among|part\s+of)|exceeds?)\s+(?:my\s+(?:capabilit|abilit|skills|scope|functions?|"
    r"reach|powers?)|the\s+(?:capabilities|abilities|scope)\s+of\s+(?:a|an|this)|what\s+(?:i|an?\s+(?:[\w-]+\s+){0,2}?"
    r"(?:ai|model|assistant|chatbot|program))\s+(?:can|could|is\s+able|am\s+able))"
)
_CLAIM_RE = LazyPattern(r"(?:" + _INABILITY + r")|(?P<self>" + _SELF_CLAIM + r")")
# "I cannot provide / help / discuss ...": what an assistant will not do, not what it cannot; the refusal
# rules judge those ("As an AI, I cannot provide guidance on ... However, ..." is a partial refusal).
_WILL_NOT_RE = LazyPattern(
    r"\s*(?:directly\s+|personally\s+|ethically\s+|in\s+good\s+conscience\s+)?(?:provide|help|assist|support|"
    r"engage|fulfil+|comply|condone|promote|encourage|endorse|give|share|discuss|create|write|generate|answer|offer|"
    r"recommend|suggest|participate|tell|say|disclose|reveal|speculate|express|justify|agree|condemn|judge)\b"
)
# What only an assistant lacks: the outside world, the user's devices and accounts, live data, running code.
# Words an in-character answer may use ("I can't open the gate", "I can't find my phone") are left out or
# need an assistant's verb in front ("see images", "run the code", "download files").
_TARGET_RE = LazyPattern(
    r"\b(?:internet|the\s+web|web\s*(?:sites?|pages?|search|browsing|access)|websites?|online|urls?|brows\w+|"
    r"attachments?|attached|uploaded|uploads|pdfs?|spreadsheets?|screenshots?|"
    r"(?:see|view|look\s+at|open|read|download|upload|access|analy[sz]e|process|watch|listen\s+to|play|stream)\s+"
    r"(?:\w+\s+){0,2}?(?:files?|documents?|images?|photos?|pictures?|videos?|audio|recordings?|music|songs?|media)|"
    r"(?:run|execute|compile|test)\s+(?:\w+\s+){0,2}?(?:code|scripts?|programs?|commands?)|"
    r"your\s+(?:computer|device|screen|desktop|laptop|phone|account|e-?mails?|inbox|calendar|files?|system|home|"
    r"camera|location|data|messages?|contacts?|accounts?|browser|playlists?|music|photos?|documents?)|devices|"
    r"real[\s-]time|live\s+(?:\w+\s+)?(?:data|information|info|feeds?|updates?|results?|scores?|prices?|news|"
    r"weather|market)|current\s+(?:events|news|data|information|prices?|weather|date|time)|up[\s-]to[\s-]date|"
    r"e-?mails?|text\s+messages|sms|(?:phone|video)\s+calls?|make\s+calls|reminders?|alarms?|timers?|"
    r"(?:previous|past|earlier|other)\s+(?:conversations?|chats?|sessions?)|external\s+(?:systems?|tools?|"
    r"services?|apis?)|apis?|the\s+physical\s+world|physical\s+(?:actions?|tasks?|form)|the\s+real\s+world|"
    r"a\s+(?:physical\s+)?body|text(?:-based|\s+only)|(?:read|process|understand|handle|generate|see|work\s+with|"
    r"respond\s+(?:in|with))\s+(?:only\s+)?(?:plain\s+)?text)\b"
)
# Right after the statement: help follows ("but here is what it will print", ", so please paste it").
_HELP_AFTER_RE = LazyPattern(
    r"\b(?:but|however|though|although|instead|that\s+said|so\s+(?:please|you|if|here|try|i'?ll|let)|if\s+you|"
    r"you\s+(?:can|could|may|might|should|'ll)|try|here(?:'s|\s+is|\s+are)?|i\s+can\s+(?!only)|i'?ll|let\s+me)\b"
    r"|:\s*\S"
)
# What may follow a bare disclaimer without making it an answer: an apology or a closing line.
_CLOSING_RE = LazyPattern(
    r"^(?:sorry|i'?m\s+sorry|i\s+am\s+sorry|i\s+apologi[sz]e|apologies|my\s+apologies|(?:is\s+there\s+)?anything\s+"
    r"else|is\s+there\s+(?:something|anything)|let\s+me\s+know|feel\s+free|i\s+hope\s+(?:you\s+understand|this|"
    r"that)|thank|thanks|how\s+else|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+)?(?:a|an)\s+[\w\s-]{0,30}?(?:model|ai|"
    r"assistant|program|chatbot))"
)
# A yes/no question about what the assistant can do ("Can you see images?", "Do you have internet access?"):
# the disclaimer is then the answer. A request phrased as a question ("Can you play my playlist?", "Can you
# open the attached file and total column B?") is not one: it names the user's things or a second action.
_ABILITY_QUESTION_RE = LazyPattern(
    r"^\s*(?:(?:hey|hi|so|ok(?:ay)?|quick\s+question)[,!:]?\s+)?(?:can|could|do|are|will|would|is\s+it\s+possible"
    r"\s+for)\s+(?:you|u)\s+(?:\w+\s+){0,2}?(?:see|view|hear|browse|access|surf|search|read|open|run|execute|"
    r"remember|recall|learn|feel|taste|smell|speak|talk|understand|process|use|connect|play|have|know|generate|"
    r"draw|create|make\s+(?:calls|images|pictures)|go\s+online|look\s+at)\b[^?\n]{0,60}\?\s*$",
    re.IGNORECASE,
)
# Questions about the assistant's limits, whatever their form.
_ABOUT_YOU_RE = LazyPattern(
    r"\b(?:why|how\s+come|what|which)\b[^?\n]{0,40}?\b(?:can'?t|cannot|can\s+not|couldn'?t|won'?t)\s+(?:you|u)\b"
    r"|\b(?:why|how\s+come)\s+(?:are|do|is)\s+(?:you|u)\s+(?:not\s+able|unable|not\s+allowed|not\s+connected)"
    r"|\byour\s+(?:own\s+)?(?:limitations|limits|capabilities|abilities|restrictions|knowledge\s+cut-?off|training\s+"
    r"cut-?off)\b|\bwhat\s+(?:can|can'?t|cannot)\s+(?:you|u)\s+(?:do|not\s+do)\b",
    re.IGNORECASE,
)
# What makes such a question a request: the user's own things, or a second action to perform.
_SECOND_ACTION = (
    r"\band\s+(?:then\s+)?(?:tell|give|find|show|send|check|summari[sz]e|read|open|total|sum|add|list|book|order|"
    r"play|look|search|get|fetch|download|print|translate|fix|write)\b"
)
_REQUEST_MARK_RE = LazyPattern(
    r"\b(?:for\s+me|my|this|these|that|the\s+attached|attached)\b|" + _SECOND_ACTION, re.IGNORECASE
)
_DO_YOU_HAVE_RE = LazyPattern(r"^\W*(?:\w+[,!:]?\s+)?do\s+(?:you|u)\s+have\b", re.IGNORECASE)
_AND_THEN_RE = LazyPattern(_SECOND_ACTION, re.IGNORECASE)
_SENTENCE_RE = LazyPattern(r"[.!?;](?:\s|$)|\n")
_MAX_BARE = 300  # a plain disclaimer is a sentence or two
# Every statement above speaks of the assistant: in the first person, or by what it is ("beyond what a
# language model can do").
_SELF_WORDS = ("i ", "i'", "me ", "me.", "my ", "model", "assistant", " ai ", "chatbot")
_APOLOGY_OPENINGS = ("sorry", "i'm sorry", "i am sorry", "i apologi", "my apologies", "apologies", "unfortunately")


def _statement(sentence: str) -> int | None:
    """Where the capability statement in ``sentence`` ends (None when there is none)."""
    m = _CLAIM_RE.search(sentence, 0, 200)
    if m is None or m.start() > 80:
        return None
    if m.group("self") is None and (_WILL_NOT_RE.match(sentence, m.end()) or not _TARGET_RE.search(sentence)):
        return None
    end: int = m.end()
    return end


def _sentences(norm: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_RE.finditer(norm):
        part = norm[start : m.end()].strip()
        if part:
            out.append(part)
        start = m.end()
    tail = norm[start:].strip()
    if tail:
        out.append(tail)
    return out


def asks_about_ability(task_text: str) -> bool:
    """The request asks what the assistant can do ("Can you see images?", "Why can't you see my screen?",
    "What are your limitations?"), rather than asking it to do something."""
    if not task_text or len(task_text) > 160 or "you" not in task_text.lower():
        return False
    if _ABOUT_YOU_RE.search(task_text):
        return True
    m = _ABILITY_QUESTION_RE.match(task_text)
    if m is None:
        return False
    # "Do you have access to my files?" asks; "Can you check my calendar?" requests.
    if _DO_YOU_HAVE_RE.match(task_text):
        return not _AND_THEN_RE.search(task_text)
    return not _REQUEST_MARK_RE.search(task_text, m.start(), m.end())


def capability_disclaimer(norm: str, stripped: str, task_text: str) -> bool:
    """The answer is a capability disclaimer and nothing more, to a request rather than a question about
    abilities. ``norm`` is the lower-cased, straightened opening that ``assess_response`` judges."""
    if len(stripped) > _MAX_BARE or not has_any(norm, _SELF_WORDS):
        return False
    parts = _sentences(norm)
    if not parts:
        return False
    end = _statement(parts[0])
    if end is None or _HELP_AFTER_RE.search(parts[0], end):
        return False
    for rest in parts[1:]:
        if _CLOSING_RE.match(rest):
            continue
        more = _statement(rest)
        if more is None or _HELP_AFTER_RE.search(rest, more):
            return False
    return not asks_about_ability(task_text)


def capability_answer(norm: str, task_text: str) -> bool:
    """An opening that states an inability and is nonetheless an answer: the request asked whether the
    assistant can do it ("Can you browse the web?" - "No, I cannot browse the internet; ..."), or help follows
    in the same sentence ("I can't access your email, but here's how to check it: ...").

    Used to overrule the refusal rules on such openings. Help after an apology opening ("I'm sorry, but I
    can't access ...; however, ...") does not overrule them: that is how a partial refusal reads."""
    ability = asks_about_ability(task_text)
    if not ability and norm.startswith(_APOLOGY_OPENINGS):
        return False
    m = _SENTENCE_RE.search(norm, 0, 300)
    end = _statement(norm[: m.end() if m else 300])
    if end is None:
        return False
    if ability:
        return True
    # Help right after the statement, in its sentence or the next ("I can't browse the web. Here is what I
    # know: ..."), with something to it.
    help_ = _HELP_AFTER_RE.search(norm, end, end + 150)
    return help_ is not None and len(norm) - help_.end() >= 20
