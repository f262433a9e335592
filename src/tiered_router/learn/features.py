"""A request as the learned classifier reads it: sparse hashed features, built in microseconds.

Four groups of features, each hashed into the same ``2**bits`` buckets with its own seed (so a word and a
character n-gram that happen to share a hash land in different buckets):

* ``word``: the lower-cased alphanumeric words of the request (``[a-z0-9]+``);
* ``bigram``: adjacent word pairs, hashed from the two words' hashes (no string is built);
* ``char``: character n-grams of the lower-cased UTF-8 bytes (4-grams by default), hashed with numpy in a
  handful of vectorised operations, so a long prompt costs little more than a short one;
* ``reason``: the names of the heuristic classifier's signals that fired (``multiple-choice``, ``code``...).

Within a group every occurrence has the value ``1 / sqrt(count of the group)``, so a long prompt does not
outweigh a short one just by having more n-grams, and a repeated n-gram counts more than a single one.
Two dense features carry the heuristic's own score (as a logit) and the log length: the model can start
from what the heuristic knows and correct it.

Hashes are ``zlib.crc32`` and a multiplicative hash of the byte n-grams: deterministic across processes and
machines (Python's ``hash`` of a ``str`` is salted per process), which a model stored in a database and
read by another process needs. Only a bounded window of a long request is read (its first 4 kB and last
2 kB, as the heuristic does); the length feature counts the whole request.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from tiered_router.chat import Message, last_user_text, read_leniently
from tiered_router.classify import Decision

__all__ = ["DENSE_FEATURES", "FeatureConfig", "FeatureRow", "featurize", "request_text"]

DENSE_FEATURES = ("heuristic-logit", "log-length")

_HEAD_CHARS = 4096
_TAIL_CHARS = 2048
_WORD_RE = re.compile(r"[a-z0-9]+")
# Per-group hash seeds (crc32's starting value), and the odd constants of the multiplicative hashes.
_SEED_WORD = 0x5EED0001
_SEED_REASON = 0x5EED0004
_BIGRAM_MUL = 0x01000193
_BIGRAM_SALT = 0x5EED0002
_CHAR_MUL = np.uint64(0x9E3779B97F4A7C15)
_CHAR_MUL32 = np.uint32(0x9E3779B1)
_SCORE_EPS = 1e-6


@dataclass(frozen=True)
class FeatureConfig:
    """What is extracted: ``bits`` (the model has ``2**bits`` hashed weights), the character n-gram sizes
    (each 1..8 bytes), and whether word bigrams and the heuristic's reasons and score are used. Stored with
    a model: a model is only ever read with the features it was trained on."""

    bits: int = 18
    char_ngrams: tuple[int, ...] = (4,)
    word_bigrams: bool = True
    heuristic: bool = True

    def __post_init__(self) -> None:
        if not 8 <= self.bits <= 24:
            raise ValueError(f"bits must be in 8..24, got {self.bits}")
        if any(not 1 <= n <= 8 for n in self.char_ngrams):
            raise ValueError(f"character n-gram sizes must be in 1..8, got {self.char_ngrams}")

    @property
    def size(self) -> int:
        return 1 << self.bits

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["char_ngrams"] = list(self.char_ngrams)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureConfig:
        return cls(bits=int(d["bits"]), char_ngrams=tuple(int(n) for n in d["char_ngrams"]),
                   word_bigrams=bool(d["word_bigrams"]), heuristic=bool(d["heuristic"]))


@dataclass(frozen=True)
class FeatureRow:
    """One request's features: parallel arrays of bucket indices and values (an index may repeat: the values
    add up), and the dense features (``DENSE_FEATURES``)."""

    index: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    dense: tuple[float, ...]


def request_text(messages: Sequence[Message]) -> str:
    """The text the features are read from: the latest user turn, as the heuristic reads it."""
    return last_user_text(messages)


def featurize(task: str | Sequence[Message | Mapping[str, Any]], decision: Decision | None,
              config: FeatureConfig) -> FeatureRow:
    """The features of ``task`` (a prompt or messages). ``decision`` is the heuristic classifier's decision on
    the same task; it is required when ``config.heuristic`` is set (the caller has it already: the blended
    classifier asks the heuristic first)."""
    messages = task if isinstance(task, str) else read_leniently(task)
    text = messages if isinstance(messages, str) else request_text(messages)
    n_chars = len(text)
    if n_chars > _HEAD_CHARS + _TAIL_CHARS:
        text = text[:_HEAD_CHARS] + "\n" + text[-_TAIL_CHARS:]
    lowered = text.lower()
    mask = config.size - 1
    # The word, bigram and reason buckets are gathered in Python lists and become arrays once: each numpy
    # call costs about a microsecond on a short prompt, which is what the budget is counted in.
    index: list[int] = []
    value: list[float] = []
    words = _WORD_RE.findall(lowered)
    if words:
        hashes = [zlib.crc32(w.encode(), _SEED_WORD) for w in words]
        index += [h & mask for h in hashes]
        value += [1.0 / math.sqrt(len(hashes))] * len(hashes)
        if config.word_bigrams and len(hashes) > 1:
            index += [((a * _BIGRAM_MUL) ^ b ^ _BIGRAM_SALT) & mask for a, b in pairwise(hashes)]
            value += [1.0 / math.sqrt(len(hashes) - 1)] * (len(hashes) - 1)
    dense: tuple[float, ...] = ()
    if config.heuristic:
        if decision is None:
            raise ValueError("the heuristic's decision is needed for these features (config.heuristic)")
        index += [zlib.crc32(r.encode(), _SEED_REASON) & mask for r in decision.reasons]
        value += [1.0] * len(decision.reasons)
        p = min(max(decision.score, _SCORE_EPS), 1.0 - _SCORE_EPS)
        dense = (math.log(p / (1.0 - p)), math.log1p(n_chars) / 5.0)
    parts = [np.array(index, dtype=np.int64)]
    values = [np.array(value, dtype=np.float64)]
    if config.char_ngrams:
        raw = lowered.encode("utf-8", "replace")
        for n in config.char_ngrams:
            grams = _char_ngrams(raw, n, config.bits)
            if grams.size:
                parts.append(grams)
                values.append(np.full(grams.size, 1.0 / math.sqrt(grams.size)))
    if len(parts) == 1:
        return FeatureRow(parts[0], values[0], dense)
    return FeatureRow(np.concatenate(parts), np.concatenate(values), dense)


def _char_ngrams(raw: bytes, n: int, bits: int) -> npt.NDArray[np.int64]:
    """The bucket of every ``n``-byte window of ``raw`` (Fibonacci hashing: the window as one little-endian
    integer, times an odd constant, top ``bits`` bits).

    The windows are read as one strided view over the bytes (integers starting one byte apart), so a prompt
    of any length costs the same few numpy calls: the learned decision's budget is tens of microseconds.
    4-byte windows (the default) are 32-bit integers hashed in 32 bits, where the multiplication is a
    bijection (distinct 4-grams only collide in the final cut to ``bits``); other sizes are 8-byte reads
    masked to ``n`` bytes, hashed in 64 bits with a constant that differs with ``n``."""
    count = len(raw) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if n == 4:
        quads = np.ndarray((count,), dtype="<u4", buffer=raw, strides=(1,))
        hashed32: npt.NDArray[np.int64] = ((quads * _CHAR_MUL32) >> np.uint32(32 - bits)).astype(np.int64)
        return hashed32
    windows = np.ndarray((count,), dtype="<u8", buffer=raw + bytes(8), strides=(1,))
    if n < 8:
        windows = windows & np.uint64((1 << (8 * n)) - 1)
    mul = _CHAR_MUL + np.uint64(2 * n)
    hashed: npt.NDArray[np.int64] = ((windows * mul) >> np.uint64(64 - bits)).astype(np.int64)
    return hashed
