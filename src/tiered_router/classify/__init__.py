"""Heuristic tier classifier: which tier a task needs, decided in microseconds without a model call.

The classifier reads the task (a prompt string or an OpenAI-style messages list) and builds a
continuous complexity score in ``[0, 1]`` from general signals:

* **intent** - what is being asked. A leading imperative action ("walk", "grab", "open") or a short
  factual lookup ("what is", "who", "how many", "convert", "translate") pulls the score down; planning,
  design, proof, comparison, analysis, optimisation, debugging and explain-why requests push it up,
  most strongly when they open the request. A question that asks for a cause, a mechanism or a judgement
  ("Why did Rome fall?", "Is P equal to NP? Argue.") counts like a planning verb however short; content
  supplied to a mechanical edit ("Sort these names: Zoe, Adam, ...") or a scene before a simple action is
  context, not complexity; a label ("Plan: open the door") is not the request.
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

Speed: the text is read once into a ``Text`` (``text``): lower-cased and split into words
(``bytes.translate`` + ``str.split``, both C loops). Almost every signal is then a set intersection on the
words or on adjacent word pairs (the tables are in ``lexicon``), or a ``str.count``. The few regexes are
anchored or start with a literal, and everything lexical looks at a bounded window (first 4 kB + last
2 kB) while the length term counts the whole text.

Modules: ``classifier`` (the API: ``Decision``, ``Thresholds``, ``HeuristicClassifier``, ``classify``),
``signals`` (the score: one function per signal family), ``intent`` (what the request asks, read once),
``text`` (the request read once), ``lexicon`` (the word tables).
"""

from .classifier import (
    Classifier,
    Decision,
    HeuristicClassifier,
    Thresholds,
    classify,
    classify_tier,
    decide_with,
    decision_at,
    forced_decision,
)

__all__ = ["Classifier", "Decision", "HeuristicClassifier", "Thresholds", "classify", "classify_tier",
           "decide_with", "decision_at", "forced_decision"]
