"""Ollama's ``/api/chat`` format ↔ the chat model, both ways.

Ollama differs from OpenAI in ways that matter to agents: tool-call ``arguments`` are a JSON object, not
text; a tool call has no id, so a tool result names its tool (``tool_name``) instead of the call; images
are base64 strings in the message's ``images`` list; ``format`` is ``"json"`` or a JSON schema; sampling
settings go in ``options``. Ids are made up on the way in (``call_<n>``) and dropped on the way out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..chat import ChatRequest, ImagePart, Message, Part, TextPart, Tool, ToolCall
from ..errors import InvalidRequest, UnsupportedField

_ROLES = frozenset({"system", "user", "assistant", "tool"})


# --- reading what an Ollama client sends --------------------------------------------------------------


def messages_from_ollama(items: Any) -> list[Message]:
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InvalidRequest("messages must be a list of messages")
    out: list[Message] = []
    for i, m in enumerate(items):
        if not isinstance(m, Mapping):
            raise InvalidRequest(f"messages[{i}]: must be an object with role and content")
        role = m.get("role")
        if role not in _ROLES:
            raise InvalidRequest(f"messages[{i}].role: unknown message role {role!r}")
        content = m.get("content")
        if content is not None and not isinstance(content, str):
            raise InvalidRequest(f"messages[{i}].content: must be a string")
        parts: list[Part] = [TextPart(content)] if content else []
        parts += [_image(img, f"messages[{i}].images[{j}]") for j, img in enumerate(m.get("images") or ())]
        calls = tuple(_tool_call(c, len(out), j, f"messages[{i}].tool_calls[{j}]")
                      for j, c in enumerate(m.get("tool_calls") or ()))
        name = m.get("tool_name")
        thinking = m.get("thinking")
        call_id = m.get("tool_call_id")  # Ollama 0.12.10 and later; older clients name the tool instead
        if role == "tool" and not isinstance(call_id, str):
            call_id = _answered_call(out, name)
        out.append(Message(role, parts, tool_calls=calls, name=name if isinstance(name, str) else None,
                           tool_call_id=call_id if role == "tool" else None,
                           thinking=thinking if isinstance(thinking, str) and thinking else None))
    return out


def _image(value: Any, where: str) -> ImagePart:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}: an image must be a base64 string")
    if value.startswith("data:"):
        return ImagePart.from_url(value)
    try:
        head = base64.b64decode(value[:64] + "=" * (-len(value[:64]) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise InvalidRequest(f"{where}: an image must be a base64 string") from None
    return ImagePart(data=value, media_type=_sniff(head))


def _sniff(head: bytes) -> str | None:
    """The media type of image bytes, from their magic number (Anthropic needs one; Ollama sends none)."""
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _tool_call(c: Any, turn: int, j: int, where: str) -> ToolCall:
    fn = c.get("function") if isinstance(c, Mapping) else None
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise InvalidRequest(f"{where}.function.name: a tool call needs a function name")
    args = fn.get("arguments")
    text = args if isinstance(args, str) else orjson.dumps(args if args is not None else {}).decode()
    call_id = c.get("id")
    return ToolCall(call_id if isinstance(call_id, str) and call_id else f"call_{turn}_{j}", fn["name"], text)


def _answered_call(history: list[Message], tool_name: Any) -> str | None:
    """The id of the latest call to ``tool_name`` that has no result yet (Ollama results name the tool)."""
    answered = {m.tool_call_id for m in history if m.role == "tool"}
    for m in reversed(history):
        for call in reversed(m.tool_calls):
            if call.id not in answered and (tool_name is None or call.name == tool_name):
                return call.id
    return None


def tools_from_ollama(tools: Any) -> tuple[Tool, ...]:
    from .openai import tools_from_openai  # Ollama's tools are OpenAI's

    return tools_from_openai(tools)


# --- writing what an Ollama server receives ------------------------------------------------------------


def messages_to_ollama(messages: Sequence[Message]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for m in messages:
        msg: dict[str, Any] = {"role": "system" if m.role == "developer" else m.role, "content": m.text}
        if m.images:
            msg["images"] = [_image_bytes(p) for p in m.images]
        if m.tool_calls:
            msg["tool_calls"] = [_call_to_ollama(c) for c in m.tool_calls]
            names.update((c.id, c.name) for c in m.tool_calls)
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "")
            if name:
                msg["tool_name"] = name
        if m.thinking and m.role == "assistant":
            msg["thinking"] = m.thinking
        out.append(msg)
    return out


def _image_bytes(p: ImagePart) -> str:
    if p.data is None:
        raise UnsupportedField("image_url", "Ollama takes images as bytes; an http(s) image URL is not fetched "
                               "by the router: send it as a data: URL")
    return p.data


def _call_to_ollama(c: ToolCall) -> dict[str, Any]:
    return {"function": {"name": c.name, "arguments": arguments_object(c.arguments)}}


def arguments_object(arguments: str) -> dict[str, Any]:
    """A call's arguments as the object Ollama and Anthropic want. Text that is not a JSON object (a model's
    broken call, sent back in the history) is kept whole under ``_arguments`` rather than lost or refused."""
    try:
        value = orjson.loads(arguments) if arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"_arguments": arguments}
    return value if isinstance(value, dict) else {"_arguments": arguments}


def tool_to_ollama(t: Tool) -> dict[str, Any]:
    from .openai import tool_to_openai

    return tool_to_openai(t)


def options_to_ollama(req: ChatRequest, context_window: int) -> dict[str, Any]:
    """Ollama's ``options``. ``num_ctx`` is always sent: without it Ollama truncates a long prompt silently
    at its own default window, while the router believes the tier's configured window."""
    options: dict[str, Any] = {"num_ctx": req.num_ctx or context_window}
    if req.max_tokens is not None:
        options["num_predict"] = req.max_tokens
    for key in ("temperature", "top_p", "top_k", "seed"):
        value = getattr(req, key)
        if value is not None:
            options[key] = value
    if req.stop:
        options["stop"] = req.stop
    if req.extra_protocol == "ollama":  # the client's own Ollama options, as it sent them
        options.update((k, v) for k, v in req.extra.items() if k not in TOP_LEVEL)
    else:
        for key in ("frequency_penalty", "presence_penalty"):
            if key in req.extra:
                options[key] = req.extra[key]
    return options


