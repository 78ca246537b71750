"""JSON Schemas of every kind, generated from the models, for editors and generic CI validators.

`schema_files()` is the single source of the files committed under `schemas/` at the repo root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._field_docs import DocumentedJsonSchema
from ._resource import KINDS, RESOURCE_ADAPTER

SCHEMA_BASE_URL = "https://mcpctl.dev/schemas/v1/"
"""Prefix of every published schema's `$id`."""
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ALL_KINDS_FILE = "all.json"
"""File name of the schema that accepts a document of any kind."""


def schema_file_name(kind: str) -> str:
    """`Server` → `server.json`."""
    return f"{kind.lower()}.json"


def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind's documents."""
    schema = KINDS[kind].model_json_schema(
        by_alias=True, mode="validation", schema_generator=DocumentedJsonSchema
    )
    _require_kind(schema)
    return _publish(schema, schema_file_name(kind), f"A mcpctl {kind} document (apiVersion mcpctl.dev/v1).")


def all_kinds_schema() -> dict[str, Any]:
    """The JSON Schema of a document of any kind (one of the kinds, chosen by `kind`)."""
    schema = RESOURCE_ADAPTER.json_schema(
        by_alias=True, mode="validation", schema_generator=DocumentedJsonSchema
    )
    for kind in KINDS:
        _require_kind(schema["$defs"][kind])
    schema["title"] = "mcpctl resource"
    return _publish(schema, ALL_KINDS_FILE, "Any mcpctl resource document; `kind` selects the schema.")


def schema_files() -> dict[str, str]:
    """Every published schema file: name → content (stable: sorted keys, indent 2, final newline)."""
    files = {schema_file_name(kind): render_schema(kind_schema(kind)) for kind in KINDS}
    files[ALL_KINDS_FILE] = render_schema(all_kinds_schema())
    return files


def render_schema(schema: dict[str, Any]) -> str:
    """A schema as the text committed to the repository."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(directory: str | Path) -> list[Path]:
    """Write every schema file into `directory` (created if needed); returns the paths written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, content in schema_files().items():
        path = target / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def _require_kind(schema: dict[str, Any]) -> None:
    # `kind` has a default in the models (each model knows its own kind), but a document must say it.
    required = schema.setdefault("required", [])
    for key in ("apiVersion", "kind"):
        if key not in required:
            required.insert(0, key)


def _publish(schema: dict[str, Any], file_name: str, description: str) -> dict[str, Any]:
    _drop_property_titles(schema)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = SCHEMA_BASE_URL + file_name
    schema.setdefault("description", description)
    return schema


def _drop_property_titles(node: Any) -> None:
    # pydantic titles fields "Intervalseconds"; the YAML key and its description say more.
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for value in properties.values():
                if isinstance(value, dict):
                    value.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_property_titles(value)
