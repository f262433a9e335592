"""The chat endpoints as plain ASGI apps: one request in, one reply out, every error as JSON.

Every proxied answer passes through the two chat endpoints, so they skip what Starlette's
request/response layer would build per request (a ``Request``, a ``Headers`` view per lookup, a
``Response`` with its header list, a ``BackgroundTask``). They read the scope directly and send a
finished JSON body in two ASGI messages. The other endpoints, which are not on the latency path,
stay ordinary Starlette handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..options import new_request_id
from .errors import ClientGone, HTTPProblem, problem_from, problem_response
from .streaming import play_stream

log = logging.getLogger("tiered_router.server")


class Exchange:
    """One request as a chat handler sees it: the app's state, the headers, a bounded body."""

    __slots__ = ("headers", "receive", "scope", "state")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.state = scope["app"].state
        # ASGI servers give lower-case header names. A repeated header keeps its first value, as Starlette's
        # Headers.get and BearerAuth read it (reversed, so the first is written last).
        self.headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")

    async def json(self, limit: int) -> Any:
        timeout = getattr(self.state, "client_timeout_s", None)
        return parse_json(await read_body(self.receive, self.header(b"content-length"), limit, timeout))


async def read_body(receive: Receive, content_length: str | None, limit: int, timeout_s: float | None = None) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes even when no Content-Length was sent, and
    a body that takes longer than ``timeout_s`` to arrive (408)."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)
    if timeout_s is None:
        return await _read_body(receive, limit)
    try:
        async with asyncio.timeout(timeout_s):
            return await _read_body(receive, limit)
    except TimeoutError:
        raise HTTPProblem(408, f"the request body did not arrive within {timeout_s:g}s", "invalid_request_error",
                          "request_timeout") from None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPProblem(400, f"the body is not valid JSON: {exc}", "invalid_request_error", "invalid_json") from None


def _too_large(limit: int) -> HTTPProblem:
    return HTTPProblem(413, f"request body is over the {limit}-byte limit", "invalid_request_error",
                       "request_too_large")


class JSONReply:
    """A finished JSON answer. ``after`` runs once the body has been handed to the server (the routing
    record is queued then)."""

    __slots__ = ("after", "body", "headers", "status")

    def __init__(self, content: Any, headers: dict[str, str], after: Callable[[], None] | None = None,
                 status: int = 200) -> None:
        self.status = status
        self.body = orjson.dumps(content)
        self.headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(self.body))]
        self.headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
        if self.after is not None:
            try:
                self.after()
            except Exception:  # the answer has gone out; a failure here is ours to log, not the client's
                log.exception("after-response work failed")


Handler = Callable[[Exchange], Awaitable[ASGIApp]]


def error_reply(path: str, exc: Exception, client_request_id: str | None = None) -> JSONResponse:
    """Any exception as JSON in the shape of the front the path belongs to: OpenAI's, Ollama's
    ``{"error": "..."}`` on /api/*, Anthropic's on /v1/messages. It carries ``x-request-id``: the routed
    request's, else the client's, else a new one."""
    request_id = getattr(exc, "request_id", None) or client_request_id
    return front_error(path, problem_from(exc), request_id)


def front_error(path: str, problem: HTTPProblem, request_id: str | None = None) -> JSONResponse:
    headers = {**(problem.headers or {}), "x-request-id": valid_request_id(request_id) or new_request_id()}
    if path.startswith("/api/"):
        return JSONResponse({"error": problem.message}, status_code=problem.status, headers=headers)
    if path.startswith("/v1/messages"):
        return JSONResponse({"type": "error", "error": {"type": anthropic_type(problem), "message": problem.message}},
                            status_code=problem.status, headers=headers)
    problem.headers = headers
    return problem_response(problem)


def valid_request_id(value: str | None) -> str | None:
    """A client's x-request-id, when it is fit to echo (short, printable)."""
    return value if value and len(value) <= 128 and value.isprintable() else None


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
                    429: "rate_limit_error", 500: "api_error", 502: "api_error", 503: "overloaded_error",
                    504: "timeout_error"}


def anthropic_type(problem: HTTPProblem) -> str:
    return _ANTHROPIC_TYPES.get(problem.status, "api_error")


class Endpoint:
    """``handler(exchange) -> ASGI app`` as an ASGI app. A class instance, so Starlette's ``Route`` mounts
    it as is instead of wrapping it in its request/response layer. A ``StreamingResponse`` is played by
    ``streaming.play_stream``, so a stream whose client goes away is still settled and recorded."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(scope, receive)
        try:
            reply = await self.handler(exchange)
        except ClientGone:
            return
        except Exception as exc:
            reply = error_reply(scope["path"], exc, exchange.header(b"x-request-id"))
        if isinstance(reply, StreamingResponse):
            await play_stream(reply, scope, receive, send)
        else:
            await reply(scope, receive, send)

