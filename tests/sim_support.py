"""What the tests share beside the fixtures: the demo models' names, how many calls each tier's model has had,
and the agent inputs several suites send (a tool, an image) (not a test module)."""

from __future__ import annotations

FAST, HEAVY, CLOUD = "llama3.1:8b", "hermes3:70b", "claude-haiku-4-5"  # tiers 1, 2, 3 of demo_settings

WEATHER = {  # an OpenAI-style tool
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]},
    },
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="  # 1×1


def calls(simulator) -> dict[str, int]:
    """Calls so far to each tier's model, by tier name (fast, heavy, cloud)."""
    counts = simulator.sim.requests
    return {"fast": counts[("ollama", FAST)], "heavy": counts[("ollama", HEAVY)],
            "cloud": counts[("anthropic", CLOUD)]}


def since(simulator, before: dict[str, int]) -> dict[str, int]:
    """Calls to each tier's model since ``before`` (an earlier ``calls``)."""
    return {k: v - before[k] for k, v in calls(simulator).items()}
