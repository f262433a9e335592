"""Protocol-independent part of the simulator: configuration, behaviour markers, replies and pacing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from starlette.datastructures import Headers
from starlette.requests import Request

from tiered_router.sim import text as texts
from tiered_router.sim.tools import SimTool, bad_arguments, example_arguments

DEFAULT_MODELS: tuple[str, ...] = ("llama3.1:8b", "hermes3:70b", "claude-haiku-4-5", "gpt-4o")
SMALL_CONTEXT_WINDOW = 8192  # models whose name contains ":8b"
DEFAULT_CONTEXT_WINDOW = 131072  # everything else
CUT_AFTER_DELTAS = 3  # content deltas sent before a [[sim:cut-stream]] connection is dropped

BEHAVIOURS = frozenset({
    "refuse", "empty", "truncate", "repeat", "bad-json", "http500", "http429", "hang", "cut-stream",
    "context-too-long", "http401", "http403", "http404", "tool", "tool-as-text", "bad-tool-args", "unknown-tool",
    "unsure", "overcount",
})
ERROR_BEHAVIOURS = frozenset({"http500", "http429", "http401", "http403", "http404", "hang", "context-too-long"})
TOOL_BEHAVIOURS = frozenset({"tool", "tool-as-text", "bad-tool-args", "unknown-tool"})
# [[sim:BEHAVIOUR]], [[sim:BEHAVIOUR:ARG]] (the tool of [[sim:tool:NAME]], the seconds of [[sim:http429:N]], the
# factor of [[sim:overcount:N]]), either with @MODEL; model names may
# hold ':', '.', '/', '-'.
MARKER_RE = re.compile(r"\[\[sim:([a-z0-9-]+)(?::([\w.-]+))?(?:@([^\]\s]+))?\]\]", re.IGNORECASE)
# How sure the simulated model is of its tokens: a model that refuses, loops or garbles is less sure than
# one that answers; [[sim:unsure]] makes an ordinary answer an unsure one.
_SURENESS = {"unsure": -1.6, "refuse": -0.9, "repeat": -1.2, "bad-json": -0.9, "empty": -1.0, "truncate": -0.7}
OLLAMA_DEFAULT_NUM_CTX = 4096  # what Ollama uses when a request sends no options.num_ctx
IMAGE_TOKENS = 765  # prompt tokens an image costs here (a 1024x1024 image at OpenAI's high detail)
RETRY_AFTER_S = 1  # the Retry-After of [[sim:http429]] without an argument
OVERCOUNT = 10  # how many times the real token counts [[sim:overcount]] reports without an argument


class SimulatedCut(Exception):
    """Raised after part of a body was sent: the server then drops the connection (see app.py)."""


class SeenRequest(NamedTuple):
    model: str
    body: dict[str, Any]
    headers: Headers


@dataclass(slots=True)
class Chat:
    """A chat request, normalised from any protocol."""

    protocol: str
    model: str
    texts: list[str]  # system prompt and every message's text, for the prompt token count
    last_user: str
    json_mode: bool = False
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    context_window: int | None = None  # a per-request override (Ollama's options.num_ctx)
    truncate: bool = True  # Ollama's "truncate": false turns a silent cut into an error
    tools: tuple[SimTool, ...] = ()
    tool_result: str | None = None  # the content of a tool result that ends the conversation
    images: int = 0


@dataclass(slots=True)
class Reply:
    """What the model "said", before a protocol renders it. ``error`` is set for the error behaviours."""

    prompt_tokens: int
    text: str = ""
    deltas: tuple[str, ...] = ()
    finish: str = "stop"  # "stop" | "length"
    stop_sequence: str | None = None
    error: str | None = None  # "http500" | "http429" | "http401" | "http403" | "http404" | "hang" | ...
    context_window: int = 0
    cut: bool = False
    tool_calls: tuple[tuple[str, str, str], ...] = ()  # (id, name, arguments as JSON text)
    truncated: bool = False  # the prompt was cut to fit the window, silently (as Ollama does)
    sureness: float = -0.05  # the log-probability of a typical token: low for faults and [[sim:unsure]]
    retry_after_s: int = RETRY_AFTER_S  # the Retry-After header of an http429
    overcount: int = 1  # the usage reported is this many times the real counts ([[sim:overcount:N]])

    def logprobs(self, top: int = 0) -> list[dict[str, Any]]:
        """Each answer token's log-probability, as OpenAI's ``logprobs.content`` and Ollama's ``logprobs``, with
        ``top`` alternatives (the token itself first, then made-up, less likely ones)."""
        out = []
        for i, token in enumerate(self.deltas):
            logprob = round(self.sureness - 0.03 * (i % 3), 4)
            alternatives = [(token, logprob)] + [(f"{token.strip() or '_'}~{k}", round(logprob - 1.5 * k, 4))
                                                 for k in range(1, top)]
            out.append({"token": token, "logprob": logprob, "bytes": list(token.encode()),
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                                         for t, lp in alternatives[:top]]})
        return out

    @property
    def completion_tokens(self) -> int:
        return len(self.deltas)

    @property
    def reported_prompt_tokens(self) -> int:
        """The prompt tokens the usage reports: the real count, unless [[sim:overcount]] inflates it."""
        return self.prompt_tokens * self.overcount

    @property
    def reported_completion_tokens(self) -> int:
        return self.completion_tokens * self.overcount


def find_behaviour(text: str, model: str) -> str | None:
    """The first marker in ``text`` that names a known behaviour and applies to ``model``."""
    return find_marker(text, model)[0]


def find_marker(text: str, model: str) -> tuple[str | None, str | None]:
    """(behaviour, argument) of the first marker in ``text`` that applies to ``model``."""
    if "[[" not in text:
        return None, None
    for m in MARKER_RE.finditer(text):
        behaviour, arg, scope = m.group(1).lower(), m.group(2), m.group(3)
        if behaviour in BEHAVIOURS and (scope is None or scope == model):
            return behaviour, arg
    return None, None


def _number(arg: str | None, default: int) -> int:
    """A marker's numeric argument (``[[sim:http429:30]]``), else ``default``."""
    return int(arg) if arg is not None and arg.isdecimal() else default


