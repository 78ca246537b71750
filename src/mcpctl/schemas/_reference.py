"""The resource reference (docs/resources.md), rendered from the models and their docstrings.

A test keeps the committed file equal to `render_reference()`; regenerate with `mcpctl schema reference`.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ._base import API_VERSION, FromEnv, Metadata, ResourceModel, SecretKeyRef, SecretRef
from ._builtin import BUILTIN_MANAGER, BUILTIN_PREFIX, builtin_templates
from ._field_docs import field_description
from ._resource import KIND_ALIASES, KINDS

_LEAF_MODELS = (SecretRef, FromEnv, SecretKeyRef)
"""Models described once in their own section rather than expanded at every use."""
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SCOPES = {
    "global": "global (no `metadata.project`)",
    "project": "project (`metadata.project` required)",
    "either": "global or project (`metadata.project` optional)",
}


def render_reference() -> str:
    """Markdown reference of every kind: fields, types, defaults and descriptions."""
    out = [
        "# Resource reference",
        "",
        "<!-- Generated from the models by `mcpctl schema reference`; do not edit by hand. -->",
        "",
        f"Every document has `apiVersion: {API_VERSION}`, a `kind`, `metadata` and (for most kinds) a",
        "`spec`. Unknown fields are errors. Keys are camelCase. JSON Schemas of every kind are in",
        "[`schemas/`](../schemas/); see [validation.md](validation.md).",
        "",
        "Kinds, in dependency order (a kind only refers to kinds before it):",
        "",
    ]
    for kind, model in KINDS.items():
        out.append(f"- [{kind}](#{kind.lower()}) — {_doc(model)}")
    out += ["", "## metadata", "", _doc(Metadata), "", *_table(Metadata, "metadata.")]
    out += ["", "## Value references", ""]
    out.append(
        "`env` and `headers` values (and template parameter values) are a literal string or a reference "
        "resolved by the gateway at run time; secrets never live in YAML."
    )
    for leaf in _LEAF_MODELS:
        out += ["", f"### {leaf.__name__}", "", _doc(leaf), "", *_table(leaf, "")]
    for kind, model in KINDS.items():
        out += ["", *_kind_section(kind, model)]
    out += ["", *_catalog_section()]
    return "\n".join(out) + "\n"


def _catalog_section() -> list[str]:
    lines = [
        "## Built-in templates",
        "",
        f"mcpctl ships a catalog of Templates, named `{BUILTIN_PREFIX}<name>`. A Server can use one in",
        "`fromTemplate` without any Template document: validation checks its values against the catalog,",
        "and the desired state then carries the template, so `apply` stores it (owned by that source, and",
        "pruned with it once no server uses it) and the gateway runs it like any other. A Template of the",
        "same name in the desired state or the store takes precedence. `mcpctl get templates` lists the",
        f"catalog's with MANAGED-BY `{BUILTIN_MANAGER}`; `mcpctl create server NAME --from-template",
        f"{BUILTIN_PREFIX}time` stores the template along with the server. Secret parameters take a",
        "`secretRef` or `fromEnv`.",
        "",
        "```yaml",
        "apiVersion: mcpctl.dev/v1",
        "kind: Server",
        "metadata: {name: github}",
        "spec:",
        "  fromTemplate:",
        "    name: builtin.github",
        "    values:",
        "      authorization: {secretRef: {name: github, key: authorization}}",
        "```",
        "",
        "| Template | Transport | Parameters (`*` required, `!` secret) | Description |",
        "|---|---|---|---|",
    ]
    for name, template in builtin_templates().items():
        parameters = ", ".join(
            f"`{p.name}`" + ("*" if p.required else "") + ("!" if p.secret else "")
            for p in template.spec.parameters
        )
        lines.append(
            f"| `{name}` | {template.spec.server.transport} | {parameters or '-'} | "
            f"{_escape(template.metadata.description)} |"
        )
    return lines


def _kind_section(kind: str, model: type[ResourceModel]) -> list[str]:
    aliases = sorted(alias for alias, target in KIND_ALIASES.items() if target == kind)
    lines = [
        f"## {kind}",
        "",
        _doc(model),
        "",
        f"- Scope: {_SCOPES[model.scope]}",
        f"- CLI names: {', '.join(f'`{a}`' for a in aliases)}",
        f"- JSON Schema: [`schemas/{kind.lower()}.json`](../schemas/{kind.lower()}.json)",
    ]
    spec = model.model_fields.get("spec")
    if spec is not None:
        spec_models = _models_in(spec.annotation)
        if spec_models:
            lines += ["", _doc(spec_models[0]), "", *_table(spec_models[0], "spec.")]
    return lines


def _table(model: type[BaseModel], prefix: str) -> list[str]:
    rows = ["| Field | Type | Default | Description |", "|---|---|---|---|"]
    rows += _rows(model, prefix, seen=(model,))
    return rows


def _rows(model: type[BaseModel], prefix: str, seen: tuple[type[BaseModel], ...]) -> list[str]:
    rows: list[str] = []
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        rows.append(
            f"| `{key}` | {_escape(_type(info.annotation))} | {_escape(_default(info))} | "
            f"{_escape(field_description(model, name) or '')} |"
        )
        nested = [m for m in _models_in(info.annotation) if m not in _LEAF_MODELS and m not in seen]
        for sub in nested:
            item = "[]" if _is_list(info.annotation) else ""
            variant = _variant(sub) if len(nested) > 1 else ""
            rows += _rows(sub, f"{key}{item}{variant}.", (*seen, sub))
    return rows


def _variant(model: type[BaseModel]) -> str:
    # Members of a discriminated union are told apart by their `type`.
    info = model.model_fields.get("type")
    if info is not None and typing.get_origin(info.annotation) is Literal:
        return f"(type={'|'.join(str(a) for a in typing.get_args(info.annotation))})"
    return f"({model.__name__})"


def _doc(model: type[BaseModel]) -> str:
    return " ".join((inspect.getdoc(model) or "").split())


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(defaults below)"
        return f"`{json.dumps(value)}`"
    if info.default is PydanticUndefined or info.default is None:
        return ""
    return f"`{json.dumps(info.default)}`"


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin is list


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin is Literal or origin is None:
        return []
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin is dict:
        return _models_in(args[1]) if len(args) > 1 else []
    found: list[type[BaseModel]] = []
    for arg in args:
        found += [m for m in _models_in(arg) if m not in found]
    return found


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is Any or annotation is object:
        return "any"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is Literal:
        return " | ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        parts = [_type(a) for a in args if a is not type(None)]
        return " | ".join(dict.fromkeys(parts))
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map of {_type(args[0])} to {_type(args[1])}"
    return getattr(annotation, "__name__", str(annotation))
