"""Renderers shared by the resource commands: kubectl-style tables, YAML/JSON documents and `kind/name`.

Pure functions from live resources to text; the commands only pick one and echo its result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mcpctl.schemas import Column as Column  # commands add their own columns (`get`'s LAST USED)
from mcpctl.schemas import (
    Identity,
    LiveResource,
    ResourceModel,
    TemplateSpec,
    as_utc,
    kind_info,
    masked,
    printable,
    sensitive_paths,
)

from ._kinds import kind_word

LIST_KIND = "List"
"""`kind` of the wrapper document around several resources, as kubectl's `kind: List`."""
_MAX_CELL = 60


def age(moment: datetime | None, now: datetime) -> str:
    """kubectl-style age: `45s`, `12m`, `5h`, `3d`, `2y`; `<unknown>` without a timestamp."""
    if moment is None:
        return "<unknown>"
    seconds = max(0, int((now - as_utc(moment)).total_seconds()))
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by three spaces, like kubectl; no trailing spaces."""
    cells = [list(headers), *[[_cell(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "   ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)


def _cell(value: str) -> str:
    value = printable(" ".join(value.split())) or "<none>"
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 3] + "..."


def render_table(
    kind: str, rows: Sequence[LiveResource], *, wide: bool, now: datetime, extra: Sequence[Column] = ()
) -> str:
    """The `get` table for one kind: NAME, PROJECT (scoped kinds), kind columns, `extra` columns
    (facts kept beside the resource, such as a token's LAST USED), MANAGED-BY, AGE."""
    info = kind_info(kind)
    scoped = info.scope != "global"
    columns = [c for c in [*info.columns, *extra] if wide or not c.wide]
    headers = ["NAME", *(["PROJECT"] if scoped else []), *(c.header for c in columns), "MANAGED-BY", "AGE"]
    if wide:
        headers.append("LABELS")
    body = []
    for live in rows:
        line = [live.identity.name, *([live.identity.project or "*"] if scoped else [])]
        line.extend(c.cell(live) for c in columns)
        line.extend([live.managed_by, age(live.created_at, now)])
        if wide:
            line.append(",".join(f"{k}={v}" for k, v in sorted(live.resource.metadata.labels.items())))
        body.append(line)
    return table(headers, body)


def slug(identity: Identity) -> str:
    """`kind/name`, as `get -o name` prints and `create`/`delete` report a resource."""
    return f"{kind_word(identity.kind)}/{identity.name}"


def render_names(rows: Sequence[LiveResource]) -> str:
    """`kind/name`, one per line."""
    return "\n".join(slug(live.identity) for live in rows)


def document(resource: ResourceModel, templates: Mapping[str, TemplateSpec] | None = None) -> dict[str, Any]:
    """The resource's document as `apply -f` reads it, with sensitive values shown as `(sensitive)`.

    `templates` (by name) say which template values of a Server are secret. Validation refuses a
    `(sensitive)` value, so a copy of this output cannot replace a real secret by mistake.
    """
    full = resource.to_document()
    return masked(full, sensitive_paths(full, templates or {}))


def list_document(
    resources: Sequence[ResourceModel], templates: Mapping[str, TemplateSpec] | None = None
) -> dict[str, Any]:
    """Several resources in one document, like kubectl's `kind: List`."""
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": LIST_KIND,
        "items": [document(resource, templates) for resource in resources],
    }


def render_documents(
    resources: Sequence[ResourceModel],
    fmt: str,
    *,
    single: bool,
    templates: Mapping[str, TemplateSpec] | None = None,
) -> str:
    """YAML or JSON: the one resource's document when `single`, else a List of them."""
    data = document(resources[0], templates) if single else list_document(resources, templates)
    if fmt == "json":
        return json.dumps(data, indent=2)
    return yaml_text(data)


def yaml_text(data: Any) -> str:
    """Plain data as block YAML in the house style (multi-line strings as `|` blocks), terminal-safe."""
    from mcpctl.reconciler import dump_documents, to_yaml_value

    # Unsafe strings are double-quoted by to_yaml_value, where a `\uXXXX` escape means the same.
    return printable(dump_documents([to_yaml_value(data)]).rstrip("\n"))


def render(
    kind: str,
    rows: Sequence[LiveResource],
    fmt: str,
    *,
    single: bool,
    now: datetime | None = None,
    extra: Sequence[Column] = (),
    templates: Mapping[str, TemplateSpec] | None = None,
) -> str:
    """Render `get` output in one of OUTPUT_FORMATS (`extra` columns go into tables only)."""
    if fmt in ("table", "wide"):
        return render_table(kind, rows, wide=fmt == "wide", now=now or datetime.now(UTC), extra=extra)
    if fmt == "name":
        return render_names(rows)
    return render_documents([live.resource for live in rows], fmt, single=single, templates=templates)
