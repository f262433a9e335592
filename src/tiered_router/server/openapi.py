"""The server's OpenAPI 3.1 document, built from the same pydantic models that validate requests.

Response schemas are described here too, so a schema-driven test (schemathesis) can check that
every answer, success or error, has the shape the document promises.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ..observe.stats import SINCE_PATTERN
from ..version import __version__
from .schemas import (
    TIER_QUERY_VALUES,
    AnthropicCountRequest,
    AnthropicMessagesRequest,
    ChatCompletionRequest,
    ClassifyRequest,
    FeedbackRequest,
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaShowRequest,
)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["message", "type", "code"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "code": {"type": ["string", "null"]}, "param": {"type": ["string", "null"]},
                       "attempts": {"type": "array", "items": {"type": "object"}}},
    }},
}
_OLLAMA_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_ANTHROPIC_ERROR = {
    "type": "object", "required": ["type", "error"],
    "properties": {"type": {"const": "error"}, "error": {
        "type": "object", "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}},
}
# The routing log (observe/store/, observe/stats.py); docs/observability.md lists every field.
_SINCE_PARAM: dict[str, Any] = {
    "name": "since", "in": "query", "required": False,
    "description": "look-back window: 30m, 24h, 7d, or all (empty: the default)",
    "schema": {"type": "string", "pattern": SINCE_PATTERN, "default": "24h"},
}
_STATS = {
    "type": "object",
    "required": ["requests", "tiers", "escalations", "degraded", "errors", "latency_ms", "spend", "tier1_failures",
                 "budget"],
    "properties": {
        "requests": {"type": "integer"}, "tiers": {"type": "object"}, "escalations": {"type": "object"},
        "degraded": {"type": "object"}, "errors": {"type": "object"}, "latency_ms": {"type": "object"},
        "spend": {"type": "object"}, "tier1_failures": {"type": "object"}, "budget": {"type": ["object", "null"]},
        "budget_error": {"type": ["string", "null"]},
    },
}
_DECISIONS = {
    "type": "object", "required": ["object", "data"],
    "properties": {"object": {"type": "string"}, "data": {"type": "array", "items": {
        "type": "object", "required": ["request_id", "time", "router.final_tier", "router.attempts"],
        "properties": {"request_id": {"type": "string"}, "time": {"type": "number"},
                       "router.attempts": {"type": "array", "items": {"type": "object"}}}}}},
}


class _Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # tool_calls, reasoning_content
    role: str
    content: str | None


class _Choice(BaseModel):
    index: int
    message: _Message
    finish_reason: str


class ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    object: str
    created: int
    model: str
    choices: list[_Choice]
    usage: _Usage


class _ModelEntry(BaseModel):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: str
    data: list[_ModelEntry]


class ClassifyResponse(BaseModel):
    tier: int
    tier_name: str
    score: float
    reasons: list[str]


class FeedbackResponse(BaseModel):
    request_id: str
    score: float
    comment: str | None
    recorded: bool


class OllamaChatResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    created_at: str
    message: _Message
    done: bool


class OllamaGenerateResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    created_at: str
    response: str
    done: bool


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    role: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: dict[str, int]


class AnthropicTokenCount(BaseModel):
    input_tokens: int


def _schema(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    defs[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _errors(front: bool | str, *statuses: int) -> dict[str, Any]:
    """Error responses in a front's shape: OpenAI's (False), Ollama's (True) or Anthropic's ("anthropic")."""
    name = "AnthropicError" if front == "anthropic" else "OllamaError" if front is True else "Error"
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {str(s): {"description": "error", "content": {"application/json": {"schema": schema}}} for s in statuses}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    defs: dict[str, Any] = {"Error": _ERROR, "OllamaError": _OLLAMA_ERROR, "AnthropicError": _ANTHROPIC_ERROR}
    chat_req = _schema(ChatCompletionRequest, defs)
    ollama_req = _schema(OllamaChatRequest, defs)
    generate_req = _schema(OllamaGenerateRequest, defs)
    messages_req = _schema(AnthropicMessagesRequest, defs)
    count_req = _schema(AnthropicCountRequest, defs)
    show_req = _schema(OllamaShowRequest, defs)
    classify_req = _schema(ClassifyRequest, defs)
    any_object = {"type": "object"}
    common = (400, 401, 404, 408, 413, 429, 502, 503, 504)
    return {
        "openapi": "3.1.0",
        "info": {"title": "tiered-router", "version": __version__,
                 "description": "OpenAI-, Anthropic- and Ollama-compatible LLM router across local and cloud "
                                "tiers."},
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion",
                "requestBody": {"required": True, "content": {"application/json": {"schema": chat_req}}},
                "responses": {"200": {"description": "an answer, or a stream of chunks when stream is true",
                                      "content": {"application/json": {"schema": _schema(ChatCompletion, defs)},
                                                  "text/event-stream": {"schema": {"type": "string"}}}},
                              **_errors(False, *common)},
            }},
            "/v1/models": {"get": {"operationId": "listModels",
                                   "responses": {"200": _json(_schema(ModelList, defs)), **_errors(False, 401)}}},
            "/v1/router/classify": {"post": {
                "operationId": "classify",
                "requestBody": {"required": True, "content": {"application/json": {"schema": classify_req}}},
                "responses": {"200": _json(_schema(ClassifyResponse, defs)), **_errors(False, 400, 401, 413)},
            }},
            "/v1/router/feedback": {"post": {
                "operationId": "routerFeedback",
                "description": "How good an answer was (good, bad, or 0..1), stored with the request for learning; "
                               "sending it again replaces it",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _schema(FeedbackRequest, defs)}}},
                "responses": {"200": _json(_schema(FeedbackResponse, defs)),
                              **_errors(False, 400, 401, 404, 413, 503)},
            }},
            "/v1/router/budget": {"get": {"operationId": "budget",
                                          "responses": {"200": _json(any_object), **_errors(False, 401, 503)}}},
            "/v1/router/stats": {"get": {
                "operationId": "routerStats",
                "parameters": [_SINCE_PARAM],
                "responses": {"200": _json(_STATS), **_errors(False, 400, 401, 503)},
            }},
            "/v1/router/decisions": {"get": {
                "operationId": "routerDecisions",
                "parameters": [
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                    {"name": "tier", "in": "query", "required": False,
                     "description": "only requests answered by this tier (empty: any)",
                     "schema": {"type": "string", "enum": list(TIER_QUERY_VALUES)}},
                    {"name": "escalated", "in": "query", "required": False,
                     "description": "only requests that did (true) or did not (false) escalate (empty: both)",
                     "schema": {"type": "string", "enum": ["", "true", "false", "1", "0"]}},
                    {**_SINCE_PARAM, "schema": {**_SINCE_PARAM["schema"], "default": "all"}},
                ],
                "responses": {"200": _json(_DECISIONS), **_errors(False, 400, 401, 503)},
            }},
            "/api/chat": {"post": {
                "operationId": "ollamaChat",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ollama_req}}},
                "responses": {"200": {"description": "an answer, or NDJSON lines when stream is true",
                                      "content": {"application/json": {"schema": _schema(OllamaChatResponse, defs)},
                                                  "application/x-ndjson": {"schema": {"type": "string"}}}},
                              **_errors(True, *common)},
            }},
            "/api/generate": {"post": {
                "operationId": "ollamaGenerate",
                "requestBody": {"required": True, "content": {"application/json": {"schema": generate_req}}},
                "responses": {"200": {"description": "an answer, or NDJSON lines when stream is true",
                                      "content": {"application/json": {"schema": _schema(OllamaGenerateResponse, defs)},
                                                  "application/x-ndjson": {"schema": {"type": "string"}}}},
                              **_errors(True, *common)},
            }},
            "/api/show": {"post": {
                "operationId": "ollamaShow",
                "requestBody": {"required": True, "content": {"application/json": {"schema": show_req}}},
                "responses": {"200": _json(any_object), **_errors(True, 400, 401, 404, 413)},
            }},
            "/api/ps": {"get": {"operationId": "ollamaPs",
                                "responses": {"200": _json(any_object), **_errors(True, 401)}}},
            "/api/version": {"get": {"operationId": "ollamaVersion",
                                     "responses": {"200": _json(any_object), **_errors(True, 401)}}},
            "/api/tags": {"get": {"operationId": "ollamaTags",
                                  "responses": {"200": _json(any_object), **_errors(True, 401)}}},
            "/v1/messages": {"post": {
                "operationId": "anthropicMessages",
                "requestBody": {"required": True, "content": {"application/json": {"schema": messages_req}}},
                "responses": {"200": {"description": "a message, or named SSE events when stream is true",
                                      "content": {"application/json": {"schema": _schema(AnthropicMessage, defs)},
                                                  "text/event-stream": {"schema": {"type": "string"}}}},
                              **_errors("anthropic", *common)},
            }},
            "/v1/messages/count_tokens": {"post": {
                "operationId": "anthropicCountTokens",
                "requestBody": {"required": True, "content": {"application/json": {"schema": count_req}}},
                "responses": {"200": _json(_schema(AnthropicTokenCount, defs)),
                              **_errors("anthropic", 400, 401, 413)},
            }},
            "/dashboard": {"get": {"operationId": "dashboard", "responses": {
                "200": {"description": "the dashboard page", "content": {"text/html": {"schema": {"type": "string"}}}},
                **_errors(False, 401)}}},
            "/healthz": {"get": {"operationId": "healthz", "responses": {"200": _json(any_object)}}},
            "/readyz": {"get": {"operationId": "readyz",
                                "responses": {"200": _json(any_object), "503": _json(any_object, "not ready")}}},
            "/metrics": {"get": {"operationId": "metrics", "responses": {
                "200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_errors(False, 401)}}},
        },
        "components": {"schemas": defs},
    }
