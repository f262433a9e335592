"""A simulated LLM server speaking Ollama's, OpenAI's and Anthropic's wire protocols. See docs/simulator.md."""

from tiered_router.sim.app import create_app
from tiered_router.sim.core import BEHAVIOURS, DEFAULT_MODELS, SimulatedCut, Simulator

__all__ = ["BEHAVIOURS", "DEFAULT_MODELS", "SimulatedCut", "Simulator", "create_app"]
