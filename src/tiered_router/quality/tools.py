"""The gate's checks for agents: an answer that calls tools, or should have.

A tool-call answer has no text, and that is right: it is judged by its calls. A call is bad when it names
a tool that was not offered, when its arguments are not JSON or do not fit the tool's schema, or when the
same call is repeated within one answer. An answer with no call is bad when the client required one, or
when its text is a tool call written out instead of made (the classic small-model failure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import exceptions as schema_errors
from jsonschema.validators import validator_for

from ..chat import Tool, ToolCall
from .common import QualityVerdict

_OK = QualityVerdict(False, "ok")

# A tool call written out: tagged (<tool_call>, [TOOL_CALLS], <|python_tag|>, functions.NAME), or a JSON
# object with a name and arguments, alone or fenced.
_TAGGED_RE = re.compile(r"<tool_call>|<\|python_tag\|>|\[TOOL_CALLS\]|<function[=\s>]|\bfunctions\.\w+\s*\(",
                        re.IGNORECASE)
_NAME_KEY_RE = re.compile(r'"(?:name|function|tool|tool_name)"\s*:\s*"([^"]{1,100})"')
_ARGS_KEY_RE = re.compile(r'"(?:arguments|parameters|args|input)"\s*:')
_CALL_SYNTAX_RE = re.compile(r"^\s*(?:`{1,3}\w*\s*)?([A-Za-z_][\w.-]{0,63})\s*\((.*)\)\s*`{0,3}\s*$", re.DOTALL)


def assess_tool_calls(calls: Sequence[ToolCall], tools: Sequence[Tool], tool_name: str | None = None
                      ) -> QualityVerdict:
    """The verdict on an answer that made tool calls."""
    offered = {t.name: t for t in tools}
    seen: set[tuple[str, str]] = set()
    for call in calls:
        tool = offered.get(call.name)
        if tool is None:
            return QualityVerdict(True, "unknown-tool")
        if tool_name is not None and call.name != tool_name:
            return QualityVerdict(True, "wrong-tool")
        try:
            arguments = orjson.loads(call.arguments) if call.arguments.strip() else {}
        except orjson.JSONDecodeError:
            return QualityVerdict(True, "bad-tool-args")
        if not isinstance(arguments, dict) or not fits_schema(arguments, tool.parameters):
            return QualityVerdict(True, "bad-tool-args")
        key = (call.name, orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode())
        if key in seen:
            return QualityVerdict(True, "repeated-tool-call")
        seen.add(key)
    return _OK


def assess_missing_call(text: str, tools: Sequence[Tool], required: bool) -> QualityVerdict | None:
    """For an answer with no call, when tools were offered: a verdict if it is bad for that reason, else
    None (and the text is judged as text)."""
    if looks_like_written_call(text, tools):
        return QualityVerdict(True, "tool-as-text")
    if required:
        return QualityVerdict(True, "no-tool-call")
    return None


def looks_like_written_call(text: str, tools: Sequence[Tool]) -> bool:
    """Whether ``text`` is (mostly) a call of an offered tool, written out instead of made."""
    head = text.strip()[:4000]
    if not head or not tools:
        return False
    names = {t.name for t in tools}
    if _TAGGED_RE.search(head):
        return True
    named = _NAME_KEY_RE.findall(head)
    if any(n in names for n in named) and _ARGS_KEY_RE.search(head):
        return True
    syntax = _CALL_SYNTAX_RE.match(head)
    return bool(syntax and syntax.group(1).rsplit(".", 1)[-1] in names and len(head) < 600)


def fits_schema(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
    if not schema:
        return True
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    if validator is None:  # a schema that is not valid JSON schema checks nothing
        return True
    return bool(validator.is_valid(arguments))


@lru_cache(maxsize=512)
def _validator(schema_json: bytes) -> Any:
    schema = orjson.loads(schema_json)
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except schema_errors.SchemaError:
        return None
    return cls(schema)
