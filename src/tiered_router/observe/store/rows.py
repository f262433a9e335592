r"""Routing record ↔ table rows, both ways, following the column mapping of ``schema.py``.

``record_rows`` turns one record into its ``router_requests`` row and ``router_attempts`` rows (the
writer's hot path); ``row_record`` and ``row_attempt`` turn rows read back into the record's own shape,
so code that reads records reads the log the same way.

Text a database cannot store is escaped on the way in, the way Python's ``backslashreplace`` writes it:
a NUL character (PostgreSQL text refuses it) becomes the four characters ``\x00``, a lone surrogate
(which has no UTF-8 form, so neither database takes it) becomes ``\udXXX``. In JSON columns a NUL is
JSON's own ``\u0000`` and reads back as it was.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from ...budget.money import usd_to_micro
from .schema import ATTEMPT_COLUMNS, REQUEST_COLUMNS

_OPTIONAL_FIELDS = frozenset({"router.prompt", "router.answer", "router.features"})  # absent unless opted in

_json_encode = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False).encode


def _utf8(text: str) -> str:
    """``text``, with any lone surrogate (it has no UTF-8 form) written as ``\\udXXX``."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def _text(value: Any) -> str:
    text = value if type(value) is str else str(value)
    if not text.isascii():
        text = _utf8(text)
    return text.replace("\x00", "\\x00") if "\x00" in text else text  # PostgreSQL text cannot hold a NUL


def _cleaned(value: Any) -> Any:
    """A JSON value whose strings all have a UTF-8 form (only for the rare value that has one that does not)."""
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _utf8(value if isinstance(value, str) else str(value))


def _json(value: Any) -> str:
    if isinstance(value, list) and not value:
        return "[]"
    text = _json_encode(value)  # a NUL is escaped as \u0000; a lone surrogate would be written as it is
    return text if _utf8(text) is text else _json_encode(_cleaned(value))


def _money(value: Any) -> int:
    return 0 if not value else usd_to_micro(value)  # exact decimal rounding, half up


def _epoch_us(value: Any) -> int:
    return max(0, round(float(value) * 1_000_000))


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": _text, "int": int, "real": float, "bool": bool, "json": _json, "time": _epoch_us, "money": _money,
}
# (record field, converter, value when the field is missing or None) — precomputed: the writer converts
# every record, so this loop is the writer's hot path.
_REQUEST_CONVERT = tuple((f, _CONVERT[k], 0 if k in ("bool", "money") else None) for _, f, k in REQUEST_COLUMNS)
_ATTEMPT_CONVERT = tuple(
    (f, _CONVERT[k], 0 if k == "money" else "unknown" if f == "router.outcome" else None) for _, f, k in ATTEMPT_COLUMNS
)
# Log ids need uniqueness, not secrecy: no system call per record (the module reseeds itself in a forked child).
_random_bits = random.getrandbits
_STATUS_INDEX = [c for c, _, _ in REQUEST_COLUMNS].index("status")


def _convert(source: dict[str, Any], plan: tuple[tuple[str, Callable[[Any], Any], Any], ...]) -> list[Any]:
    out = []
    for field, convert, default in plan:
        value = source.get(field)
        if value is None:
            value = default
        out.append(None if value is None else convert(value))
    return out


def _from_db(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "json":
        return json.loads(value)
    if kind == "time":
        return value / 1_000_000
    if kind == "money":
        return value / 1_000_000
    if kind == "real":
        return float(value)
    return value


def record_rows(record: dict[str, Any]) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The ``router_requests`` row and ``router_attempts`` rows of one routing record."""
    values = _convert(record, _REQUEST_CONVERT)
    request_id, time_us = values[0], values[1]
    if request_id is None or time_us is None:
        raise ValueError("a routing record needs request_id and time")
    if values[_STATUS_INDEX] is None:
        values[_STATUS_INDEX] = "ok" if record.get("router.final_tier") is not None else "error"
    log_id = f"{time_us:016x}{_random_bits(32):08x}"
    attempts = [(log_id, index, request_id, time_us, *_convert(attempt, _ATTEMPT_CONVERT))
                for index, attempt in enumerate(record.get("router.attempts") or ())]
    return (log_id, *values), attempts


def row_record(row: Sequence[Any]) -> dict[str, Any]:
    """The record of a ``schema.SELECT_REQUEST`` row, with an empty ``router.attempts`` to fill in."""
    record: dict[str, Any] = {}
    for (column, field, kind), value in zip(REQUEST_COLUMNS, row[1:], strict=True):
        if field in _OPTIONAL_FIELDS and value is None:
            continue
        record[field] = _from_db(value, kind)
        if column == "cost_micro":
            record["router.cost_micro"] = value
    record["router.reasons"] = record.get("router.reasons") or []
    record["router.attempts"] = []
    return record


def row_attempt(row: Sequence[Any]) -> dict[str, Any]:
    """One entry of ``router.attempts`` from a ``schema.SELECT_ATTEMPT`` row."""
    attempt = {field: _from_db(value, kind) for (_, field, kind), value in zip(ATTEMPT_COLUMNS, row[4:], strict=True)}
    attempt["gen_ai.response.finish_reasons"] = attempt.get("gen_ai.response.finish_reasons") or []
    return attempt
