"""Request bodies the server accepts, validated with pydantic. Unknown fields are kept and passed on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's ``POST /v1/chat/completions`` body (the fields the router acts on)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences")
        return v


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
    stream: bool = True
    options: OllamaOptions | None = None
    format: str | dict[str, Any] | None = None


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] | None = None
    prompt: str | None = None
    context: dict[str, Any] | None = None
