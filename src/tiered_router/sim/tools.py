"""Tool definitions as the simulator reads them, and the arguments it makes up for a call: valid ones from a
JSON schema, broken ones for [[sim:bad-tool-args]], and their streamed pieces."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SimTool:
    """A tool the request offers: its name and the JSON schema of its arguments."""

    name: str
    schema: Mapping[str, Any]


_EXAMPLES: dict[str, Any] = {"string": "Balmora", "integer": 3, "number": 1.5, "boolean": True, "array": [],
                             "object": {}, "null": None}


def example_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy ``schema`` (an object schema): every property, with a value of its type."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {name: example_value(spec) for name, spec in props.items() if isinstance(spec, Mapping)}


def example_value(spec: Mapping[str, Any]) -> Any:
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return spec["enum"][0]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return example_arguments(spec)
    if kind == "array" and isinstance(spec.get("items"), Mapping):
        return [example_value(spec["items"])]
    return _EXAMPLES.get(str(kind), "Balmora")


def bad_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments that break ``schema``: a required key missing, or else a value of the wrong type."""
    args = example_arguments(schema)
    required = [r for r in schema.get("required") or () if r in args]
    if required:
        del args[required[0]]
        return args
    for key, value in args.items():
        args[key] = 12345 if isinstance(value, str) else "not a " + type(value).__name__
        return args
    return {"unexpected": [1, 2, 3]}


def function_tools(tools: Any) -> tuple[SimTool, ...]:
    """OpenAI's and Ollama's ``tools``: [{"type": "function", "function": {name, parameters}}]."""
    out = []
    for t in tools if isinstance(tools, list) else ():
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out.append(SimTool(fn["name"], params if isinstance(params, dict) else {}))
    return tuple(out)


def tool_texts(tools: Any) -> list[str]:
    """The tool definitions as text, for the prompt token count (servers count them as prompt)."""
    return [json.dumps(t, separators=(",", ":")) for t in tools] if isinstance(tools, list) and tools else []


def argument_pieces(arguments: str, n: int = 3) -> list[str]:
    """A call's arguments cut into ``n`` pieces, as a server streams them."""
    step = max(1, -(-len(arguments) // n))
    return [arguments[i:i + step] for i in range(0, len(arguments), step)] or [""]
