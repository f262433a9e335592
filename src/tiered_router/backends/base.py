"""The one interface every backend implements, and the plumbing they share.

A backend turns a ``ChatRequest`` into one provider's wire format, sends it over the shared
pooled HTTP client, and turns the answer (or the failure) back into our types. Failures are
mapped into the small set of classes in ``errors.py``: that mapping is the whole contract
between a backend and the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from ..chat import ChatRequest, ChatResult, StreamChunk, Usage, estimate_prompt_tokens, estimate_tokens

__all__ = ["Backend", "ChatRequest", "ChatResult", "HttpBackend", "HttpPool", "StreamChunk", "Usage",
           "error_from_status", "estimate_prompt_tokens", "estimate_tokens"]
from ..errors import RouterError
from .errors import (
    AuthError,
    BackendConnectError,
    BackendError,
    BackendTimeout,
    BadRequest,
    BadResponse,
    ContextTooLong,
    RateLimited,
    UpstreamServerError,
)


class HttpPool:
    """One pooled ``aiohttp.ClientSession`` per event loop, shared by every backend.

    aiohttp was chosen by measurement over httpx (docs/performance.md): about a quarter of the
    client CPU per request. Sessions are bound to the loop that opened them, and the sync wrapper
    runs its own loop, so the pool keys sessions by loop rather than holding a single one.
    """

    def __init__(self, max_connections: int = 200) -> None:
        self.max_connections = max_connections
        # A plain dict, not weak references: a session must be closed even after its loop is gone.
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            for gone in [lp for lp in self._sessions if lp.is_closed()]:
                del self._sessions[gone]
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections,
                                             ttl_dns_cache=300)
            session = aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=True)
            self._sessions[loop] = session
        return session

    async def aclose(self) -> None:
        """Close this loop's session."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close_idle(self) -> None:
        """From sync code: close sessions whose loop is open but idle, forget those whose loop is gone.

        A session of a closed loop cannot be closed any more (aiohttp warns about it when it is
        collected); async callers close theirs with ``await router.aclose()`` on their own loop.
        """
        for loop, session in list(self._sessions.items()):
            if loop.is_running():
                continue
            del self._sessions[loop]
            if not loop.is_closed() and not session.closed:
                loop.run_until_complete(session.close())


class Backend(ABC):
    """One model behind one interface: what the engine calls. ``chat`` answers whole; ``stream`` yields
    chunks, the last with a ``finish_reason``; both raise a ``BackendError`` of the right kind on failure."""

    provider: str
    model: str
    context_window: int
    is_local: bool

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def has_key(self) -> bool:
        """Whether a key is configured (a cloud tier without one is disabled)."""
        return True

    # Whether answers can come with each token's log-probability (the gate's confidence check).
    supports_logprobs: bool = False

    @abstractmethod
    async def chat(self, req: ChatRequest) -> ChatResult: ...

    @abstractmethod
    def stream(self, req: ChatRequest) -> AsyncGenerator[StreamChunk, None]: ...

    @abstractmethod
    async def health(self) -> tuple[bool, str]:
        """(healthy, detail). Never raises."""

    def max_output_tokens(self, req: ChatRequest) -> int:
        """The output this backend lets the model produce for ``req``: what the budget reserves for."""
        return req.max_tokens or 0

    def check(self, req: ChatRequest) -> None:
        """Raise ``UnsupportedField`` for a field of ``req`` this backend's protocol cannot express. Called
        for every tier of a plan before the first is called, so a refusal costs no upstream call."""
        return None


