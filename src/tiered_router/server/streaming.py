"""Playing a streamed answer so that its generators always finish, also when the client goes away.

The fronts answer a stream with Starlette's ``StreamingResponse`` around an async generator (``_sse``,
``_ndjson``), which iterates the router's ``RoutedStream``, which iterates the engine's relay of the
upstream stream. Those generators do their bookkeeping in ``finally`` blocks that await: the engine
settles what the stream consumed with the budget ledger, the router records the request ("client went
away mid-stream").

Played by Starlette itself (uvicorn speaks ASGI 2.3), a disconnect cancels the stream through an anyio
cancel scope. anyio cancels every await inside a cancelled scope again, ``finally`` blocks included, so
that bookkeeping was cut short: the attempt stayed "streaming", its budget reservation stayed open
until it expired, and depending on where the cancel landed the request was not recorded at all.

``play_stream`` plays the same response with asyncio: it watches for the disconnect itself and cancels
the task that streams once, so each ``finally`` runs to its end; and it closes the body iterator however
streaming ended (a failed send, a cancelled request), not whenever the garbage collector finds it. The
chat ``Endpoint`` (``exchange.py``) plays every ``StreamingResponse`` a handler returns this way.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


async def play_stream(response: StreamingResponse, scope: Scope, receive: Receive, send: Send) -> None:
    """``await response(scope, receive, send)``, with a disconnect cancelling the stream once (see above)."""
    streaming = asyncio.ensure_future(_stream(response, send))
    watching = asyncio.ensure_future(response.listen_for_disconnect(receive))
    try:
        await asyncio.wait((streaming, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        if not streaming.done():
            streaming.cancel()  # once: the generators' finally blocks settle and record, uncancelled
        # The stream's bookkeeping finishes even if this request task is cancelled again meanwhile.
        await asyncio.wait((streaming, watching))
    if streaming.cancelled():
        return  # the client went away: nothing more to send it
    error = streaming.exception()
    if isinstance(error, OSError):
        return  # a server speaking ASGI 2.4 says the client went away this way
    if error is not None:
        raise error
    if response.background is not None:
        await response.background()


async def _stream(response: StreamingResponse, send: Send) -> None:
    try:
        await response.stream_response(send)
    finally:
        aclose = getattr(response.body_iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
