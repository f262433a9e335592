"""Request bodies the server accepts, validated with pydantic before anything reaches the router."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from ..tiers import PUBLIC_NAMES, Tier
from . import wire_schemas as ws


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None


def _json_int(value: Any) -> Any:
    """JSON's integers: 3 and 3.0 (JSON schema counts both), not true or "3"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class ChatBody(BaseModel):
    """What every chat front's body has. Unknown fields are kept (``model_extra``): each front either maps
    them to the chat model or refuses them with a 400 that names them. The OpenAPI document lists only the
    documented fields (``additionalProperties: false``): the portable contract."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    model: str = Field(min_length=1)
    stream: StrictBool = False


# Structured fields are read by the format modules (formats/*.py), which check them and say what is wrong;
# the schemas in wire_schemas.py document exactly what they accept.
OpenAIMessages = Annotated[list[dict[str, Any]], Field(min_length=1), WithJsonSchema(ws.OPENAI_MESSAGES)]


class ChatCompletionRequest(ChatBody):
    """OpenAI's ``POST /v1/chat/completions`` body."""

    messages: OpenAIMessages
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=10_000_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=10_000_000)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    response_format: Annotated[dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.RESPONSE_FORMAT))] = None
    tools: Annotated[list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.OPENAI_TOOLS))] = None
    tool_choice: Annotated[str | dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.OPENAI_TOOL_CHOICE))] = None
    parallel_tool_calls: StrictBool | None = None
    seed: Annotated[int | None, BeforeValidator(_json_int), WithJsonSchema(ws.nullable(ws.INT64))] = None
    # More than one answer would be billed for each; the router returns one (n > 1 is refused by name).
    n: Annotated[int | None, Field(None, ge=1),
                 WithJsonSchema(ws.nullable({"type": "integer", "minimum": 1, "maximum": 1}))]
    user: str | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None


class OllamaOptions(BaseModel):
    """Ollama's ``options``. Others (``repeat_penalty``, ``num_gpu``, ...) are kept and sent to Ollama tiers."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    num_predict: int | None = Field(None, ge=-2, le=10_000_000)  # -1: until done, -2: fill the context
    num_ctx: int | None = Field(None, ge=1, le=10_000_000)
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0, le=1_000_000)
    seed: Annotated[int | None, BeforeValidator(_json_int), WithJsonSchema(ws.nullable(ws.INT64))] = None
    stop: list[str] | None = None
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    presence_penalty: float | None = Field(None, ge=-2, le=2)


class OllamaCommon(ChatBody):
    """What ``/api/chat`` and ``/api/generate`` share. Note that Ollama streams unless told not to."""

    stream: StrictBool = True
    options: OllamaOptions | None = None
    format: Annotated[str | dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.OLLAMA_FORMAT))] = None
    think: Annotated[StrictBool | Literal["low", "medium", "high"] | None,
                     WithJsonSchema(ws.nullable(ws.OLLAMA_THINK))] = None
    keep_alive: str | float | None = None
    logprobs: StrictBool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    truncate: StrictBool | None = None  # false: a prompt longer than the window is an error, not cut
    shift: StrictBool | None = None


class OllamaChatRequest(OllamaCommon):
    """Ollama's ``POST /api/chat`` body."""

    messages: Annotated[list[dict[str, Any]], Field(min_length=1), WithJsonSchema(ws.OLLAMA_MESSAGES)]
    tools: Annotated[list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.OPENAI_TOOLS))] = None


class OllamaGenerateRequest(OllamaCommon):
    """Ollama's ``POST /api/generate`` body."""

    prompt: str = ""
    system: str | None = None
    images: Annotated[list[str] | None, WithJsonSchema(ws.nullable({"type": "array", "items": ws.BASE64}))] = None


class OllamaShowRequest(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={
        "additionalProperties": False,
        "anyOf": [{"required": ["model"], "properties": {"model": {"type": "string", "minLength": 1}}},
                  {"required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}]})

    model: str | None = None
    name: str | None = None  # the older spelling


class AnthropicMessagesRequest(ChatBody):
    """Anthropic's ``POST /v1/messages`` body."""

    max_tokens: int = Field(ge=1, le=1_000_000)
    messages: Annotated[list[dict[str, Any]], Field(min_length=1), WithJsonSchema(ws.ANTHROPIC_MESSAGES)]
    system: Annotated[str | list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_SYSTEM))] = None
    tools: Annotated[list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_TOOLS))] = None
    tool_choice: Annotated[dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_TOOL_CHOICE))] = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0, le=1_000_000)
    metadata: Annotated[dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_METADATA))] = None
    thinking: Annotated[dict[str, Any] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_THINKING))] = None


class AnthropicCountRequest(BaseModel):
    """Anthropic's ``POST /v1/messages/count_tokens`` body (no ``max_tokens``)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: Annotated[list[dict[str, Any]], Field(min_length=1), WithJsonSchema(ws.ANTHROPIC_MESSAGES)]
    system: Annotated[str | list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_SYSTEM))] = None
    tools: Annotated[list[dict[str, Any]] | None, WithJsonSchema(ws.nullable(ws.ANTHROPIC_TOOLS))] = None


# Values a client may send for a tier: all read by Tier.parse; the lists below are what the schema documents.
TIER_QUERY_VALUES = ("", *(str(t.value) for t in Tier), *(t.slug for t in Tier))
_TIER_VALUES: list[int | str] = [*(t.value for t in Tier), *(str(t.value) for t in Tier), *PUBLIC_NAMES,
                                 *(t.name for t in Tier)]


def _parse_tier(value: int | str) -> int:
    try:
        return int(Tier.parse(value))
    except ValueError as exc:
        raise ValueError(str(exc)) from None


TierName = Annotated[StrictInt | StrictStr, AfterValidator(_parse_tier), WithJsonSchema({"enum": _TIER_VALUES})]


class RoutingContext(BaseModel):
    model_config = ConfigDict(extra="allow")

    tier: TierName | None = None
    allow_cloud: StrictBool | None = None


class FeedbackRequest(BaseModel):
    """How good the answer to ``request_id`` was: ``good``, ``bad``, or a score from 0 (bad) to 1 (good)."""

    model_config = ConfigDict(extra="forbid")

    request_id: StrictStr = Field(min_length=1, max_length=200)
    score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)] | Literal["good", "bad"]
    comment: StrictStr | None = Field(None, max_length=2000)


class ClassifyRequest(BaseModel):
    """Either ``prompt`` or ``messages``; ``context`` as for the library's ``classify``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [
            {"required": ["prompt"], "properties": {"prompt": {"type": "string"}}},
            {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
        ]},
    )

    messages: list[ChatMessage] | None = Field(None, min_length=1)
    prompt: str | None = None
    context: RoutingContext | None = None
