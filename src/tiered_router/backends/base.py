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
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ..errors import (
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
from ..messages import Message, content_text


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False  # True when the provider sent no counts and we estimated them

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.estimated or other.estimated,
        )


@dataclass
class ChatRequest:
    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # passed through where the protocol allows

    @property
    def wants_json(self) -> bool:
        return bool(self.response_format) and self.response_format.get("type") in ("json_object", "json_schema")


@dataclass
class ChatResult:
    text: str
    finish_reason: str  # normalised: "stop", "length", or the provider's own word
    usage: Usage
    model: str


@dataclass
class StreamChunk:
    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


def estimate_tokens(text: str) -> int:
    """A cheap, tokenizer-free estimate (~4 characters a token), used only when counts are missing."""
    return max(1, (len(text) + 3) // 4) if text else 0


def estimate_prompt_tokens(messages: list[Message]) -> int:
    return sum(estimate_tokens(content_text(m.get("content"))) + 4 for m in messages)


class HttpPool:
    """One pooled ``httpx.AsyncClient`` per event loop, shared by every backend.

    httpx clients are bound to the loop that opened their connections, and the sync wrapper
    runs its own loop, so the pool keys clients by loop rather than holding a single one.
    ``transport`` is the seam for unit tests (``httpx.MockTransport``).
    """

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 200) -> None:
        self._transport = transport
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(transport=self._transport, limits=self._limits, trust_env=False)
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()


class Backend(ABC):
    """One model on one server. Subclasses implement the wire format; this class the plumbing."""

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
        self._timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}({self.provider}/{self.model} at {self.base_url})"

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"

    # --- what each protocol defines --------------------------------------------------------

    @abstractmethod
    def _chat_url(self) -> str: ...

    @abstractmethod
    def _headers(self) -> dict[str, str]: ...

    @abstractmethod
    def _body(self, req: ChatRequest, stream: bool) -> dict[str, Any]: ...

    @abstractmethod
    def _parse_result(self, data: Any) -> ChatResult: ...

    @abstractmethod
    def _parse_stream(self, lines: AsyncIterator[str]) -> AsyncIterator[StreamChunk]: ...

    @abstractmethod
    def _health_url(self) -> str: ...

    # --- shared behaviour ------------------------------------------------------------------

    async def chat(self, req: ChatRequest) -> ChatResult:
        """One non-streaming call, bounded by ``timeout_s`` end to end."""
        with self._mapped_errors():
            async with asyncio.timeout(self.timeout_s):
                resp = await self.pool.client().post(
                    self._chat_url(), json=self._body(req, stream=False), headers=self._headers(),
                    timeout=self._timeout,
                )
                if resp.status_code >= 400:
                    raise self._http_error(resp.status_code, resp.text, resp.headers)
                try:
                    data = resp.json()
                except ValueError:
                    raise BadResponse("response body is not JSON", provider=self.provider, model=self.model,
                                      status=resp.status_code) from None
                return self._parse_result(data)

    async def stream(self, req: ChatRequest) -> AsyncIterator[StreamChunk]:
        """Stream deltas. A stream that ends without the protocol's end marker raises BadResponse.

        The bound here is httpx's read timeout between chunks, not a total deadline: a deadline
        (asyncio.timeout) held across ``yield`` would fire in the consumer's code, not in ours.
        """
        with self._mapped_errors():
            async with self.pool.client().stream(
                "POST", self._chat_url(), json=self._body(req, stream=True), headers=self._headers(),
                timeout=self._timeout,
            ) as resp:
                if resp.status_code >= 400:
                    body = (await resp.aread()).decode("utf-8", "replace")
                    raise self._http_error(resp.status_code, body, resp.headers)
                async for chunk in self._parse_stream(resp.aiter_lines()):
                    yield chunk

    async def health(self) -> tuple[bool, str]:
        """(healthy, detail). Never raises."""
        try:
            async with asyncio.timeout(min(self.timeout_s, 5.0)):
                resp = await self.pool.client().get(self._health_url(), headers=self._headers(), timeout=5.0)
            if resp.status_code < 400:
                return True, "ok"
            return False, f"HTTP {resp.status_code}"
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return False, type(exc).__name__

    @contextlib.contextmanager
    def _mapped_errors(self):  # type: ignore[no-untyped-def]
        """Turn transport failures into our error classes, naming this backend."""
        who = {"provider": self.provider, "model": self.model}
        try:
            yield
        except BackendError:
            raise
        except TimeoutError:
            raise BackendTimeout(f"no complete answer within {self.timeout_s:g}s", **who) from None
        except httpx.ConnectTimeout:
            raise BackendConnectError(f"could not connect to {self.base_url} (connect timeout)", **who) from None
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"{type(exc).__name__} after {self.timeout_s:g}s", **who) from None
        except httpx.ConnectError:
            raise BackendConnectError(f"could not connect to {self.base_url}", **who) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise BackendConnectError(f"connection broken mid-response ({type(exc).__name__})", **who) from None
        except httpx.HTTPError as exc:
            raise BadResponse(f"HTTP failure: {type(exc).__name__}", **who) from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BadResponse(f"unexpected response shape ({type(exc).__name__}: {exc})"[:300], **who) from None

    def _http_error(self, status: int, body: str, headers: Mapping[str, str]) -> BackendError:
        return error_from_status(status, body, headers, provider=self.provider, model=self.model)


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
        if isinstance(data.get("message"), str):
            return data["message"][:300]
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