def check_ollama(req: ChatRequest) -> None:
    """Refuse what Ollama's chat API cannot express (UnsupportedField names the field)."""
    if req.tool_choice == "required" or req.tool_name:
        raise UnsupportedField("tool_choice", "Ollama cannot be made to call a tool (only auto or none)")
    if req.parallel_tool_calls is False:
        raise UnsupportedField("parallel_tool_calls", "Ollama cannot be limited to one tool call per answer")
    if any(p.data is None for m in req.messages for p in m.images):
        raise UnsupportedField("image_url", "Ollama takes images as bytes; an http(s) image URL is not fetched by "
                               "the router: send it as a data: URL")
    if req.extra_protocol == "ollama":
        return
    for key in req.extra:
        if key not in _OLLAMA_EXTRAS:
            raise UnsupportedField(key, "Ollama's chat API has no such field")


# Fields of other protocols with an Ollama equivalent (sent in options), or that only describe the caller.
_OLLAMA_EXTRAS = frozenset({"frequency_penalty", "presence_penalty", "metadata", "store", "service_tier"})
# Ollama's switches for a prompt longer than the window: other protocols never cut a prompt (they refuse it).
PROMPT_SWITCHES = frozenset({"truncate", "shift"})
# Ollama request fields (not options) a client may send: sent to Ollama tiers as they are.
TOP_LEVEL = frozenset({"truncate", "shift"})
# Ollama options about the machine, not the answer: meaningless to another protocol, so not sent there.
RUNTIME_OPTIONS = frozenset({"num_gpu", "main_gpu", "num_thread", "num_batch", "use_mmap", "use_mlock", "numa",
                             "low_vram", "num_keep"})


def format_to_ollama(req: ChatRequest) -> str | Mapping[str, Any] | None:
    if not req.wants_json:
        return None
    return req.json_schema or "json"
