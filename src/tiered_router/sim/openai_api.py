"""OpenAI-compatible chat completions: ``POST /v1/chat/completions`` (JSON or SSE) and ``GET /v1/models``."""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tiered_router.chat import content_text
from tiered_router.sim.core import (
    Chat,
    Reply,
    Simulator,
)
from tiered_router.sim.tools import (
    argument_pieces,
    function_tools,
    tool_texts,
)
from tiered_router.sim.wire import (
    CutResponse,
    check_messages,
    json_response,
    last_user,
    logprobs_asked,
    positive_int,
    read_json,
    stop_list,
)

_ids = itertools.count(1)
_PREFIX = os.urandom(4).hex()


def error(status: int, message: str, type_: str, param: str | None = None, code: str | None = None,
          headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"message": message, "type": type_, "param": param, "code": code}},
                         status, headers)


def invalid(message: str, param: str | None = None, code: str | None = None) -> Response:
    return error(400, message, "invalid_request_error", param, code)


def _error_reply(reply: Reply, model: str) -> Response:
    if reply.error == "http500":
        return error(500, "The server had an error while processing your request. Sorry about that! "
                     "(simulated by [[sim:http500]])", "server_error")
    if reply.error == "http401":
        return error(401, "Incorrect API key provided. (simulated by [[sim:http401]])", "invalid_request_error",
                     None, "invalid_api_key")
    if reply.error == "http403":  # a key without access to the model or the region
        return error(403, "You are not allowed to sample from this model (simulated by [[sim:http403]])",
                     "invalid_request_error", None, "model_not_allowed")
    if reply.error == "http404":
        return error(404, f"The model `{model}` does not exist or you do not have access to it. "
                     "(simulated by [[sim:http404]])", "invalid_request_error", None, "model_not_found")
    if reply.error == "http429":
        wait = reply.retry_after_s
        return error(429, f"Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, "
                     f"Requested 1. Please try again in {wait}s. (simulated by [[sim:http429]])",
                     "requests", None, "rate_limit_exceeded", {"retry-after": str(wait)})
    return invalid(
        f"This model's maximum context length is {reply.context_window} tokens. However, your messages "
        f"resulted in {reply.prompt_tokens} tokens. Please reduce the length of the messages.",
        "messages", "context_length_exceeded",
    )


def _message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None if reply.tool_calls else reply.text,
                               "refusal": None, "annotations": []}
    if reply.tool_calls:
        message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                                 for i, n, a in reply.tool_calls]
    return message


class OpenAIProtocol:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def models(self, request: Request) -> Response:
        if "anthropic-version" in request.headers:  # Anthropic's GET /v1/models shares the path
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                    for m in self.sim.models]
            return json_response({"data": data, "has_more": False,
                                  "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})
        return json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": 1735689600, "owned_by": "tiered-router-simulator"}
            for m in self.sim.models
        ]})

    async def chat(self, request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, str):
            return invalid(f"We could not parse the JSON body of your request. ({body})")
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            return invalid("you must provide a model parameter", "model")
        if "messages" not in body:
            return invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        if problem := check_messages(messages):
            return invalid(f"Invalid 'messages': {problem}.", "messages", "invalid_value")
        assert isinstance(messages, list)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None and not positive_int(max_tokens):
            return invalid(f"Invalid 'max_tokens': expected an integer >= 1, got {max_tokens!r}.",
                           "max_tokens", "invalid_value")
        fmt = body.get("response_format")
        json_mode = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
        self.sim.record("openai", model, body, request.headers)

        texts = [content_text(m.get("content")) for m in messages] + tool_texts(body.get("tools"))
        texts += [json.dumps(c) for m in messages for c in m.get("tool_calls") or ()]
        images = sum(1 for m in messages if isinstance(m.get("content"), list)
                     for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url")
        last = messages[-1]
        tool_result = content_text(last.get("content")) if last.get("role") == "tool" else None
        reply = self.sim.reply(Chat(
            "openai", model, texts, last_user(messages), json_mode, max_tokens, stop_list(body.get("stop")),
            tools=function_tools(body.get("tools")), tool_result=tool_result, images=images,
        ))
        if reply.error == "hang":
            ended = await self.sim.hang(request)
            return error(*ended, "server_error") if ended else Response(status_code=499)
        if reply.error:
            return _error_reply(reply, model)

        await self.sim.wait_first_token()
        rid, created = f"chatcmpl-sim{_PREFIX}{next(_ids):012d}", int(time.time())
        finish = "tool_calls" if reply.tool_calls else "length" if reply.finish == "length" else "stop"
        usage = {"prompt_tokens": reply.reported_prompt_tokens, "completion_tokens": reply.reported_completion_tokens,
                 "total_tokens": reply.reported_prompt_tokens + reply.reported_completion_tokens}
        logprobs = logprobs_asked(reply, body)
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return self._stream(reply, rid, created, model, finish, usage if include_usage else None, logprobs)

        await self.sim.wait_rest(reply)
        completion = {
            "id": rid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{
                "index": 0,
                "message": _message(reply),
                "logprobs": {"content": logprobs, "refusal": None} if logprobs is not None else None,
                "finish_reason": finish,
            }],
            "usage": usage, "system_fingerprint": "fp_simulator",
        }
        if reply.cut:
            return CutResponse(json.dumps(completion).encode(), media_type="application/json")
        return json_response(completion)

    def _stream(self, reply: Reply, rid: str, created: int, model: str, finish: str,
                usage: dict[str, int] | None, logprobs: list[dict[str, Any]] | None) -> Response:
        head = (f'data: {{"id":"{rid}","object":"chat.completion.chunk","created":{created},'
                f'"model":{json.dumps(model)},"system_fingerprint":"fp_simulator","choices":[')
        tail = "]" + (',"usage":null' if usage is not None else "") + "}\n\n"

        def chunk(delta: str, finish_reason: str | None = None, lp: str = "null") -> bytes:
            reason = "null" if finish_reason is None else f'"{finish_reason}"'
            return (f'{head}{{"index":0,"delta":{delta},"logprobs":{lp},"finish_reason":{reason}}}{tail}').encode()

        first = chunk('{"role":"assistant","content":"","refusal":null}')
        token_lps = logprobs if logprobs is not None else [None] * len(reply.deltas)
        deltas = [chunk(f'{{"content":{json.dumps(d)}}}', lp="null" if t is None else
                        json.dumps({"content": [t], "refusal": None}, separators=(",", ":")))
                  for d, t in zip(reply.deltas, token_lps, strict=True)] if not reply.tool_calls else []
        for index, (call_id, name, arguments) in enumerate(reply.tool_calls):
            # id, type and name come first with empty arguments; the arguments follow in pieces.
            opening = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            deltas.append(chunk(json.dumps({"tool_calls": [opening]})))
            deltas += [chunk(json.dumps({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
                       for piece in argument_pieces(arguments)]
        last = chunk("{}", finish)
        if usage is not None:
            last += f'{head}],"usage":{json.dumps(usage, separators=(",", ":"))}}}\n\n'.encode()
        last += b"data: [DONE]\n\n"
        return StreamingResponse(self.sim.paced(first, deltas, last, reply.cut), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
