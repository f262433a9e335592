"""The generic format of recorded outcomes (JSON Lines), which every data set is read through.

One row per prompt::

    {"prompt": "..." or [{"role": "user", "content": "..."}, ...],
     "answer_format": "choice" | "number" | "json" | "code" | null,        (optional)
     "tiers": {"1": {"answer": "...", "correct": 0 or 1, "cost_usd": 0.0001},
               "2": {...},
               "3": {...}},                                                   ("3" optional)
     "meta": {"subject": "...", ...}}                                         (optional)

* ``tiers`` holds tier 1 and tier 2, and tier 3 when there is one, the same tiers in every row; the top
  tier recorded also serves every tier above it. ``answer`` may be missing or null (then the quality gate
  and the second opinion cannot be replayed); ``correct`` is 0 or 1 (a fraction is read as an expected
  score); ``cost_usd`` defaults to 0.
* ``meta`` is free-form, string values: ``--exclude KEY=VALUE`` drops the rows that carry it. Nothing
  reads it otherwise.

Nothing in the replay knows which data set it reads: the named benchmarks of ``datasets`` are converted
into these rows, and a file in this format is replayed the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Answer", "Dataset", "FormatError", "Item", "dataset_from_rows", "exclude", "item_from_row",
           "load_jsonl", "row_of", "write_jsonl"]


@dataclass(frozen=True)
class Answer:
    """One tier's recorded answer: right (1) or wrong (0), what it cost, and its text (None if not recorded)."""

    correct: float
    cost: float
    text: str | None


@dataclass(frozen=True)
class Item:
    """One prompt: its text (all messages' text for a conversation), one recorded answer per tier in tier
    order, the answer format a caller would state, free-form metadata, and the messages when the prompt was
    a conversation (the classifier and the gate read those)."""

    prompt: str
    answers: tuple[Answer, ...]
    answer_format: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    messages: tuple[dict[str, Any], ...] | None = None

    @property
    def task(self) -> str | list[dict[str, Any]]:
        """What the router would be given: the prompt, or the messages."""
        return self.prompt if self.messages is None else list(self.messages)

    @property
    def key(self) -> str:
        """A key that tells prompts apart (the classification cache's)."""
        return self.prompt if self.messages is None else json.dumps(self.messages, sort_keys=True)


@dataclass(frozen=True)
class Dataset:
    """A routing benchmark: ``models[i]`` serves tier ``i + 1``; the last model also serves every tier above.
    ``answer_format`` is the format every item shares (None if they differ or state none)."""

    name: str
    title: str
    models: tuple[str, ...]
    answer_format: str | None
    cost_unit: str
    items: tuple[Item, ...]
    source: str
    notes: tuple[str, ...] = field(default=())

    @property
    def has_responses(self) -> bool:
        """Whether the answer texts were recorded (the quality gate can only be replayed if so)."""
        return bool(self.items) and all(a.text is not None for it in self.items for a in it.answers[:-1])

    def format_of(self, item: Item) -> str | None:
        return item.answer_format or self.answer_format

_TIER_NAMES = ("tier 1", "tier 2", "tier 3")


class FormatError(ValueError):
    """A row that is not in the generic format (the message names the line and the field)."""


def item_from_row(row: Mapping[str, Any], where: str = "row") -> Item:
    """One generic row as an :class:`Item` (``FormatError`` if it is not one)."""
    if not isinstance(row, Mapping):
        raise FormatError(f"{where}: expected a JSON object")
    prompt = row.get("prompt")
    messages: tuple[dict[str, Any], ...] | None = None
    if isinstance(prompt, str):
        text = prompt
    elif isinstance(prompt, list) and prompt and all(isinstance(m, Mapping) for m in prompt):
        messages = tuple(dict(m) for m in prompt)
        text = "\n\n".join(_content_text(m.get("content")) for m in messages)
    else:
        raise FormatError(f"{where}: 'prompt' must be a string or a non-empty list of messages")
    tiers = row.get("tiers")
    if not isinstance(tiers, Mapping) or not tiers:
        raise FormatError(f"{where}: 'tiers' must be an object keyed by tier number")
    try:
        numbers = sorted(int(k) for k in tiers)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: tier keys must be \"1\", \"2\" and optionally \"3\"") from None
    if numbers not in ([1, 2], [1, 2, 3]):
        raise FormatError(f"{where}: 'tiers' must hold tiers 1 and 2, and optionally 3 (got {numbers})")
    answers = tuple(_answer(tiers.get(str(t)) if str(t) in tiers else tiers.get(t), f"{where}: tier {t}")
                    for t in numbers)
    fmt = row.get("answer_format")
    if fmt is not None and not isinstance(fmt, str):
        raise FormatError(f"{where}: 'answer_format' must be a string or null")
    meta = row.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise FormatError(f"{where}: 'meta' must be an object")
    return Item(text, answers, answer_format=fmt or None, meta={str(k): _meta_value(v) for k, v in meta.items()},
                messages=messages)


