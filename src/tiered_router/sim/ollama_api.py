"""Ollama's native API: ``POST /api/chat`` (JSON, or NDJSON when streaming, the default), ``GET /api/tags``,
``GET /api/version`` and ``GET /``."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from tiered_router.chat import content_text
from tiered_router.sim.core import (
    Chat,
    Reply,
    Simulator,
)
from tiered_router.sim.tools import (
    function_tools,
    tool_texts,
)
from tiered_router.sim.wire import (
    CutResponse,
    check_messages,
    json_response,
    last_user,
    logprobs_asked,
    read_json,
    stop_list,
)

VERSION = "0.12.0"
_PARAMS_RE = re.compile(r":(\d+(?:\.\d+)?)b\b", re.IGNORECASE)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def _created_at() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def _tag(model: str) -> dict[str, Any]:
    m = _PARAMS_RE.search(model)
    billions = float(m.group(1)) if m else 7.0
    family = re.sub(r"[\d.]+$", "", model.split(":")[0]) or model
    return {
        "name": model, "model": model, "modified_at": "2025-01-01T00:00:00.000000000Z",
        "size": int(billions * 0.6e9), "digest": hashlib.sha256(model.encode()).hexdigest(),
        "details": {"parent_model": "", "format": "gguf", "family": family, "families": [family],
                    "parameter_size": f"{billions:g}B", "quantization_level": "Q4_K_M"},
    }


def _error_reply(reply: Reply, model: str) -> Response:
    if reply.error == "http500":
        return error(500, "llama runner process has terminated: simulated by [[sim:http500]]")
    if reply.error == "http401":
        return error(401, "unauthorized (simulated by [[sim:http401]])")
    if reply.error == "http403":  # a proxy in front of Ollama refusing the key
        return error(403, "forbidden (simulated by [[sim:http403]])")
    if reply.error == "http404":  # Ollama's answer for a model that was never pulled
        return error(404, f'model "{model}" not found, try pulling it first (simulated by [[sim:http404]])')
    if reply.error == "http429":
        return error(429, "server busy, please try again. maximum pending requests exceeded "
                     "(simulated by [[sim:http429]])", {"retry-after": str(reply.retry_after_s)})
    return error(400, f"the input length ({reply.prompt_tokens} tokens) exceeds the context length "
                 f"({reply.context_window} tokens)")


def _message(reply: Reply, content: str, calls: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls and reply.tool_calls:  # arguments are an object; id and index as Ollama 0.12.10 and later send them
        message["tool_calls"] = [{"id": i, "function": {"index": k, "name": n, "arguments": json.loads(a)}}
                                 for k, (i, n, a) in enumerate(reply.tool_calls)]
    return message


class OllamaProtocol:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._tags = json.dumps({"models": [_tag(m) for m in sim.models]}).encode()

    async def root(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def version(self, request: Request) -> Response:
        return json_response({"version": VERSION})

    async def tags(self, request: Request) -> Response:
        return Response(self._tags, media_type="application/json")

    async def chat(self, request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, str):
            return error(400, body)
        model, messages = body.get("model"), body.get("messages") or []
        if not isinstance(model, str) or not model:
            return error(400, "model is required")
        if messages and (problem := check_messages(messages)):
            return error(400, problem)
        raw_options = body.get("options")
        options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
        num_predict, num_ctx = options.get("num_predict"), options.get("num_ctx")
        max_tokens = num_predict if isinstance(num_predict, int) and num_predict > 0 else None
        window = num_ctx if isinstance(num_ctx, int) and num_ctx > 0 else None
        fmt = body.get("format")
        json_mode = fmt == "json" or isinstance(fmt, dict)
        stream = body.get("stream", True) is not False  # Ollama streams unless told not to
        self.sim.record("ollama", model, body, request.headers)
        started = time.perf_counter_ns()

        if not messages:  # Ollama answers an empty conversation by loading the model
            return json_response({"model": model, "created_at": _created_at(),
                                  "message": {"role": "assistant", "content": ""},
                                  "done_reason": "load", "done": True})
        texts = [content_text(m.get("content")) for m in messages] + tool_texts(body.get("tools"))
        texts += [json.dumps(c) for m in messages for c in m.get("tool_calls") or ()]
        last = messages[-1]
        reply = self.sim.reply(Chat(
            "ollama", model, texts, last_user(messages), json_mode, max_tokens, stop_list(options.get("stop")),
            window, body.get("truncate") is not False, tools=function_tools(body.get("tools")),
            tool_result=content_text(last.get("content")) if last.get("role") == "tool" else None,
            images=sum(len(m.get("images") or ()) for m in messages),
        ))
        if reply.error == "hang":
            ended = await self.sim.hang(request)
            return error(*ended) if ended else Response(status_code=499)
        if reply.error:
            return _error_reply(reply, model)

        await self.sim.wait_first_token()
        first_token = time.perf_counter_ns()
        logprobs = logprobs_asked(reply, body)
        if stream:
            return self._stream(reply, model, started, first_token, logprobs)
        await self.sim.wait_rest(reply)
        final = self._final(reply, model, reply.text, started, first_token)
        if logprobs is not None and not reply.tool_calls:
            final["logprobs"] = logprobs
        if reply.cut:
            return CutResponse(json.dumps(final, separators=(",", ":")).encode(), media_type="application/json")
        return json_response(final)

    def _final(self, reply: Reply, model: str, content: str, started: int, first_token: int,
               calls: bool = True) -> dict[str, Any]:
        now = time.perf_counter_ns()
        return {
            "model": model, "created_at": _created_at(),
            "message": _message(reply, content, calls),
            "done_reason": "length" if reply.finish == "length" else "stop", "done": True,
            "total_duration": max(now - started, 1), "load_duration": 1,
            "prompt_eval_count": reply.reported_prompt_tokens, "prompt_eval_duration": max(first_token - started, 1),
            "eval_count": reply.reported_completion_tokens, "eval_duration": max(now - first_token, 1),
        }

    def _stream(self, reply: Reply, model: str, started: int, first_token: int,
                logprobs: list[dict[str, Any]] | None) -> Response:
        head = f'{{"model":{json.dumps(model)},"created_at":"{_created_at()}","message":{{"role":"assistant","content":'
        token_lps = ([f',"logprobs":[{json.dumps(t, separators=(",", ":"))}]' for t in logprobs]
                     if logprobs is not None else [""] * len(reply.deltas))
        deltas = [f'{head}{json.dumps(d)}}},"done":false{lp}}}\n'.encode()
                  for d, lp in zip(reply.deltas, token_lps, strict=True)] if not reply.tool_calls \
            else [(json.dumps({"model": model, "created_at": _created_at(), "message": _message(reply, "", True),
                               "done": False}, separators=(",", ":")) + "\n").encode()]  # each call whole
        sim = self.sim

        async def body() -> Any:
            # The final line's durations are measured when it is sent, so it is built last.
            async for part in sim.paced(b"", deltas, b"", reply.cut):
                yield part
            final = self._final(reply, model, "", started, first_token, calls=False)
            yield (json.dumps(final, separators=(",", ":")) + "\n").encode()

        return StreamingResponse(body(), media_type="application/x-ndjson")
