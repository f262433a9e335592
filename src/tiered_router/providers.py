"""Every provider the router can talk to, one entry each: the one place a new provider is added.

An entry says which wire protocol the provider speaks (which backend module serves it), where its public
API lives, which environment variable holds its key, whether it runs locally (local calls are never
charged to the cloud budget) and how ``genai-prices`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Protocol = Literal["ollama", "openai", "anthropic"]

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    protocol: Protocol
    local: bool
    default_url: str | None = None  # None: the tier's configured URL (local servers) is required
    key_env: str | None = None  # the provider's usual key variable (TIER_CLOUD_API_KEY wins on the cloud tier)
    pricing_id: str | None = None  # genai-prices' provider id, when it is not ``name``


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("ollama", "ollama", local=True, default_url=DEFAULT_OLLAMA_URL),
    Provider("openai_compat", "openai", local=True),
    Provider("vllm", "openai", local=True),
    Provider("lmstudio", "openai", local=True),
    Provider("llamacpp", "openai", local=True),
    Provider("openai", "openai", local=False, default_url="https://api.openai.com/v1", key_env="OPENAI_API_KEY"),
    Provider("xai", "openai", local=False, default_url="https://api.x.ai/v1", key_env="XAI_API_KEY",
             pricing_id="x-ai"),
    Provider("anthropic", "anthropic", local=False, default_url="https://api.anthropic.com",
             key_env="ANTHROPIC_API_KEY"),
)}

# Other spellings of a provider's name in model strings ("llama.cpp/qwen2.5").
ALIASES: dict[str, str] = {"llama.cpp": "llamacpp", "llama-cpp": "llamacpp"}


def lookup(name: str) -> Provider | None:
    key = name.strip().lower()
    return PROVIDERS.get(ALIASES.get(key, key))


def is_local(name: str) -> bool:
    provider = lookup(name)
    return provider is not None and provider.local


def local_names() -> frozenset[str]:
    """Every name (and alias) of a local provider."""
    return frozenset(n for n in (*PROVIDERS, *ALIASES) if is_local(n))


def pricing_id(name: str) -> str:
    """How genai-prices names this provider (the name itself for providers it does not know)."""
    provider = lookup(name)
    if provider is None:
        return name
    return provider.pricing_id or provider.name
