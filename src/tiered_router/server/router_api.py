"""The router's own API beside the chat endpoints: classify a prompt, read the budget, the figures and the
latest decisions of the routing log, and send feedback on an answer."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..classify import decide_with
from ..errors import LogDisabled
from ..observe.store import RoutingLogStore, parse_score
from ..routing import TieredModelRouter
from ..tiers import Tier
from .common import parse, read_json
from .errors import HTTPProblem
from .schemas import ClassifyRequest, FeedbackRequest

log = logging.getLogger("tiered_router.server")
LEDGER_DOWN = "the budget ledger is unavailable (the server's log says why); cloud calls are refused until it is back"
# The ids clients see for a request: the raw one (x-request-id), and the answer's id in each protocol.
_ANSWER_ID_PREFIXES = ("chatcmpl-", "msg_")


async def classify_endpoint(request: Request) -> Response:
    req = parse(ClassifyRequest, await read_json(request, request.app.state.max_body_bytes))
    if req.messages is None and req.prompt is None:
        raise HTTPProblem(400, "send either prompt or messages", "invalid_request_error", "invalid_request")
    task: Any = req.prompt if req.prompt is not None else [m.model_dump(exclude_none=True) for m in req.messages or []]
    try:
        context = req.context.model_dump(exclude_none=True) if req.context else None
        decision = decide_with(request.app.state.router.classifier, task, context)
    except ValueError as exc:
        raise HTTPProblem(400, str(exc), "invalid_request_error", "invalid_request") from None
    return JSONResponse({"tier": int(decision.tier), "tier_name": decision.tier.name,
                         "score": decision.score, "reasons": list(decision.reasons)})


async def budget_endpoint(request: Request) -> Response:
    from ..budget import BudgetError

    try:
        return JSONResponse(request.app.state.router.budget.get_summary())
    except BudgetError as exc:
        log.error("budget ledger unavailable: %s", exc)  # the database's name and host stay in the log
        raise HTTPProblem(503, LEDGER_DOWN, "budget_unavailable", "budget_unavailable") from None


# Query values the endpoints accept, exactly as server/openapi.py documents them ("" = no filter).
_FLAGS = {"": None, "true": True, "1": True, "false": False, "0": False}


def _bad_param(name: str, why: str) -> HTTPProblem:
    return HTTPProblem(400, f"query parameter {name}: {why}", "invalid_request_error", "invalid_request")


def _log_store(router: TieredModelRouter) -> RoutingLogStore:
    if router.log_store is None:
        raise LogDisabled("the routing log is disabled (TIER_LOG_ENABLED=0)")  # a 503 (errors.problem_from)
    return router.log_store


async def _read_log(fn: Callable[[], Any]) -> Any:
    from ..observe.store import LogStoreError

    try:
        return await asyncio.to_thread(fn)
    except LogStoreError as exc:
        raise HTTPProblem(503, str(exc), "log_unavailable", "log_unavailable") from None


async def stats_endpoint(request: Request) -> Response:
    """Figures over the routing log: ``GET /v1/router/stats?since=24h`` (``all`` for everything)."""
    from ..observe.stats import compute_stats, parse_since, read_budget

    router: TieredModelRouter = request.app.state.router
    try:
        since_s = parse_since(request.query_params.get("since") or "24h", strict=True)
    except ValueError as exc:
        raise _bad_param("since", str(exc)) from None
    store = _log_store(router)
    request.app.state.records.flush()  # include the requests of the last moments

    def work() -> dict[str, Any]:
        store.flush(timeout=2.0)  # include the requests of the last moments
        budget, error = read_budget(lambda: router.budget.get_summary()) if router.cloud_enabled else (None, None)
        if error is not None:
            log.error("budget ledger unavailable: %s", error)
            error = LEDGER_DOWN
        return compute_stats(store, since_s, budget, budget_error=error, timezone=router.settings.budget_timezone)

    return JSONResponse(await _read_log(work))


async def decisions_endpoint(request: Request) -> Response:
    """The latest routing records with their attempts: ``GET /v1/router/decisions?limit=50&tier=&escalated=``."""
    from ..observe.stats import parse_since

    router: TieredModelRouter = request.app.state.router
    q = request.query_params
    limit_text = q.get("limit", "50")
    if not re.fullmatch(r"-?[0-9]{1,9}", limit_text) or not 1 <= int(limit_text) <= 1000:
        raise _bad_param("limit", "must be an integer from 1 to 1000")
    try:
        tier = int(Tier.parse(q["tier"])) if q.get("tier") else None
    except ValueError:
        raise _bad_param("tier", "must be 1, 2, 3, local-fast, local-heavy or cloud") from None
    if q.get("escalated", "") not in _FLAGS:
        raise _bad_param("escalated", "must be true or false")
    limit, escalated = int(limit_text), _FLAGS[q.get("escalated", "")]
    try:
        since_s = parse_since(q.get("since", "all"), strict=True)
    except ValueError as exc:
        raise _bad_param("since", str(exc)) from None
    store = _log_store(router)
    request.app.state.records.flush()

    def work() -> list[dict[str, Any]]:
        store.flush(timeout=2.0)
        since = None if since_s is None else time.time() - since_s
        return store.recent(limit, tier=tier, escalated=escalated, since=since)

    return JSONResponse({"object": "list", "data": await _read_log(work)})


async def feedback_endpoint(request: Request) -> Response:
    """How good an answer was: ``POST /v1/router/feedback`` with ``{request_id, score, comment?}``; ``score`` is
    ``good``, ``bad`` or a number from 0 (bad) to 1 (good). Idempotent: sending it again replaces it."""
    from ..observe.store import LogStoreError

    req = parse(FeedbackRequest, await read_json(request, request.app.state.max_body_bytes))
    router: TieredModelRouter = request.app.state.router
    candidates = [req.request_id] + [req.request_id[len(p):] for p in _ANSWER_ID_PREFIXES
                                     if req.request_id.startswith(p) and len(req.request_id) > len(p)]
    # router.feedback writes the queued records first, and raises LogDisabled (503) or InvalidRequest (400).
    try:
        for request_id in candidates:
            if await router.feedback(request_id, req.score, req.comment):
                return JSONResponse({"request_id": request_id, "score": parse_score(req.score),
                                     "comment": req.comment or None, "recorded": True})
    except LogStoreError as exc:
        raise HTTPProblem(503, str(exc), "log_unavailable", "log_unavailable") from None
    raise HTTPProblem(404, f"no request {req.request_id!r} in the routing log (feedback needs the request's id: "
                           "the x-request-id header of its answer, or the answer's id)", "invalid_request_error",
                      "request_not_found")
