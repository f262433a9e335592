"""Pieces both fronts share: reading a bounded JSON body, choosing a tier from ``model``, headers."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..result import RoutedResponse
from ..router import RoutedStream, TieredModelRouter
from ..tiers import Tier
from .errors import HTTPProblem

M = TypeVar("M", bound=BaseModel)

AUTO_MODELS = ("auto",)
TIER_ALIASES: dict[str, Tier] = {
    "tier-1": Tier.LOCAL_FAST, "local-fast": Tier.LOCAL_FAST,
    "tier-2": Tier.LOCAL_HEAVY, "local-heavy": Tier.LOCAL_HEAVY,
    "tier-3": Tier.CLOUD_API, "cloud": Tier.CLOUD_API,
}


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing more than ``limit`` bytes even when no Content-Length was sent."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, f"request body is over the {limit}-byte limit", "invalid_request_error",
                          "request_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"request body is over the {limit}-byte limit", "invalid_request_error",
                              "request_too_large")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPProblem(400, f"the body is not valid JSON: {exc}", "invalid_request_error", "invalid_json") from None


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


async def read_chat(request: Request, model: type[M], entry_point: str
                    ) -> tuple[TieredModelRouter, M, dict[str, Any], list[dict[str, Any]]]:
    """What both fronts do first: the router, the validated body, the routing context, the messages."""
    state = request.app.state
    router: TieredModelRouter = state.router
    body = parse(model, await read_json(request, state.max_body_bytes))
    context = routing_context(request, entry_point, resolve_model(router, body.model))  # type: ignore[attr-defined]
    messages = [m.model_dump(exclude_none=True) for m in body.messages]  # type: ignore[attr-defined]
    return router, body, context, messages


def record_after(response: RoutedResponse) -> BackgroundTask:
    """Write the routing record once the answer has gone out. A coroutine, so Starlette runs it
    right there rather than hopping to its thread pool."""

    async def write() -> None:
        if response.write_record is not None:
            response.write_record()

    return BackgroundTask(write)


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by orjson: a measurable share of the per-request cost otherwise."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def model_names(router: TieredModelRouter) -> list[str]:
    names = list(AUTO_MODELS) + list(TIER_ALIASES)
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
    if key.lower() in TIER_ALIASES:
        return TIER_ALIASES[key.lower()]
    for tier, backend in router.backends.items():
        if key in (backend.model, backend.name):
            return tier
    raise HTTPProblem(404, f"the model {name!r} does not exist here; use auto, a tier alias "
                      "(tier-1, local-fast, tier-2, local-heavy, tier-3, cloud) or a configured model",
                      "invalid_request_error", "model_not_found")


def routing_context(request: Request, entry_point: str, tier: Tier | None) -> dict[str, Any]:
    context: dict[str, Any] = {"entry_point": entry_point}
    if tier is not None:
        context["tier"] = tier
    if request.headers.get("x-router-allow-cloud", "").lower() in ("0", "false", "no"):
        context["allow_cloud"] = False
    rid = request.headers.get("x-request-id")
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
