"""uvicorn's httptools protocol, with each response's head and first body bytes sent together.

uvicorn writes the status line and headers with one ``transport.write`` and the body with another. uvloop
sends each write at once, so a small JSON answer leaves as two TCP segments: the client wakes up, reads
and parses twice, and so does every hop of a chain (client → router → simulator). On loopback that second
segment measured about as much CPU as the rest of a small response write (docs/performance.md).

``CoalescingHttpToolsProtocol`` holds the head until the next write on the same connection, or until the
end of the current event-loop iteration, whichever comes first. A non-streaming answer (head and body
written in the same task step) then leaves as one segment; a stream's head leaves with its first chunk,
or one loop iteration later if that chunk is not ready. Nothing is reordered and nothing waits on I/O.
"""

from __future__ import annotations

import asyncio
from typing import Any

try:  # uvicorn[standard] brings httptools; without it uvicorn's own choice ("auto") is used.
    from uvicorn.protocols.http import httptools_impl
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class CoalescingTransport:
    """Wraps a transport: a write that starts a response (``HTTP/``) waits for the next write or the
    end of this loop iteration. Everything else is passed through to the real transport."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + bytes(data))
            return
        if data[:5] == b"HTTP/":
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()  # a response written just before the connection closes still goes out
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, is_closing, pause_reading, ...
        return getattr(self._transport, name)


if HttpToolsProtocol is not None:

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        """Also: a request's head must arrive within ``header_timeout_s`` of the connection opening or the
        request starting, or the connection is closed (uvicorn has no such limit, so a client sending its
        headers a byte a second would hold a connection for ever)."""

        header_timeout_s = 30.0
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
            self._await_head()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._await_head()

        def on_headers_complete(self) -> None:
            self._head_arrived()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_arrived()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._head_arrived()
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

        def _head_arrived(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    HTTP_PROTOCOL: Any = CoalescingHttpToolsProtocol

    def http_protocol(header_timeout_s: float, over_capacity: Any = None) -> Any:
        """The protocol class with its own head timeout. ``over_capacity``, an ASGI app, answers the requests
        uvicorn turns away beyond its ``limit_concurrency`` (``TIER_MAX_CONNECTIONS``), whose own reply is
        plain text with no request id."""
        if over_capacity is not None:
            # uvicorn looks this name up in its module for each request it refuses: the one seam it offers.
            httptools_impl.service_unavailable = over_capacity  # type: ignore[attr-defined]
        return type("CoalescingHttpToolsProtocol", (CoalescingHttpToolsProtocol,),
                    {"header_timeout_s": header_timeout_s})
else:  # pragma: no cover
    HTTP_PROTOCOL = "auto"

    def http_protocol(header_timeout_s: float, over_capacity: Any = None) -> Any:
        return "auto"
