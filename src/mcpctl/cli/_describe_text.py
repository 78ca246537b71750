"""The text of `mcpctl describe`: a resource's fields, its spec and the relation sections, as a table each.

Pure functions from inventory data to text, apart from the command so that `describe --help` and
TAB completion load none of the models they need.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mcpctl.errors import ResourceNotFound
from mcpctl.inventory import (
    Inventory,
    Section,
    permission_sections,
    policy_of,
)
from mcpctl.policy import SubjectRef
from mcpctl.schemas import LiveResource, McpToken, TemplateSpec, as_utc, printable, token_expiry, token_status

from ._output import age, document, table, yaml_text

_LABEL_WIDTH = 18


def _field(label: str, value: str) -> str:
    return f"{label + ':':<{_LABEL_WIDTH}}{printable(value)}"


def _mapping(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "<none>"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "<unknown>"
    moment = as_utc(moment)
    return f"{moment.isoformat(timespec='seconds')} ({age(moment, now)} ago)"


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line if line else line for line in text.splitlines())


def _spec_yaml(live: LiveResource, templates: Mapping[str, TemplateSpec]) -> str:
    # Sensitive values are shown as `(sensitive)`, as plans show them.
    spec = document(live.resource, templates).get("spec") or {}
    return yaml_text(spec) if spec else "{}"


def render_section(section: Section) -> str:
    """A relation table under its title, `<none>` when empty."""
    body = table(section.columns, section.rows) if section.rows else "<none>"
    return f"{section.title}:\n{_indent(body)}"


def render_describe(
    live: LiveResource,
    sections: list[Section],
    now: datetime,
    templates: Mapping[str, TemplateSpec] | None = None,
    token_prefix: str | None = None,
    token_last_used: datetime | None = None,
) -> str:
    """The `describe` text: header fields, token status, the spec as YAML, then each relation section."""
    meta = live.resource.metadata
    # A token's description is part of its spec (where `create mcptoken --description` puts it).
    spec_description = live.resource.spec.description if isinstance(live.resource, McpToken) else ""
    lines = [_field("Name", live.identity.name), _field("Kind", live.identity.kind)]
    if live.identity.project:
        lines.append(_field("Project", live.identity.project))
    lines += [
        _field("Description", meta.description or spec_description or "<none>"),
        _field("Labels", _mapping(meta.labels)),
        _field("Annotations", _mapping(meta.annotations)),
        _field("Managed-By", live.managed_by),
        _field("Source-Revision", live.source_revision or "<none>"),
        _field("Created", _when(live.created_at, now)),
        _field("Updated", _when(live.updated_at, now)),
        _field("Prevent-Destroy", str(live.prevent_destroy).lower()),
    ]
    if isinstance(live.resource, McpToken):
        expiry = token_expiry(live.resource.spec.expires, live.created_at)
        lines.append(_field("Status", token_status(live, now)))
        lines.append(_field("Expires-At", expiry.isoformat(timespec="seconds") if expiry else "never"))
        lines.append(_field("Token-Prefix", token_prefix or "<none>"))
        lines.append(_field("Last-Used", _when(token_last_used, now) if token_last_used else "never"))
    lines.append("Spec:")
    lines.append(_indent(_spec_yaml(live, templates or {})))
    lines.extend(render_section(section) for section in sections)
    return "\n".join(lines)


def describe_service_account(inventory: Inventory, name: str) -> str:
    """A service account: the role bindings naming it and its effective permissions."""
    policy = policy_of(inventory)
    subject = SubjectRef("ServiceAccount", name)
    if not policy.knows(subject):
        raise ResourceNotFound(f"ServiceAccount/{name} is not named by any role binding")
    bindings = Section("Role bindings", ("NAME", "PROJECT"))
    bindings.rows.extend((identity.name, identity.project or "*") for identity, _ in policy.reaching(subject))
    lines = [_field("Name", name), _field("Kind", "ServiceAccount")]
    sections = [bindings, *permission_sections(policy.permissions_of(subject))]
    lines.extend(render_section(section) for section in sections)
    return "\n".join(lines)
