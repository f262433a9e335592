"""OpenAI's chat format ↔ the chat model: messages, tools and tool choice, both ways.

OpenAI's message shape is also what the library accepts (``router.complete([{"role": ..., ...}])``), so
``messages_from_openai`` is the library's reader too. Every problem is an ``InvalidRequest`` whose
message names the path of the bad value (``messages[2].content[0].type``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..chat import ROLES, ChatRequest, ImagePart, Message, Part, TextPart, Tool, ToolCall
from ..errors import InvalidRequest, UnsupportedField

# --- reading ----------------------------------------------------------------------------------------


def messages_from_openai(items: Sequence[Any]) -> list[Message]:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise InvalidRequest("messages must be a list of messages")
    out: list[Message] = []
    for i, item in enumerate(items):
        if isinstance(item, Message):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(message_from_openai(item, i))
        else:
            raise InvalidRequest(f"messages[{i}]: each message must be a mapping with role and content, "
                                 f"got {type(item).__name__}")
    return out


def message_from_openai(m: Mapping[str, Any], i: int = 0) -> Message:
    role = m.get("role")
    if role not in ROLES:
        raise InvalidRequest(f"messages[{i}].role: unknown message role {role!r}")
    content = m.get("content")
    if isinstance(content, str):  # the common case, kept cheap
        parts: tuple[Part, ...] | str = content
    elif content is None:
        parts = ()
    else:
        parts = _parts(content, f"messages[{i}].content")
    calls: tuple[ToolCall, ...] = ()
    raw_calls = m.get("tool_calls")
    if raw_calls:
        if role != "assistant":
            raise InvalidRequest(f"messages[{i}].tool_calls: only an assistant message has tool calls")
        calls = tuple(_tool_call(c, f"messages[{i}].tool_calls[{j}]") for j, c in enumerate(raw_calls))
    tool_call_id = m.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        raise InvalidRequest(f"messages[{i}].tool_call_id: a tool message must say which call it answers")
    name = m.get("name")
    thinking = m.get("reasoning_content") if role == "assistant" else None  # vLLM's and DeepSeek's field
    return Message(role, parts, tool_calls=calls, tool_call_id=tool_call_id if role == "tool" else None,
                   name=name if isinstance(name, str) else None,
                   thinking=thinking if isinstance(thinking, str) else None)


def _parts(content: Any, where: str) -> tuple[Part, ...]:
    if not isinstance(content, Sequence) or isinstance(content, bytes):
        raise InvalidRequest(f"{where}: must be a string or a list of content parts")
    parts: list[Part] = []
    for j, part in enumerate(content):
        if isinstance(part, str):
            parts.append(TextPart(part))
            continue
        if not isinstance(part, Mapping):
            raise InvalidRequest(f"{where}[{j}]: a content part must be an object")
        kind = part.get("type")
        if kind == "text" or (kind is None and isinstance(part.get("text"), str)):
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequest(f"{where}[{j}].text: must be a string")
            parts.append(TextPart(text))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            if not isinstance(url, str) or not url:
                raise InvalidRequest(f"{where}[{j}].image_url.url: must be a URL or a data: URL")
            detail = image.get("detail") if isinstance(image, Mapping) else None
            parts.append(ImagePart.from_url(url, detail if isinstance(detail, str) else None))
        elif kind == "refusal":  # an assistant's refusal part, kept as its text
            parts.append(TextPart(str(part.get("refusal") or "")))
        elif kind in ("input_audio", "file"):
            raise UnsupportedField(f"{where}[{j}].type", f"{kind} parts are not supported by tiered-router")
        else:
            raise InvalidRequest(f"{where}[{j}].type: unknown content part type {kind!r}")
    return tuple(parts)


def _tool_call(c: Any, where: str) -> ToolCall:
    fn = c.get("function") if isinstance(c, Mapping) else None
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise InvalidRequest(f"{where}.function.name: a tool call needs a function name")
    arguments = fn.get("arguments", "")
    if not isinstance(arguments, str):  # some clients send the object itself
        import orjson

        arguments = orjson.dumps(arguments).decode()
    call_id = c.get("id")
    return ToolCall(call_id if isinstance(call_id, str) and call_id else f"call_{fn['name']}", fn["name"],
                    arguments)


def tools_from_openai(tools: Any) -> tuple[Tool, ...]:
    if tools is None:
        return ()
    if not isinstance(tools, Sequence):
        raise InvalidRequest("tools: must be a list")
    out = []
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, Mapping) else None
        if not isinstance(t, Mapping) or t.get("type", "function") != "function" or not isinstance(fn, Mapping):
            raise InvalidRequest(f"tools[{i}]: each tool must be {{\"type\": \"function\", \"function\": {{...}}}}")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"tools[{i}].function.name: required")
        params = fn.get("parameters")
        description = fn.get("description")
        out.append(Tool(name, description if isinstance(description, str) else None,
                        params if isinstance(params, Mapping) else {}))
    return tuple(out)


def tool_choice_from_openai(choice: Any) -> tuple[str | None, str | None]:
    """(tool_choice, tool_name) from OpenAI's ``tool_choice``."""
    if choice is None:
        return None, None
    if choice in ("auto", "none", "required"):
        return choice, None
    if isinstance(choice, Mapping):
        fn = choice.get("function")
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            return "required", fn["name"]
    raise InvalidRequest('tool_choice: must be "auto", "none", "required" or {"type": "function", '
                         '"function": {"name": ...}}')


