"""The internal chat model: one typed shape for what every protocol carries, rich enough for agents.

A request is read once, by its front, into ``Message``s and a ``ChatRequest``; every later stage (the
classifier, the gate, the token estimate, the record, each backend) reads these, and each wire format is
produced from them by its own module in ``formats/``. Messages carry text and image parts, an assistant's
tool calls (id, name, arguments as JSON text), tool results (the call's id, its content), and the
assistant's reasoning ("thinking") where a protocol has it. Results and stream chunks carry the same,
plus a normalised stop reason: ``stop``, ``length``, ``tool_calls``, or the provider's own word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "developer", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant", "tool"})


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image: inline bytes (``data``, base64 without a ``data:`` prefix, with ``media_type``) or a
    ``url`` the provider fetches itself. ``detail`` is OpenAI's low/high/auto hint."""

    data: str | None = None
    media_type: str | None = None
    url: str | None = None
    detail: str | None = None

    @classmethod
    def from_url(cls, url: str, detail: str | None = None) -> ImagePart:
        """An OpenAI ``image_url``: a ``data:`` URL becomes inline bytes, anything else stays a URL."""
        if url.startswith("data:"):
            head, _, data = url.partition(",")
            media_type = head[5:].split(";", 1)[0] or None
            return cls(data=data, media_type=media_type, detail=detail)
        return cls(url=url, detail=detail)

    def as_url(self) -> str:
        if self.url is not None:
            return self.url
        return f"data:{self.media_type or 'image/png'};base64,{self.data or ''}"


Part = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the assistant asked for. ``arguments`` is JSON text, exactly as the model wrote it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token and its log-probability, with the most likely alternatives when asked for."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: its name, what it does, and the JSON schema of its arguments."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)


class Message:
    """One turn. ``text`` is the text parts joined (computed once); ``images`` the image parts."""

    __slots__ = ("images", "is_error", "name", "parts", "role", "text", "thinking", "thinking_signature",
                 "tool_call_id", "tool_calls")

    def __init__(self, role: Role, parts: Iterable[Part] | str = (), *, tool_calls: Sequence[ToolCall] = (),
                 tool_call_id: str | None = None, name: str | None = None, thinking: str | None = None,
                 thinking_signature: str | None = None, is_error: bool = False) -> None:
        self.role: Role = role
        if isinstance(parts, str):
            self.parts: tuple[Part, ...] = (TextPart(parts),) if parts else ()
            self.text = parts
            self.images: tuple[ImagePart, ...] = ()
        else:
            self.parts = tuple(parts)
            texts = [p.text for p in self.parts if isinstance(p, TextPart)]
            self.text = texts[0] if len(texts) == 1 else "\n".join(texts)
            self.images = tuple(p for p in self.parts if isinstance(p, ImagePart))
        self.tool_calls = tuple(tool_calls)
        self.tool_call_id = tool_call_id  # a tool result: the id of the call it answers
        self.name = name  # a tool result: the tool's name (Ollama wants it); else OpenAI's participant name
        self.thinking = thinking  # an assistant's reasoning, passed back the way its protocol wants it
        self.thinking_signature = thinking_signature  # Anthropic signs thinking; it must come back intact
        self.is_error = is_error  # a tool result that reports a failure (Anthropic's is_error)

    def __repr__(self) -> str:
        extra = f", tool_calls={list(self.tool_calls)}" if self.tool_calls else ""
        if self.tool_call_id:
            extra += f", tool_call_id={self.tool_call_id!r}"
        return f"Message({self.role!r}, {self.text[:60]!r}{extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object: compare, don't hash

    @property
    def is_tool_result(self) -> bool:
        return self.role == "tool"


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False  # True when the provider sent no counts and we estimated them

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.estimated or other.estimated,
        )


ToolChoice = Literal["auto", "none", "required"]


