"""Request bodies the server accepts, validated with pydantic. Unknown fields are kept and passed on."""

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


class ChatCompletionRequest(BaseModel):
    """OpenAI's ``POST /v1/chat/completions`` body (the fields the router acts on)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    response_format: dict[str, Any] | None = None


class OllamaOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    num_predict: int | None = None
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: list[str] | None = None


class OllamaChatRequest(BaseModel):
    """Ollama's ``POST /api/chat`` body. Note that Ollama streams unless told not to."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = True
    options: OllamaOptions | None = None
    format: str | dict[str, Any] | None = None


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
