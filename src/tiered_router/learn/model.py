"""The learned classifier's model: L2-regularised logistic regression on hashed features, in numpy.

``fit(examples, labels)`` trains a :class:`LearnedModel`; ``model.score(task, decision)`` is the
probability that the stronger tier is needed; ``to_json`` / ``from_json`` are its stored form (one
database row: weights as compressed float32 index/value arrays, a few hundred kB for a model trained on
thousands of prompts).

**Labels** are in [0, 1] and may be soft. From a recorded or logged outcome, :func:`outcome_label` gives
1 when the stronger tier did better than the weaker one, 0 when it did worse, and ½ when they did the same
(both right or both wrong: no evidence either way). Measured on the recorded benchmarks, this beats the
hard label "stronger did better" (MMLU, 25 % / 50 % of outcomes: APGR 0.657 / 0.664 against 0.644 /
0.641), because a prompt where the stronger tier breaks a right answer now counts against sending it up;
a label of "tier 1 was rejected" alone does much worse still. The score is then
``½ + (P(stronger better) − P(stronger worse)) / 2``: above ½ where going up helps more often than it hurts.

**Training** minimises the mean log loss plus ``l2 / 2 · |w|²`` (the bias is not penalised) with SciPy's
L-BFGS-B, from zero weights: deterministic, no seed needed. ``l2 = 3e-3`` was chosen once, for every
data set alike (docs/routing-eval.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tiered_router.chat import Message
from tiered_router.classify import Decision, HeuristicClassifier, decide_with

from .features import DENSE_FEATURES, FeatureConfig, FeatureRow, featurize

__all__ = ["FORMAT", "Example", "LearnedModel", "fit", "outcome_label"]

FORMAT = "tiered-router/learned-logistic/1"
DEFAULT_L2 = 3e-3

Task = str | Sequence[Message | Mapping[str, Any]]
Example = Task | FeatureRow


def outcome_label(weaker_correct: float, stronger_correct: float) -> float:
    """The training label of one outcome: 1 if the stronger tier did better, 0 if worse, ½ if the same."""
    return (float(stronger_correct) - float(weaker_correct) + 1.0) / 2.0


@dataclass
class LearnedModel:
    """Weights over ``config.size`` hashed buckets and the dense features, a bias, and where it came from.

    ``version`` names this model (training time and a digest of its weights); ``n_train`` is the number of
    outcomes it was trained on, which sets its weight in the blend; ``metadata`` records the training
    (time, seconds, L2, iterations, loss, mean label)."""

    weights: npt.NDArray[np.float64]
    dense: npt.NDArray[np.float64]
    bias: float
    config: FeatureConfig
    version: str
    n_train: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def logit(self, row: FeatureRow) -> float:
        z = self.bias + float(self.weights[row.index] @ row.value) if row.index.size else self.bias
        for w, x in zip(self.dense, row.dense, strict=False):
            z += float(w) * x
        return z

    def score_row(self, row: FeatureRow) -> float:
        return _sigmoid(self.logit(row))

    def score(self, task: Task, decision: Decision | None = None) -> float:
        """The probability that the stronger tier is needed for ``task``. ``decision`` is the heuristic's
        decision on it (computed here if not given and the features need it)."""
        if decision is None and self.config.heuristic:
            decision = decide_with(HeuristicClassifier(), task)
        return self.score_row(featurize(task, decision, self.config))

    def score_rows(self, rows: Sequence[FeatureRow]) -> npt.NDArray[np.float64]:
        """Scores of many rows at once (the replay's held-out outcomes)."""
        design = _Design(rows, self.config.size)
        out: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * design.dot(self.weights, self.dense, self.bias)))
        return out

    # ---- the stored form ----

    def to_json(self) -> str:
        """Compact JSON: the nonzero weights as base64 of zlib-compressed little-endian uint32 indices and
        float32 values (float32 moves a score by about 1e-7, far below any threshold's resolution)."""
        nz = np.flatnonzero(self.weights)
        doc = {
            "format": FORMAT,
            "version": self.version,
            "n_train": self.n_train,
            "bias": self.bias,
            "dense": {name: float(w) for name, w in zip(DENSE_FEATURES, self.dense, strict=False)},
            "features": self.config.to_dict(),
            "metadata": self.metadata,
            "weights": {
                "count": int(nz.size),
                "index": _pack(nz.astype("<u4").tobytes()),
                "value": _pack(self.weights[nz].astype("<f4").tobytes()),
            },
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> LearnedModel:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a learned model of format {FORMAT!r}: {doc.get('format')!r}")
        config = FeatureConfig.from_dict(doc["features"])
        stored = doc["weights"]
        index = np.frombuffer(_unpack(stored["index"]), dtype="<u4").astype(np.int64)
        value = np.frombuffer(_unpack(stored["value"]), dtype="<f4").astype(np.float64)
        if index.size != int(stored["count"]) or value.size != index.size:
            raise ValueError("learned model: weight arrays do not match their count")
        if index.size and int(index.max()) >= config.size:
            raise ValueError("learned model: a weight index is outside the feature space")
        weights = np.zeros(config.size)
        weights[index] = value
        dense = np.array([float(doc["dense"].get(name, 0.0)) for name in DENSE_FEATURES[: _n_dense(config)]])
        return cls(weights, dense, float(doc["bias"]), config, str(doc["version"]), int(doc["n_train"]),
                   dict(doc.get("metadata") or {}))


def fit(examples: Sequence[Example], labels: Sequence[float] | npt.NDArray[np.float64], *,
        config: FeatureConfig | None = None, l2: float = DEFAULT_L2, max_iter: int = 200,
        heuristic: HeuristicClassifier | None = None) -> LearnedModel:
    """Train a model on ``examples`` (prompts, message lists, or rows already made by :func:`featurize`
    with the same ``config``) and their ``labels`` in [0, 1] (:func:`outcome_label`)."""
    config = config or FeatureConfig()
    y = np.asarray(labels, dtype=np.float64)
    if len(examples) != y.size:
        raise ValueError(f"{len(examples)} examples but {y.size} labels")
    if y.size == 0:
        raise ValueError("no examples to learn from")
    if not np.all((y >= 0.0) & (y <= 1.0)):
        raise ValueError("labels must be in [0, 1]")
    if l2 <= 0.0:
        raise ValueError("l2 must be positive")
    t0 = time.perf_counter()
    heuristic = heuristic or HeuristicClassifier()
    rows = [ex if isinstance(ex, FeatureRow) else
            featurize(ex, decide_with(heuristic, ex) if config.heuristic else None, config) for ex in examples]
    # Buckets no training row touches keep a zero weight (their gradient is the L2 term alone), so the
    # optimisation runs over the touched ones only: tens of thousands of weights instead of 2**bits.
    active, local = np.unique(np.concatenate([r.index for r in rows]), return_inverse=True)
    design = _Design(rows, active.size, local.astype(np.int64))
    n, size, n_dense = y.size, int(active.size), design.dense.shape[1]

    def objective(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w, wd, b = theta[:size], theta[size:size + n_dense], float(theta[-1])
        z = design.dot(w, wd, b)
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * (float(w @ w) + float(wd @ wd))
        r = (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / n
        gw, gd = design.tdot(r)
        return loss, np.concatenate([gw + l2 * w, gd + l2 * wd, [float(r.sum())]])

    theta0 = np.zeros(size + n_dense + 1)
    p0 = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    theta0[-1] = math.log(p0 / (1.0 - p0))  # start at the base rate: fewer iterations
    from scipy.optimize import minimize  # here, not at the top: importing it costs every start 0.2 s, fitting is rare

    best = minimize(objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    weights = np.zeros(config.size)
    weights[active] = best.x[:size]
    dense, bias = best.x[size:size + n_dense].copy(), float(best.x[-1])
    trained_at = datetime.now(UTC)
    digest = hashlib.sha256(weights.tobytes() + dense.tobytes() + np.float64(bias).tobytes()).hexdigest()[:10]
    metadata = {
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "train_seconds": round(time.perf_counter() - t0, 3),
        "l2": l2,
        "iterations": int(best.nit),
        "converged": bool(best.success),
        "loss": float(best.fun),
        "mean_label": float(y.mean()),
    }
    # Milliseconds: two fits of the same data are still two models (each with its own replay and state).
    version = f"{trained_at.strftime('%Y%m%dT%H%M%S')}{trained_at.microsecond // 1000:03d}Z-{digest}"
    return LearnedModel(weights, dense, bias, config, version, int(n), metadata)


class _Design:
    """The training rows as one sparse matrix in coordinate form (row id, bucket, value per entry), with
    the products the gradient needs as ``bincount`` calls, and the dense features as a small matrix."""

    def __init__(self, rows: Sequence[FeatureRow], size: int, index: npt.NDArray[np.int64] | None = None) -> None:
        """``index`` replaces the rows' own bucket indices (the training's compacted ones), in row order."""
        self.n = len(rows)
        self.size = size
        lengths = np.fromiter((r.index.size for r in rows), dtype=np.int64, count=self.n)
        self.row = np.repeat(np.arange(self.n, dtype=np.int64), lengths)
        if index is not None:
            self.index = index
        else:
            self.index = np.concatenate([r.index for r in rows]) if self.n else np.zeros(0, dtype=np.int64)
        self.value = np.concatenate([r.value for r in rows]) if self.n else np.zeros(0)
        width = max((len(r.dense) for r in rows), default=0)
        self.dense = np.array([list(r.dense) + [0.0] * (width - len(r.dense)) for r in rows]).reshape(self.n, width)

    def dot(self, w: npt.NDArray[np.float64], wd: npt.NDArray[np.float64], b: float) -> npt.NDArray[np.float64]:
        z: npt.NDArray[np.float64] = np.bincount(self.row, weights=w[self.index] * self.value,
                                                  minlength=self.n).astype(np.float64, copy=False)
        if self.dense.shape[1]:
            z = z + self.dense @ wd[: self.dense.shape[1]]
        return z + b

    def tdot(self, r: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        g: npt.NDArray[np.float64] = np.bincount(self.index, weights=self.value * r[self.row],
                                                  minlength=self.size).astype(np.float64, copy=False)
        gd: npt.NDArray[np.float64] = self.dense.T @ r
        return g, gd


def _n_dense(config: FeatureConfig) -> int:
    return len(DENSE_FEATURES) if config.heuristic else 0


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
