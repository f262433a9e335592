"""Anthropic's Messages format ↔ the chat model, both ways.

The Messages API puts the system prompt beside the turns, wants user and assistant turns to alternate
(starting with the user), carries tool calls as ``tool_use`` blocks with an ``input`` object, and tool
results as ``tool_result`` blocks inside the next user turn. An assistant's reasoning is a ``thinking``
block whose ``signature`` must come back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..chat import ChatRequest, ImagePart, Message, Part, TextPart, Tool, ToolCall
from ..errors import InvalidRequest, UnsupportedField
from .ollama import PROMPT_SWITCHES, RUNTIME_OPTIONS, arguments_object

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "pause_turn": "stop", "refusal": "content_filter"}
TO_STOP_REASON = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                  "content_filter": "refusal"}
THINK_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
_JSON_INSTRUCTION = "Respond with a single valid JSON object and nothing else."


# --- reading what an Anthropic client sends -----------------------------------------------------------


def messages_from_anthropic(system: Any, items: Any) -> list[Message]:
    out: list[Message] = []
    if system:
        out.append(Message("system", _text_of(system, "system")))
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InvalidRequest("messages: must be a list of messages")
    for i, m in enumerate(items):
        if not isinstance(m, Mapping) or m.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages[{i}].role: must be user or assistant")
        content = m.get("content")
        where = f"messages[{i}].content"
        if isinstance(content, str):
            out.append(Message(m["role"], content))
        elif m["role"] == "user":
            out += _user_blocks(content, where)
        else:
            out.append(_assistant_blocks(content, where))
    return out


def _blocks(content: Any, where: str) -> Sequence[Mapping[str, Any]]:
    if not isinstance(content, Sequence) or isinstance(content, str | bytes):
        raise InvalidRequest(f"{where}: must be a string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise InvalidRequest(f"{where}[{j}]: each content block must be an object with a type")
    return content


def _text_of(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    texts = []
    for j, block in enumerate(_blocks(value, where)):
        if block["type"] != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(f"{where}[{j}]: only text blocks are allowed here")
        texts.append(block["text"])
    return "\n".join(texts)


def _user_blocks(content: Any, where: str) -> list[Message]:
    """A user turn: tool results become tool messages, in order; the rest one user message after them."""
    results: list[Message] = []
    parts: list[Part] = []
    for j, block in enumerate(_blocks(content, where)):
        kind = block["type"]
        if kind == "text":
            parts.append(TextPart(str(block.get("text", ""))))
        elif kind == "image":
            parts.append(_image(block, f"{where}[{j}]"))
        elif kind == "tool_result":
            results.append(_tool_result(block, f"{where}[{j}]"))
        else:
            raise UnsupportedField(f"{where}[{j}].type", f"{kind} blocks are not supported by tiered-router")
    return results + ([Message("user", parts)] if parts else [])


def _tool_result(block: Mapping[str, Any], where: str) -> Message:
    tool_use_id = block.get("tool_use_id")
    if not isinstance(tool_use_id, str):
        raise InvalidRequest(f"{where}.tool_use_id: required")
    content = block.get("content")
    parts: list[Part] = []
    if isinstance(content, str):
        parts.append(TextPart(content))
    elif content is not None:
        for k, inner in enumerate(_blocks(content, f"{where}.content")):
            if inner["type"] == "text":
                parts.append(TextPart(str(inner.get("text", ""))))
            elif inner["type"] == "image":
                parts.append(_image(inner, f"{where}.content[{k}]"))
            else:
                raise UnsupportedField(f"{where}.content[{k}].type", f"{inner['type']} blocks are not supported")
    return Message("tool", parts, tool_call_id=tool_use_id, is_error=block.get("is_error") is True)


def _assistant_blocks(content: Any, where: str) -> Message:
    parts: list[Part] = []
    calls: list[ToolCall] = []
    thinking, signature = None, None
    for j, block in enumerate(_blocks(content, where)):
        kind = block["type"]
        if kind == "text":
            parts.append(TextPart(str(block.get("text", ""))))
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequest(f"{where}[{j}]: a tool_use block needs an id and a name")
            calls.append(ToolCall(block["id"], block["name"], orjson.dumps(block.get("input") or {}).decode()))
        elif kind == "thinking":
            thinking, signature = str(block.get("thinking", "")), block.get("signature")
        else:
            raise UnsupportedField(f"{where}[{j}].type", f"{kind} blocks are not supported by tiered-router")
    return Message("assistant", parts, tool_calls=calls, thinking=thinking,
                   thinking_signature=signature if isinstance(signature, str) else None)


def _image(block: Mapping[str, Any], where: str) -> ImagePart:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise InvalidRequest(f"{where}.source: required")
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type")
        return ImagePart(data=source["data"], media_type=media_type if isinstance(media_type, str) else None)
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return ImagePart(url=source["url"])
    raise InvalidRequest(f"{where}.source: must be {{type: base64, media_type, data}} or {{type: url, url}}")


def tools_from_anthropic(tools: Any) -> tuple[Tool, ...]:
    if tools is None:
        return ()
    if not isinstance(tools, Sequence):
        raise InvalidRequest("tools: must be a list")
    out = []
    for i, t in enumerate(tools):
        if not isinstance(t, Mapping) or not isinstance(t.get("name"), str):
            raise InvalidRequest(f"tools[{i}].name: required")
        if t.get("type") not in (None, "custom"):
            raise UnsupportedField(f"tools[{i}].type", f"server tools ({t.get('type')}) are not supported")
        schema = t.get("input_schema")
        description = t.get("description")
        out.append(Tool(t["name"], description if isinstance(description, str) else None,
                        schema if isinstance(schema, Mapping) else {}))
    return tuple(out)


def tool_choice_from_anthropic(choice: Any) -> tuple[str | None, str | None, bool | None]:
    """(tool_choice, tool_name, parallel_tool_calls) from Anthropic's ``tool_choice``."""
    if choice is None:
        return None, None, None
    if not isinstance(choice, Mapping):
        raise InvalidRequest("tool_choice: must be an object with a type")
    parallel = False if choice.get("disable_parallel_tool_use") is True else None
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind, None, parallel
    if kind == "any":
        return "required", None, parallel
    if kind == "tool" and isinstance(choice.get("name"), str):
        return "required", choice["name"], parallel
    raise InvalidRequest('tool_choice.type: must be "auto", "any", "tool" (with a name) or "none"')


