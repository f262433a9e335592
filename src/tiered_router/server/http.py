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
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    HTTP_PROTOCOL: Any = CoalescingHttpToolsProtocol
else:  # pragma: no cover
    HTTP_PROTOCOL = "auto"
