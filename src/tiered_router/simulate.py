"""The built-in LLM server simulator (public entry point); the implementation lives in ``tiered_router.sim``.

    from tiered_router.simulate import Simulator, create_app
    from tiered_router.serving import ServerThread

    with ServerThread(create_app(Simulator(ttft_ms=50))) as server:
        ...  # point any Ollama, OpenAI or Anthropic client at server.url

See docs/simulator.md for the protocols, the ``[[sim:...]]`` behaviour markers and the latency options.
"""

from tiered_router.sim import BEHAVIOURS, DEFAULT_MODELS, SimulatedCut, Simulator, create_app

__all__ = ["BEHAVIOURS", "DEFAULT_MODELS", "SimulatedCut", "Simulator", "create_app"]
