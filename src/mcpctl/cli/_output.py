"""Renderers shared by the resource commands: kubectl-style tables, YAML/JSON documents and `kind/name`.

Pure functions from live resources to text; the commands only pick one and echo its result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from mcpctl.inventory import token_expiry, token_status
from mcpctl.schemas import (
    KINDS,
    SENSITIVE,
    Group,
    Identity,
    LiveResource,
    McpToken,
    Project,
    Prompt,
    ProxyModel,
    ResourceModel,
    RoleBinding,
    Server,
    ServerSpec,
    Template,
    TemplateSpec,
    ToolPins,
    User,
    mask_args,
    mask_url,
    masked,
    printable,
    sensitive_paths,
)

DOCUMENT_FORMATS = ("yaml", "json")
"""Values of `-o` for commands that print documents (`create`)."""
LIST_KIND = "List"
"""`kind` of the wrapper document around several resources, as kubectl's `kind: List`."""
_MAX_CELL = 60
M = TypeVar("M", bound=ResourceModel)


def age(moment: datetime | None, now: datetime) -> str:
    """kubectl-style age: `45s`, `12m`, `5h`, `3d`, `2y`; `<unknown>` without a timestamp."""
    if moment is None:
        return "<unknown>"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = max(0, int((now - moment).total_seconds()))
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


@dataclass(frozen=True)
class Column:
    """One table column: header, how to read its cell, and whether only `-o wide` shows it."""

    header: str
    cell: Callable[[LiveResource], str]
    wide: bool = False


def _server_target(spec: ServerSpec) -> str:
    if spec.from_template is not None:
        return f"template:{spec.from_template.name}"
    if spec.transport == "stdio":
        return " ".join([spec.command or "", *mask_args(spec.args)])
    return mask_url(spec.url or "", SENSITIVE)


def _keys(mapping: dict[str, Any]) -> str:
    # Only keys: env and header values may be literal credentials.
    return ",".join(sorted(mapping))


def _as(model: type[M]) -> Callable[[LiveResource], M]:
    """A column's accessor of the live resource as its kind's model (COLUMNS are keyed by kind)."""

    def resource(live: LiveResource) -> M:
        assert isinstance(live.resource, model)
        return live.resource

    return resource


_server = _as(Server)
_template = _as(Template)
_project = _as(Project)
_prompt = _as(Prompt)
_user = _as(User)
_group = _as(Group)
_binding = _as(RoleBinding)
_token = _as(McpToken)
_proxy_model = _as(ProxyModel)
_pins = _as(ToolPins)


def _rules(binding: RoleBinding | McpToken) -> str:
    rules = binding.spec.rules if isinstance(binding, RoleBinding) else binding.spec.bindings
    return ",".join(f"{r.role}:{r.resource}" + (f"[{' '.join(r.names)}]" if r.names else "") for r in rules)


def expiry_text(live: LiveResource) -> str:
    """When a token stops working, as a UTC date and time (`2027-03-01T09:30Z`), or `never`."""
    expiry = token_expiry(_token(live).spec.expires, live.created_at)
    return expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if expiry is not None else "never"


COLUMNS: dict[str, list[Column]] = {
    "Server": [
        Column("TRANSPORT", lambda r: _server(r).spec.transport or "(template)"),
        Column("TARGET", lambda r: _server_target(_server(r).spec)),
        Column("ENV", lambda r: _keys(_server(r).spec.env), wide=True),
        Column("HEADERS", lambda r: _keys(_server(r).spec.headers), wide=True),
        Column("TOOLS", lambda r: ",".join(_server(r).spec.tool_filter.include) or "*", wide=True),
    ],
    "Template": [
        Column("VERSION", lambda r: _template(r).spec.version),
        Column("TRANSPORT", lambda r: _template(r).spec.server.transport or ""),
        Column("PARAMETERS", lambda r: str(len(_template(r).spec.parameters))),
        Column(
            "PARAMETER-NAMES",
            lambda r: ",".join(p.name + ("*" if p.required else "") for p in _template(r).spec.parameters),
            wide=True,
        ),
        Column("TARGET", lambda r: _server_target(_template(r).spec.server), wide=True),
    ],
    "Project": [
        Column("SERVERS", lambda r: ",".join(_project(r).spec.servers)),
        Column("PROXY-MODEL", lambda r: _project(r).spec.proxy_model),
        Column("LLM", lambda r: _project(r).spec.llm.model or "", wide=True),
        Column(
            "MAX-RESPONSE-CHARS", lambda r: str(_project(r).spec.pagination.max_response_chars), wide=True
        ),
        Column("INSTRUCTIONS", lambda r: _project(r).spec.instructions, wide=True),
    ],
    "Prompt": [
        Column("PRIORITY", lambda r: str(_prompt(r).spec.priority)),
        Column("SOURCE", lambda r: "link" if _prompt(r).spec.link_target else "inline"),
        Column("TAGS", lambda r: ",".join(_prompt(r).spec.tags)),
        Column("SUMMARY", lambda r: _prompt(r).spec.summary, wide=True),
        Column("LINK-TARGET", lambda r: _prompt(r).spec.link_target or "", wide=True),
    ],
    "User": [
        Column("EMAIL", lambda r: _user(r).spec.email),
        Column("DISPLAY-NAME", lambda r: _user(r).spec.display_name),
    ],
    "Group": [
        Column("MEMBERS", lambda r: str(len(_group(r).spec.members))),
        Column("MEMBER-NAMES", lambda r: ",".join(_group(r).spec.members), wide=True),
    ],
    "RoleBinding": [
        Column("SUBJECTS", lambda r: ",".join(f"{s.kind}/{s.name}" for s in _binding(r).spec.subjects)),
        Column("RULES", lambda r: str(len(_binding(r).spec.rules))),
        Column("RULE-LIST", lambda r: _rules(_binding(r)), wide=True),
        Column("OPERATIONS", lambda r: ",".join(o.action for o in _binding(r).spec.operations), wide=True),
    ],
    "McpToken": [
        Column("RBAC", lambda r: _token(r).spec.rbac),
        Column("EXPIRES", lambda r: expiry_text(r)),
        Column("STATUS", lambda r: token_status(r, datetime.now(UTC))),
        Column("OWNER", lambda r: _token(r).spec.owner or "", wide=True),
        Column("BINDINGS", lambda r: _rules(_token(r)), wide=True),
        Column("DESCRIPTION", lambda r: _token(r).spec.description, wide=True),
    ],
    "ProxyModel": [
        Column("STAGES", lambda r: ",".join(stage.type for stage in _proxy_model(r).spec.stages)),
    ],
    "ToolPins": [
        Column("TOOLS", lambda r: str(len(_pins(r).spec.tools))),
        Column("TOOL-NAMES", lambda r: ",".join(t.name for t in _pins(r).spec.tools), wide=True),
    ],
}
"""Kind-specific columns, between NAME/PROJECT and MANAGED-BY/AGE."""


def render_table(
    kind: str, rows: Sequence[LiveResource], *, wide: bool, now: datetime, extra: Sequence[Column] = ()
) -> str:
    """The `get` table for one kind: NAME, PROJECT (scoped kinds), kind columns, `extra` columns
    (facts kept beside the resource, such as a token's LAST USED), MANAGED-BY, AGE."""
    scoped = KINDS[kind].scope != "global"
    columns = [c for c in [*COLUMNS[kind], *extra] if wide or not c.wide]
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


def kind_word(kind: str) -> str:
    """The lowercase singular CLI word of a kind (`server`, `mcptoken`)."""
    return kind.lower()


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
