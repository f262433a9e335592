"""A request's learning features as the routing log keeps them when prompts are not stored.

``TIER_LOG_FEATURES=true`` records, with each request, the features the learned classifier reads
(``features.featurize``): hashed word, word-pair and character 4-gram buckets, the heuristic classifier's
reasons (hashed too) and its score, and the log length. Not the text. ``tiered-router learn`` fits on them
when a request was logged without its prompt, and replays them to decide a promotion.

**What they reveal.** Buckets are one-way hashes into 2**18 slots with thousands of collisions, so the text
cannot be read back; but someone holding the log and a guess can test it: whether a given word, or a given
four characters, is present in a logged request (a dictionary attack on the buckets). Treat the column as
you would treat metadata about the prompt, not as anonymous (docs/learning.md).

**The stored form** is compact JSON: the feature configuration, the dense features, and the buckets with
their summed values as base64 of zlib-compressed little-endian uint32 and float32 arrays (a few kB for a
chat-length request). A model is only ever scored on features of its own configuration: ``decode`` returns
the configuration, and the learner sets aside rows of another one.

**The heuristic's part** is what the heuristic said when the request was made (its score as the first dense
feature): a replay on stored features compares models against that, not against today's heuristic.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tiered_router.chat import Message
from tiered_router.classify import HeuristicClassifier
from tiered_router.options import RouteOptions

from .features import FeatureConfig, FeatureRow, featurize

__all__ = ["FORMAT", "StoredFeaturesError", "decode", "encode", "heuristic_score", "request_features"]

FORMAT = 1
_HEURISTIC = HeuristicClassifier()


class StoredFeaturesError(ValueError):
    """A stored feature record that cannot be read (another format, or damaged)."""


def request_features(messages: Sequence[Message], options: RouteOptions,
                     config: FeatureConfig | None = None) -> str:
    """The stored form of a request's features: the heuristic decides it again (the router's own decision may
    be a blend with a live model, and the features take the heuristic's score), then ``featurize``."""
    config = config or FeatureConfig()
    decision = _HEURISTIC.decide(messages, options) if config.heuristic else None
    return encode(featurize(messages, decision, config), config)


def encode(row: FeatureRow, config: FeatureConfig) -> str:
    """``row`` as compact JSON, its repeated buckets summed."""
    index, inverse = np.unique(row.index, return_inverse=True)
    values = np.bincount(inverse, weights=row.value, minlength=index.size) if index.size else np.zeros(0)
    payload = index.astype("<u4").tobytes() + values.astype("<f4").tobytes()
    doc = {"format": FORMAT, "config": config.to_dict(), "dense": [round(x, 6) for x in row.dense],
           "n": int(index.size), "buckets": base64.b64encode(zlib.compress(payload, 6)).decode("ascii")}
    return json.dumps(doc, separators=(",", ":"))


def decode(text: str) -> tuple[FeatureConfig, FeatureRow]:
    """The configuration and the row of a stored feature record (``StoredFeaturesError`` if unreadable)."""
    try:
        doc: dict[str, Any] = json.loads(text)
        if doc.get("format") != FORMAT:
            raise StoredFeaturesError(f"stored features of format {doc.get('format')!r}, not {FORMAT}")
        config = FeatureConfig.from_dict(doc["config"])
        n = int(doc["n"])
        payload = zlib.decompress(base64.b64decode(doc["buckets"]))
        if len(payload) != 8 * n:
            raise StoredFeaturesError("stored features are damaged: bucket arrays of the wrong length")
        index = np.frombuffer(payload, dtype="<u4", count=n).astype(np.int64)
        values = np.frombuffer(payload, dtype="<f4", count=n, offset=4 * n).astype(np.float64)
        dense = tuple(float(x) for x in doc["dense"])
    except StoredFeaturesError:
        raise
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise StoredFeaturesError(f"stored features cannot be read: {exc}") from None
    if index.size and int(index.max()) >= config.size:
        raise StoredFeaturesError("stored features are damaged: a bucket beyond the configuration's size")
    return config, FeatureRow(index, values, dense)


def heuristic_score(row: FeatureRow) -> float:
    """The heuristic's score when the request was logged (the first dense feature is its logit)."""
    if not row.dense:
        raise StoredFeaturesError("these features do not hold the heuristic's score")
    return 1.0 / (1.0 + math.exp(-row.dense[0]))