@lru_cache(maxsize=4096)
def _deltas(text: str) -> tuple[str, ...]:
    return tuple(texts.pieces(text))


def _env_ms(name: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of milliseconds, got {raw!r}") from None


class Simulator:
    """Configuration and counters of one simulated LLM server.

    ``ttft_ms``/``token_ms`` default to ``$TIER_SIM_TTFT_MS``/``$TIER_SIM_TOKEN_MS``, else 0.
    ``requests`` counts chat requests per ``(protocol, model)``, protocol being "ollama", "openai" or
    "anthropic"; ``last_request`` keeps the latest chat request per protocol.
    """

    def __init__(
        self,
        ttft_ms: float | None = None,
        token_ms: float | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
        context_windows: Mapping[str, int] | None = None,
        hang_s: float = 300.0,
    ) -> None:
        self.ttft_ms = float(_env_ms("TIER_SIM_TTFT_MS") if ttft_ms is None else ttft_ms)
        self.token_ms = float(_env_ms("TIER_SIM_TOKEN_MS") if token_ms is None else token_ms)
        if self.ttft_ms < 0 or self.token_ms < 0:
            raise ValueError("ttft_ms and token_ms must be >= 0")
        self.models: list[str] = list(models)
        self.context_windows: dict[str, int] = dict(context_windows or {})
        self.hang_s = hang_s
        self.requests: Counter[tuple[str, str]] = Counter()
        self.last_request: dict[str, SeenRequest] = {}
        self.seen: list[SeenRequest] = []  # every chat request, in order (the last 1000)
        self.truncations = 0  # Ollama prompts cut to the default window because no num_ctx was sent

    def __repr__(self) -> str:
        return f"Simulator(ttft_ms={self.ttft_ms}, token_ms={self.token_ms}, models={self.models})"

    def reset(self) -> None:
        self.requests.clear()
        self.last_request.clear()
        self.seen.clear()
        self.truncations = 0

    def context_window(self, model: str) -> int:
        if model in self.context_windows:
            return self.context_windows[model]
        return SMALL_CONTEXT_WINDOW if ":8b" in model else DEFAULT_CONTEXT_WINDOW

    def record(self, protocol: str, model: str, body: dict[str, Any], headers: Headers) -> None:
        self.requests[(protocol, model)] += 1
        seen = SeenRequest(model, body, headers)
        self.last_request[protocol] = seen
        self.seen.append(seen)
        if len(self.seen) > 1000:
            del self.seen[:500]

    @staticmethod
    def prompt_tokens(message_texts: Iterable[str]) -> int:
        """Tokens of every message (and system prompt) plus 3 per message for the chat formatting."""
        return sum(texts.count_tokens(t) + 3 for t in message_texts)

    def reply(self, chat: Chat) -> Reply:
        prompt_tokens = self.prompt_tokens(chat.texts) + IMAGE_TOKENS * chat.images
        behaviour, arg = find_marker(chat.last_user, chat.model)
        if behaviour == "context-too-long":
            window = chat.context_window or self.context_window(chat.model)
            return Reply(prompt_tokens + window, error=behaviour, context_window=window)
        if behaviour in ERROR_BEHAVIOURS:
            return Reply(prompt_tokens, error=behaviour, context_window=chat.context_window or 0,
                         retry_after_s=_number(arg, RETRY_AFTER_S) if behaviour == "http429" else RETRY_AFTER_S)
        overcount = max(1, _number(arg, OVERCOUNT)) if behaviour == "overcount" else 1
        truncated = False
        if chat.protocol == "ollama" and chat.truncate:
            # Ollama cuts a prompt longer than its window without a word (only prompt_eval_count shows it); with no
            # num_ctx the window is its own small default, whatever the model could hold.
            window = chat.context_window or min(OLLAMA_DEFAULT_NUM_CTX, self.context_window(chat.model))
            truncated = prompt_tokens > window
            prompt_tokens = min(prompt_tokens, window)
        else:
            window = chat.context_window or self.context_window(chat.model)
            if chat.protocol == "ollama" and chat.context_window is None:
                window = min(OLLAMA_DEFAULT_NUM_CTX, window)
            if behaviour is None and prompt_tokens > window:
                return Reply(prompt_tokens, error="context-too-long", context_window=window)
        if truncated:
            self.truncations += 1
        if chat.tools and chat.tool_result is None:
            call = tool_reply(chat, behaviour, arg, prompt_tokens)
            if call is not None:
                call.context_window, call.truncated, call.overcount = window, truncated, overcount
                return call
        if chat.tool_result is not None and behaviour not in ("refuse", "empty", "repeat", "truncate"):
            behaviour = "after-tool"

        finish = "stop"
        if behaviour == "refuse":
            body = texts.REFUSAL
        elif behaviour == "empty":
            body = ""
        elif behaviour == "repeat":
            body = texts.repetition(chat.model)
        elif behaviour == "bad-json":
            body = texts.bad_json(chat.model)
        elif behaviour == "after-tool":
            body = texts.after_tool(chat.model, chat.tool_result or "")
        else:
            prompt = MARKER_RE.sub("", chat.last_user) if "[[" in chat.last_user else chat.last_user
            body = texts.answer(chat.model, prompt, chat.json_mode)
        deltas = _deltas(body)
        if behaviour == "truncate":
            deltas, finish = deltas[: max(3, len(deltas) // 3)], "length"

        stop_sequence = None
        if chat.stop:
            full = "".join(deltas)
            hits = [(full.find(s), s) for s in chat.stop if s and s in full]
            if hits:
                at, stop_sequence = min(hits)
                deltas, finish = _deltas(full[:at].rstrip()), "stop"
        if chat.max_tokens is not None and len(deltas) > chat.max_tokens:
            deltas, finish, stop_sequence = deltas[: chat.max_tokens], "length", None
        return Reply(
            prompt_tokens, "".join(deltas), deltas, finish, stop_sequence,
            context_window=window, cut=behaviour == "cut-stream", truncated=truncated,
            sureness=_SURENESS.get(behaviour or "", -0.05), overcount=overcount,
        )

    async def wait_first_token(self) -> None:
        if self.ttft_ms > 0:
            await asyncio.sleep(self.ttft_ms / 1000)

    async def wait_rest(self, reply: Reply) -> None:
        """The generation time after the first token, for a non-streaming answer."""
        if self.token_ms > 0 and reply.completion_tokens > 1:
            await asyncio.sleep(self.token_ms * (reply.completion_tokens - 1) / 1000)

    async def paced(self, head: bytes, deltas: Sequence[bytes], tail: bytes, cut: bool) -> AsyncIterator[bytes]:
        """A stream body: ``head``, the content deltas ``token_ms`` apart, ``tail``.

        With ``cut`` only the first few deltas are sent, then SimulatedCut drops the connection.
        """
        if cut:
            deltas = deltas[:CUT_AFTER_DELTAS]
        if self.token_ms <= 0:
            yield head + b"".join(deltas) + (b"" if cut else tail)
        else:
            yield head
            for i, delta in enumerate(deltas):
                if i:
                    await asyncio.sleep(self.token_ms / 1000)
                yield delta
            if not cut:
                yield tail
        if cut:
            raise SimulatedCut("[[sim:cut-stream]]")

    async def hang(self, request: Request) -> tuple[int, str] | None:
        """Never answer: wait until the client goes away (None), ``hang_s`` passes (504) or the server shuts
        down and cancels us (503). The request body must have been read already."""
        try:
            async with asyncio.timeout(self.hang_s):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return 504, f"simulated hang reached its {self.hang_s:g}s cap ([[sim:hang]])"
        except asyncio.CancelledError:  # uvicorn's graceful-shutdown timeout: answer instead of a traceback
            return 503, "simulated hang ended by server shutdown ([[sim:hang]])"
        return None


# --- the agent's model: tool calls -----------------------------------------------------------------------


def tool_reply(chat: Chat, behaviour: str | None, arg: str | None, prompt_tokens: int) -> Reply | None:
    """A tool call, when the request offers tools and asks for one: a [[sim:tool]] / [[sim:tool:NAME]] marker,
    a tool fault marker, or a last user message that names an offered tool. None: answer in text."""
    tool = _chosen_tool(chat, behaviour, arg)
    if tool is None:
        return None
    args = example_arguments(tool.schema)
    name = tool.name
    if behaviour == "bad-tool-args":
        args = bad_arguments(tool.schema)
    elif behaviour == "unknown-tool":
        name = f"{tool.name}_unknown"
    arguments = json.dumps(args, separators=(",", ":"))
    if behaviour == "tool-as-text":  # the call written out as text, the classic small-model failure
        body = json.dumps({"name": name, "arguments": args})
        deltas = _deltas(body)
        return Reply(prompt_tokens, body, deltas)
    call_id = f"call_{zlib.crc32(f'{chat.model}|{chat.last_user}|{name}'.encode()):08x}"
    tokens = texts.count_tokens(name) + texts.count_tokens(arguments)
    return Reply(prompt_tokens, "", tuple([""] * max(1, tokens)), "tool_calls",
                 tool_calls=((call_id, name, arguments),))


def _chosen_tool(chat: Chat, behaviour: str | None, arg: str | None) -> SimTool | None:
    by_name = {t.name: t for t in chat.tools}
    if behaviour == "tool" and arg:
        return by_name.get(arg) or chat.tools[0]
    if behaviour in TOOL_BEHAVIOURS:
        named = _named_tool(chat)
        return named or chat.tools[0]
    return _named_tool(chat)


def _named_tool(chat: Chat) -> SimTool | None:
    text = chat.last_user.lower()
    for tool in chat.tools:
        name = tool.name.lower()
        if name in text or name.replace("_", " ") in text:
            return tool
    return None