class HttpBackend(Backend):
    """A backend that speaks one provider's HTTP protocol. Subclasses implement the wire format; this
    class the plumbing: the pooled session, deadlines, and the mapping of failures to error kinds."""

    protocol: str = ""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        pool: HttpPool | None = None,
        context_window: int = 8192,
        is_local: bool = True,
    ) -> None:
        self.provider = provider
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.context_window = context_window
        self.is_local = is_local
        self.pool = pool or HttpPool()
        connect = min(connect_timeout_s, timeout_s)
        # A call is bounded end to end (aiohttp's own deadline: cheaper than asyncio.timeout around it plus a
        # per-read timer). A stream has no total deadline; sock_read bounds each wait for bytes instead, so a
        # stream that stalls mid-answer times out too.
        self._call_timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect, sock_connect=connect)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect,
                                                     sock_read=timeout_s)

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}({self.provider}/{self.model} at {self.base_url})"

    @property
    def has_key(self) -> bool:
        return self._api_key is not None

    # --- what each protocol defines --------------------------------------------------------

    @abstractmethod
    def _chat_url(self) -> str: ...

    def _headers(self) -> dict[str, str]:
        """The upstream's auth headers: a bearer token when a key is set (Ollama behind a proxy, OpenAI and
        the compatible servers); a protocol with its own scheme overrides this."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    @abstractmethod
    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]: ...

    @abstractmethod
    def _parse_result(self, data: Any) -> ChatResult: ...

    @abstractmethod
    def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]: ...

    @abstractmethod
    def _health_url(self) -> str: ...

    # --- shared behaviour ------------------------------------------------------------------

    def _post_headers(self, req: ChatRequest) -> dict[str, str]:
        """Headers that depend on the request (a beta flag, say); none by default."""
        return {}

    def _post(self, req: ChatRequest, stream: bool) -> Any:
        headers = {"content-type": "application/json", **self._headers(), **self._post_headers(req)}
        return self.pool.session().post(self._chat_url(), data=orjson.dumps(self._body(req, stream)),
                                        headers=headers, timeout=self._stream_timeout if stream else self._call_timeout)

    async def chat(self, req: ChatRequest) -> ChatResult:
        """One non-streaming call, bounded by ``timeout_s`` end to end."""
        with self._mapped_errors():
            async with self._post(req, stream=False) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise self._http_error(resp.status, raw.decode("utf-8", "replace"), resp.headers)
                try:
                    data = orjson.loads(raw)
                except ValueError:
                    raise BadResponse("response body is not JSON", provider=self.provider, model=self.model,
                                      status=resp.status) from None
                return self._parse_result(data)

    async def stream(self, req: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """Stream deltas. A stream that ends without the protocol's end marker raises BadResponse.

        The bound here is the read timeout between chunks, not a total deadline: a deadline
        (asyncio.timeout) held across ``yield`` would fire in the consumer's code, not in ours.
        """
        with self._mapped_errors():
            async with self._post(req, stream=True) as resp:
                if resp.status >= 400:
                    body = (await resp.read()).decode("utf-8", "replace")
                    raise self._http_error(resp.status, body, resp.headers)
                async for chunk in self._parse_stream(_lines(resp.content)):
                    yield chunk

    async def health(self) -> tuple[bool, str]:
        """(healthy, detail). Never raises."""
        try:
            async with asyncio.timeout(min(self.timeout_s, 5.0)), self.pool.session().get(
                self._health_url(), headers=self._headers()
            ) as resp:
                await resp.read()
            if resp.status < 400:
                return True, "ok"
            return False, f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, type(exc).__name__

    @contextlib.contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        """Turn transport failures into our error classes, naming this backend."""
        who: dict[str, Any] = {"provider": self.provider, "model": self.model}
        try:
            yield
        except (BackendError, RouterError):  # the request's own fault (an UnsupportedField), not a bad answer
            raise
        except aiohttp.ConnectionTimeoutError:
            raise BackendConnectError(f"could not connect to {self.base_url} (connect timeout)", sent=False,
                                      **who) from None
        except TimeoutError:
            raise BackendTimeout(f"no complete answer within {self.timeout_s:g}s", **who) from None
        except aiohttp.ClientConnectorError:
            raise BackendConnectError(f"could not connect to {self.base_url}", sent=False, **who) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
            raise BackendConnectError(f"connection broken mid-response ({type(exc).__name__})", **who) from None
        except aiohttp.ClientError as exc:
            raise BadResponse(f"HTTP failure: {type(exc).__name__}", **who) from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BadResponse(f"unexpected response shape ({type(exc).__name__}: {exc})"[:300], **who) from None

    def _http_error(self, status: int, body: str, headers: Mapping[str, str]) -> BackendError:
        return error_from_status(status, body, headers, provider=self.provider, model=self.model)


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[str]:
    """Lines of a streamed body, however the bytes arrive and however long a line is."""
    pending = b""
    async for data in content.iter_any():
        pending += data
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", "replace")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


_CONTEXT_RE = re.compile(
    r"context[ _]length|context_length_exceeded|maximum context|context window|prompt is too long|"
    r"exceeds the context|too many tokens|input is too long|reduce the length",
    re.IGNORECASE,
)


def upstream_message(body: str) -> str:
    """The human message inside an OpenAI, Anthropic or Ollama error body, else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            parts = [str(err.get(k)) for k in ("message", "code") if err.get(k)]
            return " ".join(parts)[:300] or json.dumps(err)[:300]
        if isinstance(err, str):
            return err[:300]
        message = data.get("message")
        if isinstance(message, str):
            return message[:300]
    return body.strip()[:300]


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds or an HTTP date, or the ``retry-after-ms`` some providers send."""
    ms = headers.get("retry-after-ms")
    if ms:
        with contextlib.suppress(ValueError):
            return max(0.0, float(ms) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_from_status(
    status: int, body: str, headers: Mapping[str, str], *, provider: str, model: str
) -> BackendError:
    message = upstream_message(body)
    who: dict[str, Any] = {"provider": provider, "model": model, "status": status}
    if status == 429:
        return RateLimited(message, retry_after_s=retry_after_seconds(headers), **who)
    if status in (401, 403, 404):
        return AuthError(message, **who)
    if status == 408:
        return BackendTimeout(message, **who)
    if status in (400, 413, 422):
        return (ContextTooLong if _CONTEXT_RE.search(message) else BadRequest)(message, **who)
    if status >= 500:
        if _CONTEXT_RE.search(message):  # Ollama reports some context overflows as 500
            return ContextTooLong(message, **who)
        return UpstreamServerError(message, **who)
    return BadResponse(message, **who)


def require(value: Any, what: str) -> Any:
    if value is None:
        raise KeyError(what)
    return value