def think_from_anthropic(thinking: Any) -> int | None:
    if thinking is None or (isinstance(thinking, Mapping) and thinking.get("type") == "disabled"):
        return None
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        return budget if isinstance(budget, int) and budget > 0 else THINK_BUDGETS["medium"]
    raise InvalidRequest('thinking: must be {"type": "enabled", "budget_tokens": N} or {"type": "disabled"}')


# --- writing what an Anthropic server receives ----------------------------------------------------------


def split_system(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt, and the turns as Anthropic wants them: alternating, starting with the user, tool
    results as ``tool_result`` blocks at the head of the next user turn."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role in ("system", "developer"):
            if m.images:
                raise UnsupportedField("system", "Anthropic takes no images in the system prompt")
            system_parts.append(m.text)
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks = _blocks_of(m)
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            if m.role == "tool" and previous and previous[-1].get("type") != "tool_result":
                # Tool results lead their turn; text sent before them moves after.
                turns[-1]["content"] = [*(b for b in previous if b.get("type") == "tool_result"), *blocks,
                                        *(b for b in previous if b.get("type") != "tool_result")]
            else:
                previous.extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    for turn in turns:
        content = turn["content"]
        if not content:  # an empty turn is an error there; a blank text block is the smallest valid content
            turn["content"] = "(empty)"
        elif len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]  # the plain form, as most clients send it
        elif all(b["type"] == "text" for b in content):
            turn["content"] = "\n\n".join(b["text"] for b in content)
    return "\n\n".join(p for p in system_parts if p), turns


