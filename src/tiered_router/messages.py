"""Helpers for OpenAI-style chat messages, shared by the classifier, the gate and the backends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Message = dict[str, Any]


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts with ``{"type": "text"}``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return str(content)


def as_messages(task: str | Iterable[Mapping[str, Any]]) -> list[Message]:
    """A prompt string becomes one user message; a messages list is copied as dicts."""
    if isinstance(task, str):
        return [{"role": "user", "content": task}]
    out: list[Message] = []
    for m in task:
        if not isinstance(m, Mapping):
            raise TypeError(f"each message must be a mapping with role and content, got {type(m).__name__}")
        out.append(dict(m))
    return out


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return content_text(messages[-1].get("content")) if messages else ""
