"""The simulator's Starlette app: all three protocols on one port."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.routing import Route

from tiered_router.sim.anthropic_api import AnthropicProtocol
from tiered_router.sim.core import SimulatedCut, Simulator
from tiered_router.sim.ollama_api import OllamaProtocol
from tiered_router.sim.openai_api import OpenAIProtocol


class _DropSimulatedCuts(logging.Filter):
    """uvicorn logs "Exception in ASGI application" with a traceback when it drops a connection because the
    app raised mid-body; for [[sim:cut-stream]] that is the intended behaviour, not an error worth a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedCut)


def _quiet_simulated_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropSimulatedCuts) for f in logger.filters):
        logger.addFilter(_DropSimulatedCuts())


def create_app(sim: Simulator | None = None) -> Starlette:
    """A Starlette app serving Ollama's, OpenAI's and Anthropic's chat APIs from ``sim`` (a default one if None).

    ``app.state.simulator`` is the Simulator, ``app.state.sim_stats`` its per-(protocol, model) Counter.
    """
    sim = Simulator() if sim is None else sim
    _quiet_simulated_cuts()
    ollama, openai, anthropic = OllamaProtocol(sim), OpenAIProtocol(sim), AnthropicProtocol(sim)
    app = Starlette(routes=[
        Route("/", ollama.root, methods=["GET"]),
        Route("/api/version", ollama.version, methods=["GET"]),
        Route("/api/tags", ollama.tags, methods=["GET"]),
        Route("/api/chat", ollama.chat, methods=["POST"]),
        Route("/v1/models", openai.models, methods=["GET"]),
        Route("/v1/chat/completions", openai.chat, methods=["POST"]),
        Route("/v1/messages", anthropic.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", anthropic.count_tokens, methods=["POST"]),
    ])
    app.state.simulator = sim
    app.state.sim_stats = sim.requests
    return app
