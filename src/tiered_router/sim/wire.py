"""HTTP helpers the simulator's protocol modules share: JSON replies, a cut connection, reading and checking a
request body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tiered_router.chat import content_text
from tiered_router.sim.core import Reply, SimulatedCut


def json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), status, headers,
        media_type="application/json",
    )


class CutResponse(Response):
    """Announces the full Content-Length, sends half the body, then drops the connection."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        raise SimulatedCut("[[sim:cut-stream]]")


async def read_json(request: Request) -> dict[str, Any] | str:
    """The request body as a JSON object, or an error message."""
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        return f"request body is not valid JSON: {exc}"
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    return body


def check_messages(messages: Any) -> str | None:
    """An error message if ``messages`` is not a non-empty list of objects with a string role."""
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return f"messages[{i}] must be an object with a string 'role'"
    return None


def last_user(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str) and s]
    return []


def logprobs_asked(reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``reply``'s token log-probabilities when the request asked for them (``logprobs: true``, with
    ``top_logprobs`` alternatives), else None. OpenAI's and Ollama's requests spell this the same way."""
    return reply.logprobs(_top_logprobs(body)) if body.get("logprobs") is True else None


def _top_logprobs(body: dict[str, Any]) -> int:
    """How many alternatives per token a request asked for (``top_logprobs``, 0 when absent or bad)."""
    top = body.get("top_logprobs")
    return top if isinstance(top, int) and not isinstance(top, bool) and 0 <= top <= 20 else 0
