"""Whether two whole answers to one request agree: the test of a shadow sample and of the second opinion.

Text answers are compared by ``learn.agree`` (choice letter, number, JSON, code interface, else word
similarity), with the caller's answer format (or ``json`` when the request asked for JSON). Tool calls are
compared exactly: the same calls (name and arguments, parsed as JSON so that spacing and key order do not
count; ids never do), in any order. An answer that calls a tool and one that answers in text disagree, since
they would make an agent do different things; that comparison's method is ``tool-calls`` too.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ..chat import ChatRequest, ChatResult, ToolCall
from ..learn import Agreement, agree
from ..options import RouteOptions

TOOL_CALLS = "tool-calls"


def compare(a: ChatResult, b: ChatResult, request: ChatRequest, options: RouteOptions) -> Agreement:
    """Whether ``a`` and ``b``, two answers to ``request``, say the same."""
    if a.tool_calls or b.tool_calls:
        same = bool(a.tool_calls) and bool(b.tool_calls) and _calls(a.tool_calls) == _calls(b.tool_calls)
        return Agreement(same, TOOL_CALLS, 1.0 if same else 0.0)
    answer_format = options.answer_format or ("json" if request.wants_json else None)
    return agree(a.text, b.text, answer_format)


def _calls(calls: Sequence[ToolCall]) -> list[str]:
    return sorted(f"{call.name}\x00{_arguments(call.arguments)}" for call in calls)


def _arguments(raw: str) -> str:
    """The arguments in one spelling: sorted keys, no spaces (the raw text when it is not JSON)."""
    try:
        return orjson.dumps(orjson.loads(raw or "{}"), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONDecodeError:
        return "".join(raw.split())
