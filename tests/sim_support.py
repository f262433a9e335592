"""What the tests ask of the simulator beside the fixtures: the demo models' names, and how many calls each
tier's model has had (not a test module)."""

from __future__ import annotations

FAST, HEAVY, CLOUD = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5"  # tiers 1, 2, 3 of demo_settings


def calls(simulator) -> dict[str, int]:
    """Calls so far to each tier's model, by tier name (fast, heavy, cloud)."""
    counts = simulator.sim.requests
    return {"fast": counts[("ollama", FAST)], "heavy": counts[("ollama", HEAVY)],
            "cloud": counts[("anthropic", CLOUD)]}


def since(simulator, before: dict[str, int]) -> dict[str, int]:
    """Calls to each tier's model since ``before`` (an earlier ``calls``)."""
    return {k: v - before[k] for k, v in calls(simulator).items()}
