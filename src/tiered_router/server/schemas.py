"""Request bodies the server accepts, validated with pydantic before anything reaches the router."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema

from ..tiers import PUBLIC_NAMES, Tier


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class ChatBody(BaseModel):
    """What every chat front's body has. Unknown fields are kept (``model_extra``): each front either maps
    them to the chat model or refuses them with a 400 that names them."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    stream: StrictBool = False


# Messages are read by the format modules (formats/*.py), which check each one and say which is wrong; the
# schema here documents their shape for the OpenAPI document.
OpenAIMessages = Annotated[list[dict[str, Any]], Field(min_length=1),
                           WithJsonSchema({"type": "array", "minItems": 1,
                                           "items": ChatMessage.model_json_schema()})]


class ChatCompletionRequest(ChatBody):
    """OpenAI's ``POST /v1/chat/completions`` body."""

    messages: OpenAIMessages
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    seed: StrictInt | None = None
    n: int | None = Field(None, ge=1)
    user: str | None = None
    reasoning_effort: str | None = None


class OllamaOptions(BaseModel):
    """Ollama's ``options``. Others (``repeat_penalty``, ``num_gpu``, ...) are kept and sent to Ollama tiers."""

    model_config = ConfigDict(extra="allow")

    num_predict: int | None = None
    num_ctx: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    seed: int | None = None
    stop: list[str] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class OllamaCommon(ChatBody):
    """What ``/api/chat`` and ``/api/generate`` share. Note that Ollama streams unless told not to."""

    stream: StrictBool = True
    options: OllamaOptions | None = None
    format: str | dict[str, Any] | None = None
    think: StrictBool | str | None = None
    keep_alive: str | float | None = None
    logprobs: StrictBool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)


class OllamaChatRequest(OllamaCommon):
    """Ollama's ``POST /api/chat`` body."""

    messages: Annotated[list[dict[str, Any]], Field(min_length=1),
                        WithJsonSchema({"type": "array", "minItems": 1, "items": ChatMessage.model_json_schema()})]
    tools: list[dict[str, Any]] | None = None


class OllamaGenerateRequest(OllamaCommon):
    """Ollama's ``POST /api/generate`` body."""

    prompt: str = ""
    system: str | None = None
    images: list[str] | None = None


class OllamaShowRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    name: str | None = None  # the older spelling


class AnthropicMessagesRequest(ChatBody):
    """Anthropic's ``POST /v1/messages`` body."""

    max_tokens: int = Field(ge=1)
    messages: Annotated[list[dict[str, Any]], Field(min_length=1),
                        WithJsonSchema({"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["role", "content"],
                            "properties": {"role": {"enum": ["user", "assistant"]},
                                           "content": {"anyOf": [{"type": "string"},
                                                                 {"type": "array", "items": {"type": "object"}}]}}}})]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    metadata: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None


class AnthropicCountRequest(BaseModel):
    """Anthropic's ``POST /v1/messages/count_tokens`` body (no ``max_tokens``)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None


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