# --- writing ----------------------------------------------------------------------------------------


def message_to_openai(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    if m.images:
        out["content"] = [_part_to_openai(p) for p in m.parts]
    elif m.role == "assistant" and m.tool_calls and not m.text:
        out["content"] = None
    else:
        out["content"] = m.text
    if m.tool_calls:
        out["tool_calls"] = [tool_call_to_openai(c) for c in m.tool_calls]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id
    elif m.name:
        out["name"] = m.name
    return out


def _part_to_openai(p: Part) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "text", "text": p.text}
    image: dict[str, Any] = {"url": p.as_url()}
    if p.detail:
        image["detail"] = p.detail
    return {"type": "image_url", "image_url": image}


def tool_call_to_openai(c: ToolCall) -> dict[str, Any]:
    return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}


def tool_to_openai(t: Tool) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": t.name, "parameters": dict(t.parameters) or {"type": "object", "properties": {}}}
    if t.description:
        fn["description"] = t.description
    return {"type": "function", "function": fn}


def tool_choice_to_openai(req: ChatRequest) -> Any:
    if req.tool_name:
        return {"type": "function", "function": {"name": req.tool_name}}
    return req.tool_choice


# --- a request from OpenAI-named parameters (the OpenAI front, and the library's keyword arguments) ----------

# Fields the router reads itself; any other parameter is passed to OpenAI-compatible backends as is, and
# refused by the others (UnsupportedField) unless their format knows an equivalent.
_READ = frozenset({"max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "response_format", "tools",
                   "tool_choice", "parallel_tool_calls", "seed", "top_k", "think", "reasoning_effort", "num_ctx",
                   "keep_alive", "user", "n", "stream", "stream_options", "best_of", "logprobs", "top_logprobs"})


def request_from_params(messages: list[Message], params: Mapping[str, Any]) -> ChatRequest:
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        max_tokens = params.get("max_completion_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
                                   or max_tokens > 10_000_000):
        raise InvalidRequest("max_tokens must be a positive integer, at most 10,000,000")
    for key in ("n", "best_of"):
        value = params.get(key)
        if value is not None and value != 1:
            # Each completion would be billed; the router returns one answer.
            raise UnsupportedField(key, "the router returns one answer per request (n and best_of must be 1)")
    stop = params.get("stop")
    choice, name = tool_choice_from_openai(params.get("tool_choice"))
    response_format = params.get("response_format")
    if response_format is not None and not isinstance(response_format, Mapping):
        raise InvalidRequest("response_format: must be an object")
    think = params.get("think")
    if think is None:
        think = params.get("reasoning_effort")
    extra = {k: v for k, v in params.items() if k not in _READ and v is not None}
    top_logprobs = params.get("top_logprobs")
    return ChatRequest(
        messages=messages, max_tokens=max_tokens, temperature=params.get("temperature"),
        top_p=params.get("top_p"), stop=[stop] if isinstance(stop, str) else stop,
        response_format=dict(response_format) if response_format is not None else None,
        tools=tools_from_openai(params.get("tools")), tool_choice=choice,  # type: ignore[arg-type]
        tool_name=name, parallel_tool_calls=params.get("parallel_tool_calls"), seed=params.get("seed"),
        top_k=params.get("top_k"), think=think, num_ctx=params.get("num_ctx"), keep_alive=params.get("keep_alive"),
        user=params.get("user"), logprobs=params.get("logprobs") is True,
        top_logprobs=top_logprobs if isinstance(top_logprobs, int) else None, extra=extra,
    )


def as_messages(task: str | Sequence[Any]) -> list[Message]:
    """A prompt string becomes one user message; a list is read as OpenAI-style messages (or Messages)."""
    if isinstance(task, str):
        return [Message("user", task)]
    return messages_from_openai(task)
