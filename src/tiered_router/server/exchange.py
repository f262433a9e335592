"""The chat endpoints as plain ASGI apps: one request in, one reply out, every error as JSON.

Every proxied answer passes through the two chat endpoints, so they skip what Starlette's
request/response layer would build per request (a ``Request``, a ``Headers`` view per lookup, a
``Response`` with its header list, a ``BackgroundTask``). They read the scope directly and send a
finished JSON body in two ASGI messages. The other endpoints, which are not on the latency path,
stay ordinary Starlette handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

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
        return parse_json(await read_body(self.receive, self.header(b"content-length"), limit))


async def read_body(receive: Receive, content_length: str | None, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes even when no Content-Length was sent."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)
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


def error_reply(path: str, exc: Exception) -> JSONResponse:
    """Any exception as JSON: OpenAI's shape, or Ollama's ``{"error": "..."}`` on /api/*."""
    problem = problem_from(exc)
    if path.startswith("/api/"):
        return JSONResponse({"error": problem.message}, status_code=problem.status)
    return problem_response(problem)


class Endpoint:
    """``handler(exchange) -> ASGI app`` as an ASGI app. A class instance, so Starlette's ``Route`` mounts
    it as is instead of wrapping it in its request/response layer. A ``StreamingResponse`` is played by
    ``streaming.play_stream``, so a stream whose client goes away is still settled and recorded."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            reply = await self.handler(Exchange(scope, receive))
        except ClientGone:
            return
        except Exception as exc:
            reply = error_reply(scope["path"], exc)
        if isinstance(reply, StreamingResponse):
            await play_stream(reply, scope, receive, send)
        else:
            await reply(scope, receive, send)

