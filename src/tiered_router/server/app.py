"""The proxy server: one Starlette app with an OpenAI front, an Ollama front and the router's own API.

    tiered-router serve            # 127.0.0.1:8080 by default

Every error leaves as JSON in OpenAI's shape (Ollama's on ``/api/*``); nothing leaves as a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings, load_settings
from ..observe.metrics import CONTENT_TYPE, Metrics
from ..observe.record import RecordSink, log_sink
from ..routing import TieredModelRouter
from ..routing.recorder import FanOut, Recorder, SinkRecorder
from . import anthropic_front, ollama_front, openai_front
from .errors import HTTPProblem
from .exchange import Endpoint, error_reply, front_error
from .learning import keep_learning
from .openapi import openapi_document
from .records import BatchingRecorder
from .router_api import (
    budget_endpoint,
    classify_endpoint,
    decisions_endpoint,
    feedback_endpoint,
    stats_endpoint,
)

log = logging.getLogger("tiered_router.server")
Handler = Callable[[Request], Awaitable[Response]]
OPEN_PATHS = frozenset({"/healthz", "/readyz"})


def guarded(handler: Handler) -> Handler:
    """Turn every exception into a JSON error: OpenAI's shape, or Ollama's on /api/*."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            return error_reply(request.url.path, exc, request.headers.get("x-request-id"))

    return wrapper


def presented_key(header: bytes) -> bytes:
    """The key in ``Bearer KEY``, or the password in ``Basic base64(user:KEY)`` (what a browser sends)."""
    scheme, _, value = header.partition(b" ")
    if scheme.lower() == b"bearer":
        return value.strip()
    if scheme.lower() == b"basic":
        try:
            return base64.b64decode(value.strip(), validate=True).partition(b":")[2]
        except (ValueError, binascii.Error):
            return b""
    return b""


class BearerAuth:
    """Require an API key when keys are configured, compared in constant time.

    Clients send ``Authorization: Bearer KEY``. A browser opening the dashboard is asked for
    HTTP Basic credentials instead (any user name, the key as password), which it then sends
    with the page's own JSON requests.
    """

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        # Anthropic's clients send the key as x-api-key (older SDKs) or as a bearer token (newer ones).
        token = presented_key(header) if header else next((v for k, v in scope["headers"] if k == b"x-api-key"), b"")
        # Compare with every key, so the time taken does not say which key came close.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(token, key)
        if matched:
            await self.app(scope, receive, send)
            return
        challenge = 'Basic realm="tiered-router"' if scope["path"].startswith("/dashboard") else "Bearer"
        problem = HTTPProblem(401, "missing or invalid API key: send Authorization: Bearer <key> (or x-api-key)",
                              "invalid_request_error", "invalid_api_key", headers={"www-authenticate": challenge})
        await front_error(scope["path"], problem, _client_request_id(scope))(scope, receive, send)


def _client_request_id(scope: Scope) -> str | None:
    """The client's ``x-request-id`` for an error answered before a route reads the request."""
    return next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1") or None


async def over_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request beyond ``TIER_MAX_CONNECTIONS`` (uvicorn refuses it before the app sees it): a
    503 in the shape of its front, with ``Retry-After`` and ``x-request-id`` like every other error."""
    problem = HTTPProblem(503, "the server has as many connections open as it allows (TIER_MAX_CONNECTIONS); "
                          "try again shortly", "server_overloaded", "too_many_connections",
                          headers={"retry-after": "1", "connection": "close"})
    await front_error(scope["path"], problem, _client_request_id(scope))(scope, receive, send)


class ChatFirst:
    """POST to a chat route goes straight to its endpoint, past Starlette's exception middleware and
    router (about 5 % of the proxy's own instructions per request). The endpoints answer every error
    themselves; anything else, including other methods on these paths, takes the usual way."""

    def __init__(self, app: ASGIApp, routes: dict[str, ASGIApp]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        await (endpoint or self.app)(scope, receive, send)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Each tier's state; 503 when no tier can answer."""
    router: TieredModelRouter = request.app.state.router
    ready, tiers = await router.readiness()
    return JSONResponse({"status": "ready" if ready else "not ready", "tiers": tiers},
                        status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    request.app.state.records.flush()
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)


_DASHBOARD = Path(__file__).with_name("static") / "dashboard.html"


async def dashboard(request: Request) -> Response:
    """One self-contained page (no CDN, no build step) that refreshes from the stats and decisions endpoints."""
    return HTMLResponse(_DASHBOARD.read_bytes(), headers={"cache-control": "no-cache"})


async def openapi_endpoint(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def _http_exception(request: Request, exc: Exception) -> Response:
    """A path or method the server does not serve: the error in that front's shape, saying what is served."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    path = request.url.path
    served = request.app.state.served
    if exc.status_code == 404:
        message = f"{request.method} {path} is not served here; served: {served}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path} (allowed: {(exc.headers or {}).get('Allow', '')})"
    else:
        message = str(exc.detail)
    problem = HTTPProblem(exc.status_code, message, "invalid_request_error", code,
                          headers=dict(exc.headers or {}))  # e.g. Allow on a 405
    return front_error(path, problem, request.headers.get("x-request-id"))


def _budget_remaining(router: TieredModelRouter) -> Callable[[], dict[str, float]]:
    def read() -> dict[str, float]:
        summary = router.budget.get_summary()
        windows = ("daily", "monthly")
        return {w: summary[w]["remaining_usd"] for w in windows if summary[w].get("remaining_usd") is not None}

    return read


def _open_ledger(router: TieredModelRouter) -> None:
    """Open the budget ledger at start-up, so the first cloud request does not pay for it and a broken
    ledger is reported now. Cloud calls still fail closed later if it cannot be opened."""
    try:
        router.budget.get_summary()
    except Exception as exc:  # start-up must not fail on the ledger: cloud calls fail closed instead
        log.error("budget ledger unavailable at start-up; cloud calls will be refused: %s", exc)


def _with_sink(recorder: Recorder, sink: RecordSink) -> Recorder:
    if isinstance(recorder, SinkRecorder):
        return recorder.adding(sink)  # the record is built once for every sink
    return FanOut(recorder, SinkRecorder([sink]))


def create_app(router: TieredModelRouter | None = None, settings: Settings | None = None) -> Starlette:
    """The server around ``router`` (built from settings when not given).

    The server answers through a view of the router whose recorder batches the records after the answers
    and also feeds the server's metrics; the router it was given is left as it was."""
    settings = settings or (router.settings if router else load_settings())
    owns_router = router is None
    given = router or TieredModelRouter(settings, sinks=[log_sink])
    metrics = Metrics(_budget_remaining(given) if given.cloud_enabled else None, shadows=given.shadows.counts,
                      verify=given.verifier.counts)
    records = BatchingRecorder(_with_sink(given.recorder, metrics.observe))
    router = given.using(recorder=records)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if router.cloud_enabled:
            await asyncio.to_thread(_open_ledger, router)
        # What start-up built (modules, price tables, schemas) lives as long as the process: moved out of
        # the collector's reach, a full collection no longer walks it. p99 at concurrency 1 went from about
        # 17 to 11 ms (docs/performance.md).
        gc.collect()
        gc.freeze()
        learning = asyncio.create_task(keep_learning(router)) if router.live_model is not None else None
        yield
        if learning is not None:
            learning.cancel()
        await router.shadows.drain()  # shadow samples still running: their judgements, then the records
        records.flush()  # a clean shutdown loses no record
        await router.pool.aclose()  # this server loop's upstream connections
        if owns_router:
            await router.aclose()
            router.spend.close()

    chat: dict[str, ASGIApp] = {"/v1/chat/completions": Endpoint(openai_front.chat_completions),
                                "/v1/messages": Endpoint(anthropic_front.messages),
                                "/api/chat": Endpoint(ollama_front.chat),
                                "/api/generate": Endpoint(ollama_front.generate)}
    routes = [
        Route("/v1/chat/completions", chat["/v1/chat/completions"], methods=["POST"]),
        Route("/v1/messages", chat["/v1/messages"], methods=["POST"]),
        Route("/v1/messages/count_tokens", Endpoint(anthropic_front.count_tokens), methods=["POST"]),
        Route("/v1/models", guarded(openai_front.list_models), methods=["GET"]),
        Route("/v1/router/classify", guarded(classify_endpoint), methods=["POST"]),
        Route("/v1/router/budget", guarded(budget_endpoint), methods=["GET"]),
        Route("/v1/router/stats", guarded(stats_endpoint), methods=["GET"]),
        Route("/v1/router/decisions", guarded(decisions_endpoint), methods=["GET"]),
        Route("/v1/router/feedback", guarded(feedback_endpoint), methods=["POST"]),
        Route("/api/chat", chat["/api/chat"], methods=["POST"]),
        Route("/api/generate", chat["/api/generate"], methods=["POST"]),
        Route("/api/show", guarded(ollama_front.show), methods=["POST"]),
        Route("/api/ps", guarded(ollama_front.ps), methods=["GET"]),
        Route("/api/tags", guarded(ollama_front.tags), methods=["GET"]),
        Route("/api/version", guarded(ollama_front.version), methods=["GET", "HEAD"]),
        Route("/healthz", guarded(healthz), methods=["GET"]),
        Route("/readyz", guarded(readyz), methods=["GET"]),
        Route("/metrics", guarded(metrics_endpoint), methods=["GET"]),
        Route("/openapi.json", guarded(openapi_endpoint), methods=["GET"]),
        Route("/dashboard", guarded(dashboard), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_exception})
    app.state.router = router
    app.state.metrics = metrics
    app.state.records = records
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.client_timeout_s = settings.client_timeout_s
    app.state.openapi = openapi_document()
    app.state.served = ", ".join(f"{'/'.join(sorted(r.methods - {'HEAD'} or r.methods))} {r.path}"
                                 for r in routes if r.methods)
    app.add_middleware(ChatFirst, routes=chat)
    keys = settings.client_keys()
    if keys:
        app.add_middleware(BearerAuth, keys=keys)  # added last, so it runs first
    return app
