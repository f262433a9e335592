"""Run an ASGI app with uvicorn in a background thread (tests, demo, benchmarks): ``ServerThread``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from .http import HTTP_PROTOCOL

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that signals a threading.Event once it accepts connections."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()


class ServerThread:
    """Serve ``app`` on ``host`` (default 127.0.0.1) and a free port from a daemon thread.

    ``start()`` returns once the server accepts connections; ``stop()`` asks uvicorn to shut down, waits
    ``graceful_timeout`` seconds for in-flight requests, then closes the remaining connections and cancels
    their tasks. Usable as a context manager. ``uvicorn_options`` override the uvicorn.Config defaults.

        with ServerThread(app) as server:
            httpx.get(server.url + "/health")
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, graceful_timeout: float = 2.0,
                 **uvicorn_options: Any) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.graceful_timeout = graceful_timeout
        self.options: dict[str, Any] = {
            "log_level": "warning", "access_log": False, "lifespan": "auto", "loop": "auto", "http": HTTP_PROTOCOL,
            **uvicorn_options,
        }
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> ServerThread:
        if self._thread is not None:
            raise RuntimeError("ServerThread can only be started once")
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._sock, self.port = sock, sock.getsockname()[1]
        config = uvicorn.Config(self.app, host=self.host, port=self.port, **self.options)
        self._server = _Server(config, self._ready)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            why = f"failed: {self._error!r}" if self._error else f"timed out after {timeout}s"
            raise RuntimeError(f"server on {self.url} did not start: {why}")
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        config = self._server.config
        factory: Callable[[], asyncio.AbstractEventLoop] | None = None
        if hasattr(config, "get_loop_factory"):  # uvicorn >= 0.36
            factory = config.get_loop_factory()
        else:  # pragma: no cover - older uvicorn installs its loop policy instead
            config.setup_event_loop()
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # SystemExit when startup fails; keep it for start()'s message
            self._error = exc
        finally:
            self._ready.set()
            self._sock.close()

    async def _serve(self) -> None:
        assert self._server is not None and self._sock is not None
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._sock])

    def _drop_connections(self) -> None:
        """On the server's loop: abort every connection, so requests still running see a disconnect."""
        assert self._server is not None
        for connection in list(self._server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()

    def _cancel_tasks(self) -> None:
        """On the server's loop: the last resort, for request tasks that ignore their client going away."""
        assert self._server is not None
        self._server.force_exit = True
        for task in list(self._server.server_state.tasks):
            task.cancel()

    def stop(self, timeout: float = 5.0) -> None:
        """Shut down within about ``timeout`` seconds.

        Graceful for ``graceful_timeout`` seconds, then the remaining connections are aborted, and if their
        requests still run a second later, those tasks are cancelled.
        """
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        deadline = time.monotonic() + timeout
        server.should_exit = True
        thread.join(min(self.graceful_timeout, timeout))
        for step, wait in ((self._drop_connections, 1.0), (self._cancel_tasks, timeout)):
            if not thread.is_alive() or self._loop is None:
                break
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(step)
            thread.join(max(min(wait, deadline - time.monotonic()), 0.1))
        if thread.is_alive():
            log.warning("server on %s did not stop within %.1fs; leaving its daemon thread behind", self.url, timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
