"""Backends: one small module per wire protocol behind the ``Backend`` interface."""

from __future__ import annotations

from ..config import ModelSpec, Settings
from ..tiers import Tier
from .anthropic import AnthropicBackend
from .base import Backend, ChatRequest, ChatResult, HttpBackend, HttpPool, StreamChunk, Usage
from .function import FunctionBackend
from .ollama import OllamaBackend
from .openai_compat import OpenAICompatBackend

_BY_PROTOCOL: dict[str, type[HttpBackend]] = {
    "ollama": OllamaBackend,
    "openai": OpenAICompatBackend,
    "anthropic": AnthropicBackend,
}


def backend_for(spec: ModelSpec, *, base_url: str, api_key: str | None, timeout_s: float,
                connect_timeout_s: float, context_window: int, pool: HttpPool) -> HttpBackend:
    return _BY_PROTOCOL[spec.protocol](
        provider=spec.provider, model=spec.model, base_url=base_url, api_key=api_key,
        timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, pool=pool,
        context_window=context_window, is_local=spec.is_local,
    )


def backend_for_tier(settings: Settings, tier: Tier, pool: HttpPool) -> Backend:
    return backend_for(
        settings.model_spec(tier), base_url=settings.base_url(tier), api_key=settings.api_key(tier),
        timeout_s=settings.timeout_s(tier), connect_timeout_s=settings.connect_timeout_s,
        context_window=settings.context_window(tier), pool=pool,
    )


__all__ = [
    "AnthropicBackend", "Backend", "ChatRequest", "ChatResult", "FunctionBackend", "HttpBackend", "HttpPool",
    "OllamaBackend",
    "OpenAICompatBackend", "StreamChunk", "Usage", "backend_for", "backend_for_tier",
]
