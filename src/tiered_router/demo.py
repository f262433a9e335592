"""``tiered-router demo``: a scripted session through all three tiers against the simulator."""

from __future__ import annotations

import contextlib
from typing import Any

from .config import Settings, load_settings
from .errors import RouterError
from .routing import TieredModelRouter
from .server.runner import ServerThread
from .sim import Simulator, create_app

# (label, prompt, context). The markers make the simulator misbehave for one model only.
SCRIPT: list[tuple[str, str, dict[str, Any]]] = [
    ("tier-1 action", "Walk to the next room", {}),
    ("tier-2 plan", "Plan the optimal path to become Hortator", {}),
    ("tier-1 refusal → tier 2", "Head to the blacksmith. [[sim:refuse@llama3.1:8b]]", {}),
    ("tier-2 failure → cloud",
     "Devise a strategy to win the Great House vote before the council meets. [[sim:http500@hermes3:70b]]", {}),
    ("forced cloud", "Summarise the quest log in two sentences.", {"tier": "cloud"}),
]


def demo_settings(sim_url: str, **overrides: Any) -> Settings:
    """All three tiers on the simulator; the cloud tier speaks the Anthropic protocol."""
    values: dict[str, Any] = {
        "local_fast_model": "ollama/llama3.1:8b",
        "local_heavy_model": "ollama/hermes3:70b",
        "cloud_model": "anthropic/claude-haiku-4-5",
        "local_fast_url": sim_url,
        "local_heavy_url": sim_url,
        "cloud_url": sim_url,
        "cloud_api_key": "simulator-key",
        "cloud_enabled": True,
    }
    values.update(overrides)
    return load_settings(**values)


def run_demo(**overrides: Any) -> list[dict[str, Any]]:
    """Run SCRIPT and return one routing record per request, each labelled ``demo.label``."""
    records: list[dict[str, Any]] = []
    with ServerThread(create_app(Simulator())) as sim, \
            TieredModelRouter(demo_settings(sim.url, **overrides), sinks=[]) as router:
        for label, prompt, context in SCRIPT:
            # A failure is in the record; the demo shows it rather than stopping.
            with contextlib.suppress(RouterError):
                router.complete_sync(prompt, {**context, "entry_point": "demo"})
            records.append({**router.records[-1], "demo.label": label})
    return records
