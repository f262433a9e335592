"""Pieces both fronts share: reading a bounded JSON body, choosing a tier from ``model``, headers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..routing import RoutedResponse, RoutedStream, TieredModelRouter
from ..tiers import PUBLIC_NAMES, Tier
from .errors import HTTPProblem
from .exchange import Exchange, JSONReply, parse_json, read_body

M = TypeVar("M", bound=BaseModel)

AUTO_MODELS = ("auto",)


async def read_json(request: Request, limit: int) -> Any:
    """The body of a Starlette request as JSON, at most ``limit`` bytes."""
    return parse_json(await read_body(request.receive, request.headers.get("content-length"), limit))


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


async def read_chat(exchange: Exchange, model: type[M], entry_point: str
                    ) -> tuple[TieredModelRouter, M, dict[str, Any], list[dict[str, Any]]]:
    """What both fronts do first: the router, the validated body, the routing context, the messages."""
    state = exchange.state
    router: TieredModelRouter = state.router
    body = parse(model, await exchange.json(state.max_body_bytes))
    context = routing_context(exchange, entry_point, resolve_model(router, body.model))  # type: ignore[attr-defined]
    messages = [m.model_dump(exclude_none=True) for m in body.messages]  # type: ignore[attr-defined]
    return router, body, context, messages


async def complete_json(router: TieredModelRouter, messages: list[dict[str, Any]], context: dict[str, Any],
                        params: dict[str, Any], body: Callable[[RoutedResponse], dict[str, Any]]) -> JSONReply:
    """A non-streaming answer for either front: ``body(response)`` as JSON with the router's headers. (The
    server's router records through a batching recorder, after the answers have gone out.)"""
    response = await router.complete(messages, context, **params)
    return JSONReply(body(response), response_headers(response))


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


def routing_context(exchange: Exchange, entry_point: str, tier: Tier | None) -> dict[str, Any]:
    context: dict[str, Any] = {"entry_point": entry_point}
    if tier is not None:
        context["tier"] = tier
    if (exchange.header(b"x-router-allow-cloud") or "").lower() in ("0", "false", "no"):
        context["allow_cloud"] = False
    rid = exchange.header(b"x-request-id")
    if rid and len(rid) <= 128 and rid.isprintable():
        context["request_id"] = rid
    return context


def response_headers(r: RoutedResponse) -> dict[str, str]:
    return _router_headers(r.request_id, r.tier, r.model, r.escalated, len(r.attempts), r.cost_usd, r.overhead_ms)


def stream_headers(s: RoutedStream) -> dict[str, str]:
    """Headers go out before the answer, so cost is what was spent before it (the final cost is in the log)."""
    headers = _router_headers(s.request_id, s.tier, s.model, s.escalated, len(s.attempts),
                              sum(a.cost_usd for a in s.attempts), s.overhead_ms)
    headers["cache-control"] = "no-cache"
    return headers


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
