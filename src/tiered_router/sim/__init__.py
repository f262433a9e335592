"""A simulated LLM server speaking Ollama's, OpenAI's and Anthropic's wire protocols. See docs/simulator.md.

    from tiered_router.sim import Simulator, create_app
    from tiered_router.server.runner import ServerThread

    with ServerThread(create_app(Simulator(ttft_ms=50))) as server:
        ...  # point any Ollama, OpenAI or Anthropic client at server.url
"""

from tiered_router.sim.app import create_app
from tiered_router.sim.core import BEHAVIOURS, DEFAULT_MODELS, SimulatedCut, Simulator

__all__ = ["BEHAVIOURS", "DEFAULT_MODELS", "SimulatedCut", "Simulator", "create_app"]