@dataclass
class ChatRequest:
    """A request as every backend receives it. Fields a protocol cannot express are refused by its format
    module with ``UnsupportedField`` (a 400 that names the field and the tier), never dropped.

    ``num_ctx`` and ``keep_alive`` are the client's own Ollama settings (sent to Ollama tiers only);
    ``think`` asks for reasoning; ``extra`` holds other
    fields of the client's protocol (``extra_protocol``), sent as they are to backends of that protocol."""

    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    tool_name: str | None = None  # with tool_choice "required": this tool and no other
    parallel_tool_calls: bool | None = None
    seed: int | None = None
    top_k: int | None = None
    think: bool | str | int | None = None  # True, a level ("low"/"medium"/"high"), or a budget in tokens
    num_ctx: int | None = None
    keep_alive: str | float | None = None
    user: str | None = None
    logprobs: bool = False  # return each answer token's log-probability (the client's ask, or the gate's)
    top_logprobs: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    extra_protocol: str = "openai"  # the protocol whose field names ``extra`` uses

    @property
    def wants_json(self) -> bool:
        return self.response_format is not None and self.response_format.get("type") in ("json_object", "json_schema")

    @property
    def json_schema(self) -> Mapping[str, Any] | None:
        """The schema of a ``json_schema`` response format, if one was given."""
        fmt = self.response_format
        if fmt is None or fmt.get("type") != "json_schema":
            return None
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return schema if isinstance(schema, Mapping) else None

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


@dataclass
class ChatResult:
    text: str
    finish_reason: str  # normalised: "stop", "length", "tool_calls", or the provider's own word
    usage: Usage
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: str | None = None
    thinking_signature: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass
class StreamChunk:
    """A piece of a streamed answer. Tool calls arrive whole: a backend holds a call's argument deltas
    until the call is complete."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: str = ""
    thinking_signature: str | None = None
    logprobs: tuple[TokenLogprob, ...] = ()


# A fixed charge per image for estimates: Anthropic's images cost up to about 1,600 tokens and OpenAI's
# high-detail ones up to about 1,100; the estimate is used where a provider sends no count.
IMAGE_TOKENS = 1600


def estimate_tokens(text: str) -> int:
    """A cheap, tokenizer-free estimate (~4 characters a token), used only when counts are missing."""
    return max(1, (len(text) + 3) // 4) if text else 0


def estimate_prompt_tokens(messages: Sequence[Message], tools: Sequence[Tool] = ()) -> int:
    total = 0
    for m in messages:
        total += estimate_tokens(m.text) + 4
        if m.images:
            total += IMAGE_TOKENS * len(m.images)
        for call in m.tool_calls:
            total += estimate_tokens(call.name) + estimate_tokens(call.arguments) + 4
    for tool in tools:
        total += estimate_tokens(tool.name) + estimate_tokens(tool.description or "") + 8
        total += estimate_tokens(repr(tool.parameters))
    return total


def last_user_text(messages: Sequence[Message]) -> str:
    """The text of the latest user turn (of the last message when there is none)."""
    for m in reversed(messages):
        if m.role == "user":
            return m.text
    return messages[-1].text if messages else ""


def content_text(content: Any) -> str:
    """The text of an OpenAI-style message's content: a string, or a list of parts with ``{"type": "text"}``."""
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


def read_leniently(task: str | Sequence[Message | Mapping[str, Any]] | Mapping[str, Any]) -> list[Message]:
    """Messages from any prompt or message-like input, for code that judges text (the classifier, the gate)
    rather than validates a request: unknown roles read as user turns, any content as its text."""
    if isinstance(task, str):
        return [Message("user", task)]
    items: Sequence[Any] = [task] if isinstance(task, Mapping) else task
    out: list[Message] = []
    for m in items:
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, Mapping):
            role = m.get("role")
            out.append(Message(role if role in ROLES else "user", content_text(m.get("content"))))
    return out


def parse_logprobs(items: Any) -> tuple[TokenLogprob, ...] | None:
    """OpenAI's ``logprobs.content`` and Ollama's ``logprobs``, which share a shape: a list of
    ``{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}``."""
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("logprob"), int | float):
            top = tuple((str(t.get("token", "")), float(t["logprob"])) for t in item.get("top_logprobs") or ()
                        if isinstance(t, Mapping) and isinstance(t.get("logprob"), int | float))
            out.append(TokenLogprob(str(item.get("token", "")), float(item["logprob"]), top))
    return tuple(out)


def render_logprobs(items: Sequence[TokenLogprob]) -> list[dict[str, Any]]:
    """The shared wire shape back (OpenAI adds each token's UTF-8 bytes)."""
    return [{"token": t.token, "logprob": t.logprob, "bytes": list(t.token.encode("utf-8", "surrogatepass")),
             "top_logprobs": [{"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8", "surrogatepass"))}
                              for tok, lp in t.top]} for t in items]