def _answer(value: Any, where: str) -> Answer:
    if not isinstance(value, Mapping):
        raise FormatError(f"{where}: expected an object with 'correct'")
    correct = value.get("correct")
    if isinstance(correct, bool):
        correct = float(correct)
    if not isinstance(correct, int | float) or not 0.0 <= float(correct) <= 1.0:
        raise FormatError(f"{where}: 'correct' must be 0 or 1")
    cost = value.get("cost_usd", 0.0)
    if cost is None:
        cost = 0.0
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        raise FormatError(f"{where}: 'cost_usd' must be a non-negative number")
    text = value.get("answer")
    if text is not None and not isinstance(text, str):
        raise FormatError(f"{where}: 'answer' must be a string or null")
    return Answer(float(correct), float(cost), text)


def _meta_value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def dataset_from_rows(rows: Iterable[Mapping[str, Any]], name: str, title: str | None = None, *,
                      models: Sequence[str] | None = None, cost_unit: str = "$", source: str = "generic rows",
                      notes: Sequence[str] = (), where: Sequence[str] | None = None) -> Dataset:
    """A :class:`Dataset` from generic rows (``where[i]`` names row ``i`` in errors): every row must record
    the same tiers."""
    listed = list(rows)
    labels = list(where) if where is not None else [f"{name}: row {i}" for i in range(1, len(listed) + 1)]
    items = [item_from_row(r, w) for r, w in zip(listed, labels, strict=True)]
    if not items:
        raise FormatError(f"{name}: no rows")
    width = len(items[0].answers)
    for it, w in zip(items, labels, strict=True):
        if len(it.answers) != width:
            raise FormatError(f"{w}: records {len(it.answers)} tiers, the first row {width}")
    formats = {it.answer_format for it in items}
    common = formats.pop() if len(formats) == 1 else None
    return Dataset(name, title or name, tuple(models or _TIER_NAMES[:width]), common, cost_unit, tuple(items),
                   source, tuple(notes))


def load_jsonl(path: Path | str, name: str | None = None) -> Dataset:
    """Read a JSON Lines file of generic rows (blank lines are skipped)."""
    path = Path(path)
    rows: list[Mapping[str, Any]] = []
    lines: list[int] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise FormatError(f"{path}:{number}: not JSON ({exc})") from None
            lines.append(number)
    return dataset_from_rows(rows, name or path.stem, name or path.stem, source=str(path),
                             where=[f"{path}:{n}" for n in lines])


def row_of(item: Item) -> dict[str, Any]:
    """An item as a generic row (the inverse of :func:`item_from_row`)."""
    row: dict[str, Any] = {"prompt": list(item.messages) if item.messages is not None else item.prompt}
    if item.answer_format:
        row["answer_format"] = item.answer_format
    row["tiers"] = {str(i + 1): {"answer": a.text, "correct": a.correct, "cost_usd": a.cost}
                    for i, a in enumerate(item.answers)}
    if item.meta:
        row["meta"] = dict(item.meta)
    return row


def write_jsonl(ds: Dataset, path: Path | str) -> None:
    """Write a data set in the generic format (one row per prompt)."""
    with Path(path).open("w", encoding="utf-8") as f:
        for it in ds.items:
            row = row_of(it)
            if it.answer_format is None and ds.answer_format:
                row["answer_format"] = ds.answer_format
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def exclude(ds: Dataset, pairs: Sequence[tuple[str, str]]) -> Dataset:
    """``ds`` without the rows whose ``meta[key] == value`` for any of ``pairs``."""
    if not pairs:
        return ds
    kept = tuple(it for it in ds.items if not any(it.meta.get(k) == v for k, v in pairs))
    if not kept:
        raise FormatError(f"{ds.name}: excluding {pairs} leaves no rows")
    label = ", ".join(f"{k}={v}" for k, v in pairs)
    suffix = "-".join(f"no-{v}" for _, v in pairs)
    note = f"{len(ds.items) - len(kept)} rows with {label} excluded"
    return Dataset(f"{ds.name}-{suffix}", f"{ds.title} without {label}", ds.models, ds.answer_format, ds.cost_unit,
                   kept, ds.source, (*ds.notes, note))
