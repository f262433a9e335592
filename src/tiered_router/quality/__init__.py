"""Quality gate for tier-1 answers: cheap checks that decide whether an answer should be sent up a tier.

``assess_response`` (``checks``) runs the checks in order and returns the first verdict that fires:

* ``degenerate`` - empty or junk text: placeholders, stray chat-template tokens, repetition loops;
* ``refusal`` - refusals, "As an AI" disclaimers, lectures, non-answers;
* ``capability`` - plain capability disclaimers ("I cannot browse the internet."), and inabilities that are
  still answers;
* ``asks``, ``length`` - ``too-short``: what the request asks for (explain, list five, a value ...) against
  the answer's length;
* ``answer_formats`` - JSON, multiple-choice letters, Python code (``answer_format``);
* ``numeric`` - number answers: the final number, hedges, answer lines, counts;
* ``arithmetic`` - equations in the working recomputed without ``eval``;
* ``common`` - the verdict type, lazily compiled patterns, bounds and small text helpers.

Everything is regex-, string- and ``ast``-based (nothing is evaluated or run), regexes are compiled on
first use, and bounded prefixes/suffixes of very long answers are examined, so a verdict costs
microseconds to a fraction of a millisecond.
"""

from .answer_formats import extract_choice
from .arithmetic import arithmetic_errors
from .checks import assess_response
from .common import QualityVerdict
from .numeric import extract_number

__all__ = ["QualityVerdict", "arithmetic_errors", "assess_response", "extract_choice", "extract_number"]
