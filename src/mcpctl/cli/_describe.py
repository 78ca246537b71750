"""`mcpctl describe KIND NAME`: one resource in detail, with the resources it relates to.

The relations come from `mcpctl.inventory`; `_describe_text` lays them out as text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ._completion import PROMPT_REQUEST, REQUEST_WORDS, KindType, complete_names, complete_projects
from ._main import cli
from ._options import database_option, open_store

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
    # The models, the inventory and the renderers load only now, so `describe --help` and TAB stay light.
    from mcpctl.inventory import Inventory, relations
    from mcpctl.reconciler import template_specs
    from mcpctl.schemas import McpToken

    from ._describe_text import describe_service_account, render_describe
    from ._get import find_or_catalog

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
