"""The JSON schemas the OpenAPI document gives for the structured fields of each front: messages, content
parts and blocks, tools, tool choices and response formats.

They say exactly what the format modules (``formats/``) accept, so a request that fits them is never refused
for its shape (schemathesis checks this). Fields outside the documented ones are passed to tiers that speak
the client's protocol and refused, by name, by the others; the documents describe the portable contract.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_OBJECT: Schema = {"type": "object"}
BASE64: Schema = {"type": "string", "pattern": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}
TOOL_NAME: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}
INT64: Schema = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}


def nullable(schema: Schema) -> Schema:
    """An optional field's schema: the value, or null (the same as leaving it out)."""
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(required: list[str], properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


# --- OpenAI ---------------------------------------------------------------------------------------------------

_TEXT_PART = _obj(["type", "text"], {"type": {"const": "text"}, "text": _STRING})
# Images as data: URLs (inline bytes) are portable; an http(s) image URL reaches only tiers that fetch it
# themselves (OpenAI, Anthropic), and is refused by name on the others.
DATA_URL: Schema = {"type": "string", "pattern": r"^data:image/(?:png|jpeg|gif|webp);base64,"
                                                 + BASE64["pattern"].removeprefix("^")}
_IMAGE_PART = _obj(["type", "image_url"], {"type": {"const": "image_url"}, "image_url": _obj(["url"], {
    "url": DATA_URL, "detail": {"enum": ["auto", "low", "high"]}})})
_TEXT_CONTENT: Schema = {"anyOf": [_STRING, {"type": "array", "items": _TEXT_PART}]}
_TOOL_CALL = _obj(["id", "type", "function"], {
    "id": {"type": "string", "minLength": 1}, "type": {"const": "function"},
    "function": _obj(["name", "arguments"], {"name": TOOL_NAME, "arguments": _STRING})})

OPENAI_MESSAGES: Schema = {"type": "array", "minItems": 1, "items": {"oneOf": [
    _obj(["role", "content"], {"role": {"enum": ["system", "developer"]}, "content": _TEXT_CONTENT,
                               "name": _STRING}),
    _obj(["role", "content"], {"role": {"const": "user"}, "name": _STRING, "content": {"anyOf": [
        _STRING, {"type": "array", "items": {"oneOf": [_TEXT_PART, _IMAGE_PART]}}]}}),
    _obj(["role"], {"role": {"const": "assistant"}, "content": {"anyOf": [_TEXT_CONTENT, {"type": "null"}]},
                    "tool_calls": {"type": "array", "items": _TOOL_CALL}, "name": _STRING}),
    _obj(["role", "content", "tool_call_id"], {"role": {"const": "tool"}, "content": _TEXT_CONTENT,
                                               "tool_call_id": _STRING}),
]}}
OPENAI_TOOLS: Schema = {"type": "array", "items": _obj(["type", "function"], {
    "type": {"const": "function"},
    "function": _obj(["name"], {"name": TOOL_NAME, "description": _STRING, "parameters": _OBJECT,
                                "strict": {"type": "boolean"}})})}
OPENAI_TOOL_CHOICE: Schema = {"anyOf": [{"enum": ["none", "auto", "required"]}, _obj(["type", "function"], {
    "type": {"const": "function"}, "function": _obj(["name"], {"name": TOOL_NAME})})]}
RESPONSE_FORMAT: Schema = {"oneOf": [
    _obj(["type"], {"type": {"enum": ["text", "json_object"]}}),
    _obj(["type", "json_schema"], {"type": {"const": "json_schema"}, "json_schema": _obj(["name"], {
        "name": TOOL_NAME, "description": _STRING, "schema": _OBJECT, "strict": {"type": ["boolean", "null"]}})}),
]}

# --- Anthropic ------------------------------------------------------------------------------------------------

_A_TEXT = _obj(["type", "text"], {"type": {"const": "text"}, "text": _STRING})
_MEDIA_TYPES: Schema = {"enum": ["image/jpeg", "image/png", "image/gif", "image/webp"]}
_A_IMAGE = _obj(["type", "source"], {"type": {"const": "image"}, "source": _obj(
    ["type", "media_type", "data"], {"type": {"const": "base64"}, "media_type": _MEDIA_TYPES, "data": BASE64})})
_A_TOOL_USE = _obj(["type", "id", "name", "input"], {"type": {"const": "tool_use"}, "id": {"type": "string",
                                                     "minLength": 1}, "name": TOOL_NAME, "input": _OBJECT})
_A_TOOL_RESULT = _obj(["type", "tool_use_id"], {
    "type": {"const": "tool_result"}, "tool_use_id": _STRING, "is_error": {"type": "boolean"},
    "content": {"anyOf": [_STRING, {"type": "array", "items": {"oneOf": [_A_TEXT, _A_IMAGE]}}]}})
_A_THINKING = _obj(["type", "thinking", "signature"], {"type": {"const": "thinking"}, "thinking": _STRING,
                                                       "signature": _STRING})
ANTHROPIC_MESSAGES: Schema = {"type": "array", "minItems": 1, "items": {"oneOf": [
    _obj(["role", "content"], {"role": {"const": "user"}, "content": {"anyOf": [
        _STRING, {"type": "array", "items": {"oneOf": [_A_TEXT, _A_IMAGE, _A_TOOL_RESULT]}}]}}),
    _obj(["role", "content"], {"role": {"const": "assistant"}, "content": {"anyOf": [
        _STRING, {"type": "array", "items": {"oneOf": [_A_TEXT, _A_TOOL_USE, _A_THINKING]}}]}}),
]}}
ANTHROPIC_SYSTEM: Schema = {"anyOf": [_STRING, {"type": "array", "items": _A_TEXT}]}
ANTHROPIC_TOOLS: Schema = {"type": "array", "items": _obj(["name", "input_schema"], {
    "name": TOOL_NAME, "description": _STRING, "input_schema": _OBJECT, "type": {"const": "custom"}})}
ANTHROPIC_TOOL_CHOICE: Schema = {"oneOf": [
    _obj(["type"], {"type": {"enum": ["auto", "any", "none"]}, "disable_parallel_tool_use": {"type": "boolean"}}),
    _obj(["type", "name"], {"type": {"const": "tool"}, "name": TOOL_NAME,
                            "disable_parallel_tool_use": {"type": "boolean"}}),
]}
ANTHROPIC_THINKING: Schema = {"oneOf": [
    _obj(["type", "budget_tokens"], {"type": {"const": "enabled"}, "budget_tokens": {"type": "integer",
                                                                                      "minimum": 1024}}),
    _obj(["type"], {"type": {"const": "disabled"}})]}
ANTHROPIC_METADATA: Schema = _obj([], {"user_id": {"type": ["string", "null"]}})

# --- Ollama ---------------------------------------------------------------------------------------------------

OLLAMA_MESSAGES: Schema = {"type": "array", "minItems": 1, "items": {"oneOf": [
    _obj(["role", "content"], {"role": {"enum": ["system", "user"]}, "content": _STRING,
                               "images": {"type": "array", "items": BASE64}}),
    _obj(["role"], {"role": {"const": "assistant"}, "content": _STRING, "thinking": _STRING,
                    "tool_calls": {"type": "array", "items": _obj(["function"], {"function": _obj(
                        ["name", "arguments"], {"name": TOOL_NAME, "arguments": _OBJECT})})}}),
    _obj(["role", "content"], {"role": {"const": "tool"}, "content": _STRING, "tool_name": TOOL_NAME}),
]}}
OLLAMA_FORMAT: Schema = {"anyOf": [{"enum": ["", "json"]}, _OBJECT]}
OLLAMA_THINK: Schema = {"anyOf": [{"type": "boolean"}, {"enum": ["low", "medium", "high"]}]}
