"""Pieces every front shares: reading a bounded JSON body into a schema, choosing a tier from ``model``, the
routing options from the headers, the router's headers and its ``router`` object."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..chat import ChatRequest
from ..errors import InvalidRequest
from ..options import RouteOptions
from ..routing import RoutedResponse, RoutedStream, TieredModelRouter
from ..tiers import PUBLIC_NAMES, Tier
from .errors import HTTPProblem
from .exchange import Exchange, JSONReply, parse_json, read_body, valid_request_id
from .schemas import ChatBody

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=ChatBody)

AUTO_MODELS = ("auto",)


async def read_json(request: Request, limit: int) -> Any:
    """The body of a Starlette request as JSON, at most ``limit`` bytes."""
    timeout = getattr(request.app.state, "client_timeout_s", None)
    return parse_json(await read_body(request.receive, request.headers.get("content-length"), limit, timeout))


def parse(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise HTTPProblem(400, "the body must be a JSON object", "invalid_request_error", "invalid_request")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise HTTPProblem(400, f"invalid request: {problems}", "invalid_request_error", "invalid_request") from None


async def read_chat(exchange: Exchange, schema: type[C], entry_point: str) -> tuple[TieredModelRouter, C, RouteOptions]:
    """What every front does first: the router, the body validated into ``schema``, the routing options."""
    state = exchange.state
    router: TieredModelRouter = state.router
    body = parse(schema, await exchange.json(state.max_body_bytes))
    return router, body, route_options(exchange, entry_point, resolve_model(router, body.model))


async def answer(router: TieredModelRouter, request: ChatRequest, options: RouteOptions,
                 render: Callable[[RoutedResponse], dict[str, Any]]) -> JSONReply:
    """A non-streaming answer for any front: ``render(response)`` as JSON with the router's headers. (The
    server's router records through a batching recorder, after the answers have gone out.)"""
    response = await router.complete(request, options)
    return JSONReply(render(response), response_headers(response))


def invalid(exc: InvalidRequest) -> HTTPProblem:
    return HTTPProblem(400, str(exc), "invalid_request_error", exc.code)


def model_names(router: TieredModelRouter) -> list[str]:
    names = list(AUTO_MODELS) + list(PUBLIC_NAMES)
    for tier, backend in router.backends.items():
        if tier is Tier.CLOUD_API and not router.cloud_enabled:
            continue
        names += [backend.model, backend.name]
    return list(dict.fromkeys(names))


def resolve_model(router: TieredModelRouter, name: str) -> Tier | None:
    """None for "auto" (classify), else the tier the name forces. Unknown names are a 404."""
    key = name.strip()
    if key.lower() in AUTO_MODELS:
        return None
    with contextlib.suppress(ValueError):
        return Tier.parse(key)
    for tier, backend in router.backends.items():
        if key in (backend.model, backend.name):
            return tier
    raise HTTPProblem(404, f"the model {name!r} does not exist here; use auto, a tier alias "
                      "(tier-1, local-fast, tier-2, local-heavy, tier-3, cloud) or a configured model",
                      "invalid_request_error", "model_not_found")


def route_options(exchange: Exchange, entry_point: str, tier: Tier | None) -> RouteOptions:
    allow_cloud = (exchange.header(b"x-router-allow-cloud") or "").lower() not in ("0", "false", "no")
    return RouteOptions(tier, allow_cloud, valid_request_id(exchange.header(b"x-request-id")), None, entry_point)


def response_headers(r: RoutedResponse) -> dict[str, str]:
    headers = _router_headers(r.request_id, r.tier, r.model, r.escalated, len(r.attempts), r.cost_usd,
                              r.overhead_ms)
    if r.degraded_reason:
        headers["x-router-degraded"] = r.degraded_reason
    if r.quality:
        headers["x-router-quality"] = r.quality
    return headers


def stream_headers(s: RoutedStream) -> dict[str, str]:
    """Headers go out before the answer, so cost is what was spent before it (the final cost is in the log).
    A verdict known before the first byte (a buffered, gated answer) is sent too."""
    headers = _router_headers(s.request_id, s.tier, s.model, s.escalated, len(s.attempts),
                              sum(a.cost_usd for a in s.attempts), s.overhead_ms)
    if s.degraded_reason:
        headers["x-router-degraded"] = s.degraded_reason
    if s.quality:
        headers["x-router-quality"] = s.quality
    headers["cache-control"] = "no-cache"
    return headers


def router_info(r: RoutedResponse | None, s: RoutedStream | None = None) -> dict[str, Any]:
    """The ``router`` object of a body or a stream's last chunk: the tier, and what the headers say of the
    answer (``degraded``: why, when the budget stopped an escalation; ``quality``: the gate's verdict)."""
    if r is not None:
        return {"tier": int(r.tier), "escalated": r.escalated, "degraded": r.degraded_reason, "quality": r.quality,
                "request_id": r.request_id}
    assert s is not None
    return {"tier": int(s.tier), "escalated": s.escalated, "degraded": s.degraded_reason, "quality": s.quality,
            "request_id": s.request_id}


def _router_headers(request_id: str, tier: Tier, model: str, escalated: bool, attempts: int, cost_usd: float,
                    overhead_ms: float) -> dict[str, str]:
    return {
        "x-request-id": request_id,
        "x-router-tier": str(int(tier)),
        "x-router-model": model,
        "x-router-escalated": "true" if escalated else "false",
        "x-router-attempts": str(attempts),
        "x-router-cost-usd": f"{cost_usd:.6f}",
        "x-router-overhead-ms": f"{overhead_ms:.3f}",
    }
