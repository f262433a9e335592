"""Which tier made a tool call, so that the turn bringing its result back stays on that tier.

An agent's loop is: request → a tool call → the tool's result → the next step. The result turn says little
by itself, and the tier that chose the call is the one that knows what it meant to do with the answer; so
it goes back to that tier (and escalates from there if that tier then fails). Calls are remembered by id,
and by name and arguments for clients that drop ids (ollama-python does), in a bounded in-memory table:
a router restart, or another replica, falls back to the classifier.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from ..chat import Message, ToolCall
from ..tiers import Tier


class ToolCallTiers:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._tiers: OrderedDict[str, Tier] = OrderedDict()

    def remember(self, tier: Tier, calls: Sequence[ToolCall]) -> None:
        for call in calls:
            for key in (f"id:{call.id}", _signature(call)):
                self._tiers[key] = tier
                self._tiers.move_to_end(key)
        while len(self._tiers) > self.size:
            self._tiers.popitem(last=False)

    def tier_for(self, messages: Sequence[Message]) -> Tier | None:
        """The tier that made the calls whose results end ``messages``, if it is known."""
        if not messages or messages[-1].role != "tool":
            return None
        for m in reversed(messages):
            if m.role == "assistant" and m.tool_calls:
                for call in m.tool_calls:
                    tier = self._tiers.get(f"id:{call.id}") or self._tiers.get(_signature(call))
                    if tier is not None:
                        return tier
                return None
        return None


def _signature(call: ToolCall) -> str:
    return f"call:{call.name}:{''.join(call.arguments.split())}"
