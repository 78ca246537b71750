"""What the gateway advertises of a tool so clients accept its page indexes and page answers.

A client that validates `structuredContent` against a tool's `outputSchema` (the Python SDK does) would
reject the gateway's index, so a tool's advertised output schema also admits the index and part shapes;
and a part fetch's arguments are declared (optional) in its input schema, for clients that check them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESULT_KEY, PAGE_KEY, SECTION_KEY = "_resultId", "_page", "_section"
RESERVED = frozenset({RESULT_KEY, PAGE_KEY, SECTION_KEY})
"""Argument names the gateway answers itself (an upstream tool never sees a call that has one)."""

_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
INDEX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The gateway's index of a long result kept in pages or sections (mcpctl).",
    "properties": {
        RESULT_KEY: {"type": "string"},
        "pages": _COUNT,
        "sections": _COUNT,
        "totalChars": _COUNT,
        "partChars": {"type": "array", "items": _COUNT},
        "titles": {"type": "array", "items": {"type": "string"}},
        "summary": {"type": "string"},
    },
    "required": [RESULT_KEY, "totalChars", "partChars", "titles"],
    "additionalProperties": False,
}
PART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One page or section of a long result, fetched from the gateway (mcpctl).",
    "properties": {
        RESULT_KEY: {"type": "string"},
        "page": _COUNT,
        "pages": _COUNT,
        "section": _COUNT,
        "sections": _COUNT,
    },
    "required": [RESULT_KEY],
    "anyOf": [{"required": ["page", "pages"]}, {"required": ["section", "sections"]}],
    "additionalProperties": False,
}
FETCH_PROPERTIES: dict[str, dict[str, Any]] = {
    RESULT_KEY: {
        "type": "string",
        "description": "Only to fetch part of a long result: the _resultId its index gave (then give "
        "_page or _section and no other argument).",
    },
    PAGE_KEY: {
        "type": "integer",
        "minimum": 1,
        "description": "Only with _resultId: the page to fetch (1-based).",
    },
    SECTION_KEY: {
        "type": "integer",
        "minimum": 1,
        "description": "Only with _resultId: the section to fetch (1-based).",
    },
}
_NOT_SCHEMAS = frozenset({"const", "enum", "default", "examples"})
"""Keywords whose values are data, not schemas: a `$ref` key inside them is not a reference."""


def _rebased(node: Any, prefix: str) -> Any:
    """`node` with every local `$ref` (`#…` JSON pointers) moved under `prefix`, data keywords untouched."""
    if isinstance(node, list):
        return [_rebased(item, prefix) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and (value == "#" or value.startswith("#/")):
            out[key] = prefix + value[1:]
        elif key in _NOT_SCHEMAS:
            out[key] = value
        else:
            out[key] = _rebased(value, prefix)
    return out


def advertised_output_schema(original: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The tool's own output schema or the gateway's index or part; None for a tool that declares none.

    The root stays `type: object` (MCP requires it); the original goes under `anyOf/0`, its local `$ref`s
    rebased there (unless it is a resource of its own, with an `$id`), and its `$schema` moved up so
    the client validates with the draft it was written for."""
    if original is None:
        return None
    nested = dict(original)
    dialect = nested.pop("$schema", None)
    if "$id" not in nested:
        nested = _rebased(nested, "#/anyOf/0")
    wrapped: dict[str, Any] = {"type": "object", "anyOf": [nested, INDEX_SCHEMA, PART_SCHEMA]}
    if isinstance(dialect, str):
        wrapped = {"$schema": dialect, **wrapped}
    return wrapped


def advertised_input_schema(original: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's input schema with the optional part-fetch arguments; a property it has keeps its own."""
    properties = original.get("properties")
    own: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    added = {key: schema for key, schema in FETCH_PROPERTIES.items() if key not in own}
    if not added:
        return dict(original)
    return {**original, "properties": {**own, **added}}