def _blocks_of(m: Message) -> list[dict[str, Any]]:
    if m.role == "tool":
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id or "",
                                  "content": [_block(p) for p in m.parts] if m.images else m.text}
        if m.is_error:
            result["is_error"] = True
        return [result]
    blocks: list[dict[str, Any]] = []
    if m.role == "assistant" and m.thinking and m.thinking_signature:
        blocks.append({"type": "thinking", "thinking": m.thinking, "signature": m.thinking_signature})
    blocks += [_block(p) for p in m.parts if not (isinstance(p, TextPart) and not p.text)]
    for call in m.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _arguments(call)})
    return blocks


def _block(p: Part) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "text", "text": p.text}
    if p.data is not None:
        return {"type": "image", "source": {"type": "base64", "media_type": p.media_type or "image/png",
                                            "data": p.data}}
    return {"type": "image", "source": {"type": "url", "url": p.url}}


def _arguments(call: ToolCall) -> Any:
    return arguments_object(call.arguments)


def tool_to_anthropic(t: Tool) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": t.name,
                            "input_schema": dict(t.parameters) or {"type": "object", "properties": {}}}
    if t.description:
        tool["description"] = t.description
    return tool


def tool_choice_to_anthropic(req: ChatRequest) -> dict[str, Any] | None:
    if req.tool_choice is None and req.parallel_tool_calls is not False:
        return None
    choice: dict[str, Any]
    if req.tool_name:
        choice = {"type": "tool", "name": req.tool_name}
    elif req.tool_choice == "required":
        choice = {"type": "any"}
    elif req.tool_choice == "none":
        return {"type": "none"}
    else:
        choice = {"type": "auto"}
    if req.parallel_tool_calls is False:
        choice["disable_parallel_tool_use"] = True
    return choice


def thinking_to_anthropic(req: ChatRequest) -> dict[str, Any] | None:
    think = req.think
    if think is None or think is False:
        return None
    if isinstance(think, bool):
        budget = THINK_BUDGETS["medium"]
    elif isinstance(think, int):
        budget = think
    else:
        budget = THINK_BUDGETS.get(think, THINK_BUDGETS["medium"])
    return {"type": "enabled", "budget_tokens": max(1024, budget)}


def check_anthropic(req: ChatRequest) -> None:
    """Refuse what the Messages API cannot express (UnsupportedField names the field)."""
    if req.seed is not None:
        raise UnsupportedField("seed", "Anthropic's Messages API has no seed")
    if req.logprobs:
        raise UnsupportedField("logprobs", "Anthropic's Messages API returns no log-probabilities")
    if req.temperature is not None and req.temperature > 1:
        raise UnsupportedField("temperature", "Anthropic accepts 0 to 1")
    if any(m.images for m in req.messages if m.role in ("system", "developer")):
        raise UnsupportedField("system", "Anthropic takes no images in the system prompt")
    if thinking_to_anthropic(req) is not None:
        # Extended thinking works only at the default sampling, and with a tool choice of auto or none.
        for field, value in (("temperature", req.temperature), ("top_k", req.top_k)):
            if value is not None:
                raise UnsupportedField(field, "Anthropic does not take it together with thinking")
        if req.tool_choice == "required" or req.tool_name:
            raise UnsupportedField("tool_choice", "Anthropic forces no tool call together with thinking")
    if req.extra_protocol == "anthropic":
        return
    for key in req.extra:
        if key not in _ANTHROPIC_EXTRAS and key not in RUNTIME_OPTIONS and key not in PROMPT_SWITCHES:
            raise UnsupportedField(key, "Anthropic's Messages API has no such field")


# Fields of other protocols that only describe the caller; they have no effect on an answer.
_ANTHROPIC_EXTRAS = frozenset({"metadata", "store", "service_tier"})


def json_instruction(req: ChatRequest, system: str) -> tuple[str, dict[str, Any] | None]:
    """JSON output for the Messages API: a schema becomes ``output_format`` (structured outputs); plain JSON
    mode, which Anthropic does not have, becomes an instruction in the system prompt."""
    schema = req.json_schema
    if schema is not None:
        return system, {"type": "json_schema", "schema": dict(schema)}
    if req.wants_json:
        return f"{system}\n\n{_JSON_INSTRUCTION}".strip(), None
    return system, None
