"""`mcpctl describe KIND NAME`: one resource in detail, with the resources it relates to.

The relations come from `mcpctl.inventory`; this module only lays them out as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import click

from mcpctl.errors import ResourceNotFound
from mcpctl.inventory import (
    Inventory,
    Section,
    permission_sections,
    policy_of,
    relations,
    token_expiry,
    token_status,
)
from mcpctl.policy import SubjectRef
from mcpctl.reconciler import template_specs
from mcpctl.schemas import LiveResource, McpToken, TemplateSpec, as_utc, printable

from ._completion import PROMPT_REQUEST, REQUEST_WORDS, KindType, complete_names, complete_projects
from ._get import find_or_catalog
from ._main import cli
from ._options import database_option, open_store
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


SERVICE_ACCOUNT_WORDS = ("serviceaccount", "serviceaccounts", "sa", "ServiceAccount")
"""Service accounts are no stored kind (role bindings name them), but `describe` shows them too."""


class DescribeKind(KindType):
    """A KIND, or a service account."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value in SERVICE_ACCOUNT_WORDS:
            return "ServiceAccount"
        if isinstance(value, str) and value.lower() in REQUEST_WORDS:
            return PROMPT_REQUEST
        return super().convert(value, param, ctx)


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


@cli.command("describe")
@click.argument("kind", type=DescribeKind())
@click.argument("name", shell_complete=complete_names)
@click.option(
    "-p",
    "--project",
    metavar="PROJECT",
    shell_complete=complete_projects,
    help="Project of a project-scoped resource (needed only when the name is in several).",
)
@database_option
def describe(kind: str, name: str, project: str | None, database_url: str | None) -> None:
    """Show one resource in detail with its relations.

    A project's servers (present or missing), prompts, tokens and bindings; a server's projects and
    template; a user's, group's, token's or service account's effective permissions, each with where
    it comes from (direct, via group, cloned from the owner, narrowed by); a token's status; a
    group's members; a template's servers.
    """
    if kind == PROMPT_REQUEST:
        from ._promptrequest import describe_request

        describe_request(name, project, database_url)
        return
    now = datetime.now(UTC)
    store = open_store(database_url, read_only=True)
    try:
        inventory = Inventory(store)
        if kind == "ServiceAccount":
            click.echo(describe_service_account(inventory, name))
            return
        live = find_or_catalog(inventory, kind, name, project)
        sections = relations(inventory, live, now)
        kept = inventory.of_kind("Template") if live.identity.kind == "Server" else []
        templates = template_specs(t.resource for t in kept)
        record = (
            store.token_record(live.identity.project or "", live.identity.name)
            if isinstance(live.resource, McpToken)
            else None
        )
    finally:
        store.close()
    click.echo(
        render_describe(
            live,
            sections,
            now,
            templates,
            record.prefix if record else None,
            record.last_used_at if record else None,
        )
    )
