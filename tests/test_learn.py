"""The learner's library (``tiered_router.learn``): features, the model, the blend, agreement, APGR with its
bootstrap interval, and promotion; small hand-computed cases."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from tiered_router.chat import read_leniently
from tiered_router.classify import HeuristicClassifier, Thresholds
from tiered_router.evaluate.metrics import Outcome, sweep
from tiered_router.evaluate.metrics import apgr as reference_apgr
from tiered_router.learn import (
    BlendedClassifier,
    FeatureConfig,
    LearnedModel,
    PairOutcomes,
    Ranking,
    agree,
    apgr,
    bootstrap,
    compare,
    default_weight,
    featurize,
    fit,
    outcome_label,
)
from tiered_router.learn.agreement import code_signatures, text_similarity
from tiered_router.options import RouteOptions
from tiered_router.tiers import Tier

OPTIONS = RouteOptions()


def _toy() -> tuple[list[str], list[float]]:
    """Separable by one word: prompts about quantum field theory need the stronger tier."""
    rng = random.Random(5)
    topics = ["gardening", "cooking", "weather", "football", "music", "travel"]
    prompts, labels = [], []
    for i in range(60):
        topic = rng.choice(topics)
        if i % 2:
            prompts.append(f"Tell me about quantum field theory and {topic}, item {i}")
            labels.append(1.0)
        else:
            prompts.append(f"Tell me about {topic}, item {i}")
            labels.append(0.0)
    return prompts, labels


# ---- features ----------------------------------------------------------------------------------------


def test_features_are_deterministic_and_bounded() -> None:
    h = HeuristicClassifier()
    msgs = read_leniently("Plan a two-week trip to Japan on a budget")
    d = h.decide(msgs, OPTIONS)
    cfg = FeatureConfig()
    a, b = featurize(msgs, d, cfg), featurize("Plan a two-week trip to Japan on a budget", d, cfg)
    assert np.array_equal(a.index, b.index) and np.array_equal(a.value, b.value) and a.dense == b.dense
    assert a.index.min() >= 0 and a.index.max() < cfg.size
    assert a.dense[0] == pytest.approx(math.log(d.score / (1 - d.score)))
    # 10 words ("two-week" is two), 9 bigrams, 38 char 4-grams of the 41 characters, then the reasons; each
    # group's values have unit L2 norm when nothing repeats.
    assert a.value.size == 10 + 9 + 38 + len(d.reasons)
    assert np.sum(a.value[:10] ** 2) == pytest.approx(1.0)
    assert np.sum(a.value[10:19] ** 2) == pytest.approx(1.0)
    assert np.sum(a.value[-38:] ** 2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="decision"):
        featurize("x", None, cfg)
    assert featurize("", None, FeatureConfig(heuristic=False)).index.size == 0
    other = featurize("", None, FeatureConfig(bits=10, char_ngrams=(3, 5), heuristic=False, word_bigrams=False))
    assert other.dense == ()
    with pytest.raises(ValueError):
        FeatureConfig(bits=30)


def test_char_ngram_sizes_hash_apart() -> None:
    cfg = FeatureConfig(bits=20, char_ngrams=(3, 4, 5), heuristic=False, word_bigrams=False)
    row = featurize("abcdefgh", None, cfg)
    assert row.index.size == 1 + 6 + 5 + 4  # one word, then 3-, 4- and 5-grams
    assert len(set(row.index.tolist())) == row.index.size


# ---- the model -----------------------------------------------------------------------------------------


def test_outcome_label() -> None:
    assert outcome_label(0, 1) == 1.0
    assert outcome_label(1, 0) == 0.0
    assert outcome_label(1, 1) == outcome_label(0, 0) == 0.5


def test_fit_separates_a_toy_set_and_is_deterministic() -> None:
    prompts, labels = _toy()
    model = fit(prompts, labels)
    again = fit(prompts, labels)
    assert np.array_equal(model.weights, again.weights) and model.bias == again.bias
    assert model.version.split("-")[1] == again.version.split("-")[1]  # same digest; the time part may differ
    assert model.n_train == 60 and model.metadata["converged"]
    hard = model.score("Tell me about quantum field theory and chess")
    easy = model.score("Tell me about chess")
    assert hard > 0.7 and easy < 0.3
    scores = model.score_rows([featurize(p, HeuristicClassifier().decide(read_leniently(p), OPTIONS), model.config)
                               for p in prompts])
    assert all((s > 0.5) == (y > 0.5) for s, y in zip(scores, labels, strict=True))


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        fit(["a"], [0.5, 0.5])
    with pytest.raises(ValueError):
        fit([], [])
    with pytest.raises(ValueError):
        fit(["a"], [2.0])
    with pytest.raises(ValueError):
        fit(["a"], [1.0], l2=0.0)


def test_model_json_round_trip() -> None:
    prompts, labels = _toy()
    model = fit(prompts, labels)
    text = model.to_json()
    doc = json.loads(text)
    assert doc["format"] == "tiered-router/learned-logistic/1" and doc["n_train"] == 60
    back = LearnedModel.from_json(text)
    assert back.version == model.version and back.n_train == 60 and back.config == model.config
    for p in ("Tell me about quantum field theory", "Tell me about cooking"):
        assert back.score(p) == pytest.approx(model.score(p), abs=1e-5)  # float32 weights
    assert len(text) < 200_000
    with pytest.raises(ValueError):
        LearnedModel.from_json(json.dumps({**doc, "format": "other"}))


# ---- the blend -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["Walk to the door", "Design a distributed cache with failover and explain",
                                    "Which is a gas?\nA) ice\nB) steam\nAnswer:"])
def test_blend_at_cold_start_is_the_heuristic_exactly(prompt: str) -> None:
    h = HeuristicClassifier(Thresholds(heavy=0.4))
    msgs = read_leniently(prompt)
    expected = h.decide(msgs, OPTIONS)
    assert BlendedClassifier(h, None).decide(msgs, OPTIONS) == expected
    prompts, labels = _toy()
    model = fit(prompts, labels)
    assert BlendedClassifier(h, model, weight_of=lambda n: 0.0).decide(msgs, OPTIONS) == expected
    model.n_train = 0
    assert BlendedClassifier(h, model).decide(msgs, OPTIONS) == expected


def test_blend_mixes_scores_by_training_size() -> None:
    assert default_weight(0) == 0.0 and default_weight(200) == 0.5
    assert default_weight(3800) == pytest.approx(0.95)
    prompts, labels = _toy()
    model = fit(prompts, labels)
    h = HeuristicClassifier()
    msgs = read_leniently("Tell me about quantum field theory and chess")
    base = h.decide(msgs, OPTIONS)
    learned = model.score(msgs, base)
    blended = BlendedClassifier(h, model).decide(msgs, OPTIONS)
    w = default_weight(60)
    assert blended.score == pytest.approx((1 - w) * base.score + w * learned)
    assert f"learned:{learned:.2f}" in blended.reasons and blended.reasons[: len(base.reasons)] == base.reasons
    only_learned = BlendedClassifier(h, model, weight_of=lambda n: 1.0).decide(msgs, OPTIONS)
    assert only_learned.score == pytest.approx(learned)
    assert only_learned.tier is (Tier.LOCAL_HEAVY if learned >= 0.5 else Tier.LOCAL_FAST)
    capped = BlendedClassifier(HeuristicClassifier(Thresholds(heavy=0.1, cloud=0.2)), model,
                               weight_of=lambda n: 1.0).decide(msgs, RouteOptions(allow_cloud=False))
    assert capped.tier is Tier.LOCAL_HEAVY and "cloud-not-allowed" in capped.reasons


# ---- agreement -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "fmt", "method", "agrees"), [
    ("B", "The answer is B", "choice", "choice", True),
    ("A", "B", "choice", "choice", False),
    ("A\n", "(a)", None, "choice", True),
    ("#### 42", "The answer is 42.0", "number", "number", True),
    ("#### 42", "so the total is 41", "number", "number", False),
    ('{"a": 1, "b": [1, 2]}', '```json\n{"b": [1, 2], "a": 1}\n```', "json", "json", True),
    ('{"a": 1}', '{"a": 2}', None, "json", False),
    ("```python\ndef f(x, y):\n    return x + y\n```", "```python\ndef f(x, y):\n    return y + x\n```", "code",
     "code-signature", True),
    ("```python\ndef f(x):\n    return x\n```", "```python\ndef f(x, y):\n    return x\n```", None, "code-signature",
     False),
    ("Paris is the capital of France", "The capital of France is Paris", None, "text", True),
    ("Paris is the capital of France", "I like green apples", None, "text", False),
    (None, "B", "choice", "text", False),
])
def test_agreement_methods(a: str | None, b: str, fmt: str | None, method: str, agrees: bool) -> None:
    got = agree(a, b, fmt)
    assert (got.method, got.agrees) == (method, agrees)
    assert got.similarity == (1.0 if agrees else 0.0) or method == "text"


def test_text_similarity_and_signatures_by_hand() -> None:
    # {paris, is, the, capital} vs {paris, is, a, city}: 2 shared of 6.
    assert text_similarity("Paris is the capital", "Paris is a city") == pytest.approx(2 / 6)
    assert agree("Paris is the capital", "Paris is a city").similarity == pytest.approx(2 / 6)
    assert code_signatures("def f(a, b=2, *rest, k=1, **kw): pass") == frozenset({"f(2,*,k,**)"})
    assert code_signatures("```js\nfunction add(a, b) { return a + b }\n```") == frozenset({"add(2)"})
    # The parameters' names are not the interface: side and side_length agree.
    assert agree("```python\ndef area(side):\n    return side ** 2\n```",
                 "```python\ndef area(side_length):\n    return side_length * side_length\n```", "code").agrees


# ---- APGR with weights, and its bootstrap interval ----------------------------------------------------------


def _reference(scores: list[float], weak: list[float], strong: list[float]) -> float:
    keep = [Outcome(w, 0.0, (1.0, 0.0), 0.0) for w in weak]
    up = [Outcome(s, 1.0, (0.0, 1.0), 1.0) for s in strong]
    return reference_apgr(sweep(scores, keep, up), sum(weak) / len(weak), sum(strong) / len(strong))


def test_apgr_matches_the_reference_sweep() -> None:
    rng = random.Random(11)
    for _ in range(100):
        n = rng.randint(2, 30)
        weak = [float(rng.random() < 0.5) for _ in range(n)]
        strong = [float(rng.random() < 0.7) for _ in range(n)]
        scores = [float(rng.randint(0, 4)) for _ in range(n)]  # many ties
        ref = _reference(scores, weak, strong)
        got = apgr(scores, PairOutcomes.of(weak, strong))
        assert (math.isnan(ref) and math.isnan(got)) or got == pytest.approx(ref, abs=1e-12)


def test_weighted_apgr_is_the_apgr_of_the_repeated_prompts() -> None:
    scores, weak, strong = [0.9, 0.5, 0.1, 0.5], [0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]
    got = Ranking(scores).apgr(PairOutcomes.of(weak, strong), np.array([2.0, 1.0, 0.0, 1.0]))
    assert got == pytest.approx(_reference([0.9, 0.9, 0.5, 0.5], [0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]))


def test_bootstrap_interval_by_hand() -> None:
    """Two prompts, a perfect router. Resamples: both copies of prompt 0 (¼: APGR 0.5), one of each (½:
    0.75), both copies of prompt 1 (¼: weak = strong, undefined and dropped)."""
    outcomes = PairOutcomes.of([0.0, 1.0], [1.0, 1.0])
    assert apgr([1.0, 0.0], outcomes) == pytest.approx(0.75)
    assert apgr([1.0, 1.0], PairOutcomes.of([0.0, 0.0], [1.0, 1.0])) == pytest.approx(0.5)
    (iv,), samples = bootstrap([[1.0, 0.0]], outcomes, n_boot=2000, seed=3)
    assert iv.value == pytest.approx(0.75)
    assert (iv.low, iv.high) == (pytest.approx(0.5), pytest.approx(0.75))
    assert iv.dropped / iv.n_boot == pytest.approx(0.25, abs=0.04)
    finite = samples[~np.isnan(samples)]
    assert set(np.round(finite, 9)) == {0.5, 0.75}
    assert np.mean(finite == 0.5) == pytest.approx(1 / 3, abs=0.05)


def test_constant_score_is_random_in_every_resample() -> None:
    rng = np.random.default_rng(0)
    weak, strong = (rng.random(200) < 0.6).astype(float), (rng.random(200) < 0.8).astype(float)
    (iv,), _ = bootstrap([np.zeros(200)], PairOutcomes.of(weak, strong), n_boot=200)
    assert iv.value == pytest.approx(0.5) and iv.low == pytest.approx(0.5) and iv.high == pytest.approx(0.5)


# ---- promotion -------------------------------------------------------------------------------------------


def _promotion_case(n: int = 400) -> tuple[PairOutcomes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    weak = (rng.random(n) < 0.6).astype(float)
    strong = np.maximum(weak, (rng.random(n) < 0.5).astype(float))
    good = (strong - weak) + rng.normal(0, 0.3, n)  # close to the oracle
    poor = rng.random(n)  # random
    return PairOutcomes(weak, strong), good, poor


def test_promotion_takes_a_better_model() -> None:
    outcomes, good, poor = _promotion_case()
    c = compare(poor, good, outcomes, n_boot=300)
    assert c.promote and c.gain > 0 and c.ci_low > 0 and "APGR gain" in c.reason
    assert c.gain == pytest.approx(c.apgr_candidate - c.apgr_live)


def test_promotion_refuses_a_worse_or_equal_model() -> None:
    outcomes, good, poor = _promotion_case()
    worse = compare(good, poor, outcomes, n_boot=300)
    assert not worse.promote and worse.gain < 0 and "no APGR gain" in worse.reason
    same = compare(good, good.copy(), outcomes, n_boot=300)
    assert not same.promote and same.gain == 0
    noisy = compare(good, good + np.random.default_rng(1).normal(0, 0.05, good.size), outcomes, n_boot=300)
    assert not noisy.promote or noisy.ci_low > 0
    few = compare([0.1, 0.2], [0.2, 0.1], [(0.0, 1.0), (1.0, 1.0)])
    assert not few.promote and "at least" in few.reason


def test_stored_features_round_trip_and_score_as_the_live_features_do() -> None:
    from tiered_router.learn.stored import StoredFeaturesError, decode, encode, heuristic_score, request_features

    prompts, labels = _toy()
    model = fit(prompts, labels)
    heuristic = HeuristicClassifier()
    for text in ("Plan a three-city trip on a budget", "Open the door", "Why did Rome fall? " * 40):
        messages = read_leniently([{"role": "user", "content": text}])
        config, row = decode(request_features(messages, RouteOptions()))
        assert config == FeatureConfig()
        decision = heuristic.decide(messages, RouteOptions())
        assert heuristic_score(row) == pytest.approx(decision.score, abs=1e-5)
        # Repeated buckets are summed and values kept as float32: the model's score moves by far less than
        # any threshold's resolution.
        assert model.score_row(row) == pytest.approx(model.score(text, decision), abs=1e-5)
    row = featurize("Open the door", heuristic.decide(read_leniently([{"role": "user", "content": "x"}]),
                                                      RouteOptions()), FeatureConfig())
    stored = json.loads(encode(row, FeatureConfig()))
    for damaged in ({**stored, "format": 2}, {**stored, "n": stored["n"] + 1}, {**stored, "buckets": "!!"},
                    {k: v for k, v in stored.items() if k != "dense"}):
        with pytest.raises(StoredFeaturesError):
            decode(json.dumps(damaged))
    small = json.loads(encode(row, FeatureConfig()))
    small["config"]["bits"] = 8  # buckets of an 18-bit configuration do not fit 8 bits
    with pytest.raises(StoredFeaturesError):
        decode(json.dumps(small))
