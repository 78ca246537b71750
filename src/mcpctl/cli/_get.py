"""`mcpctl get KIND [NAME...]`: list or show live resources as a table, YAML, JSON or `kind/name`.

A thin command: selection by project and labels, then one of the `_output` renderers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from mcpctl.errors import ResourceNotFound, UsageError

from ._completion import PROMPT_REQUEST, REQUEST_WORDS, KindType, complete_names, complete_projects
from ._kinds import KIND_SCOPES
from ._main import cli
from ._options import OUTPUT_FORMATS, database_option, open_store

if TYPE_CHECKING:
    from mcpctl.inventory import Inventory
    from mcpctl.schemas import LiveResource, Template
    from mcpctl.store import Store

    from ._output import Column


def parse_selector(selectors: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """`-l a=b,c!=d,e` → [(a, "=", b), (c, "!=", d), (e, "exists", None)]."""
    terms: list[tuple[str, str, str | None]] = []
    for selector in selectors:
        for term in filter(None, (part.strip() for part in selector.split(","))):
            for operator in ("!=", "==", "="):
                if operator in term:
                    key, value = term.split(operator, 1)
                    terms.append((key.strip(), "!=" if operator == "!=" else "=", value.strip()))
                    break
            else:
                terms.append((term, "exists", None))
    if any(not key for key, _, _ in terms):
        raise UsageError(f"bad label selector {','.join(selectors)!r}: use key=value, key!=value or key")
    return terms


def matches(live: LiveResource, terms: Sequence[tuple[str, str, str | None]]) -> bool:
    """Whether a resource's labels satisfy every selector term."""
    labels = live.resource.metadata.labels
    for key, operator, value in terms:
        if operator == "exists" and key not in labels:
            return False
        if operator == "=" and labels.get(key) != value:
            return False
        if operator == "!=" and labels.get(key) == value:
            return False
    return True


class GetKind(KindType):
    """A KIND, or prompt requests (store-only records of `propose_prompt`)."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str) and value.lower() in REQUEST_WORDS:
            return PROMPT_REQUEST
        return super().convert(value, param, ctx)


@cli.command("get")
@click.argument("kind", type=GetKind())
@click.argument("names", nargs=-1, shell_complete=complete_names)
@click.option(
    "-p",
    "--project",
    metavar="PROJECT",
    shell_complete=complete_projects,
    help="Only resources of this project (project-scoped kinds).",
)
@click.option(
    "-A", "--all-projects", is_flag=True, help="Resources of every project (the default without -p)."
)
@click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-l",
    "--selector",
    multiple=True,
    metavar="KEY=VALUE",
    help="Label selector (key=value, key!=value, key; comma-separated or repeated).",
)
@database_option
def get(
    kind: str,
    names: tuple[str, ...],
    project: str | None,
    all_projects: bool,
    fmt: str,
    selector: tuple[str, ...],
    database_url: str | None,
) -> None:
    """Show live resources of KIND: all of them, or the NAMEs given.

    KIND is singular, plural, short or the Kind: server|servers|srv, template|tpl, project|proj,
    prompt|pr, user|usr, group|grp, rolebinding|rb, mcptoken|token|tok, proxymodel|pm; and
    promptrequests|preq (prompts sessions proposed, waiting for `mcpctl approve` or `reject`).
    """
    if project and all_projects:
        raise UsageError("-p/--project and -A/--all-projects cannot be used together")
    if kind == PROMPT_REQUEST:
        from ._promptrequest import show_requests

        show_requests(project, fmt, database_url, names)
        return
    # The models, the store and the renderers load only now, so `get --help` and TAB stay light.
    from mcpctl.inventory import Inventory
    from mcpctl.reconciler import template_specs
    from mcpctl.schemas import builtin_templates

    from ._output import render

    terms = parse_selector(selector)
    scoped = KIND_SCOPES[kind] != "global"
    store = open_store(database_url, read_only=True)
    extra: list[Column] = []
    try:
        # Templates say which template values of a Server are secret (masked in -o yaml/json).
        documents = kind == "Server" and fmt in ("yaml", "json")
        templates = template_specs(t.resource for t in store.list_resources("Template")) if documents else {}
        if kind == "Prompt" and fmt in ("table", "wide"):
            extra.append(link_status_column(store))
        if kind == "McpToken" and fmt in ("table", "wide"):
            extra.append(_prefix_column(store))
            extra.append(last_used_column(store.tokens_last_used(project if scoped else None)))
        if names:
            inventory = Inventory(store)
            rows = [find_or_catalog(inventory, kind, name, project if scoped else None) for name in names]
        else:
            rows = sorted(
                store.list_resources(kind, project if scoped else None),
                key=lambda r: (r.identity.project or "", r.identity.name),
            )
            if kind == "Template":
                stored = {live.identity.name for live in rows}
                rows += [_catalog(t) for name, t in builtin_templates().items() if name not in stored]
    finally:
        store.close()
    rows = [live for live in rows if matches(live, terms)]
    if not rows and fmt in ("table", "wide", "name"):
        where = f" in project {project}" if project and scoped else ""
        click.echo(f"No resources found{where}.", err=True)
        return
    single = len(names) == 1 and len(rows) == 1
    click.echo(render(kind, rows, fmt, single=single, extra=extra, templates=templates))


def last_used_column(last_used: Mapping[tuple[str, str], datetime]) -> Column:
    """LAST USED of tokens: how long ago the gateway last accepted each (`never` if it has not)."""
    from ._output import Column, age

    now = datetime.now(UTC)

    def cell(live: LiveResource) -> str:
        moment = last_used.get((live.identity.project or "", live.identity.name))
        return "never" if moment is None else age(moment, now)

    return Column("LAST USED", cell)


def link_status(link_target: str | None, servers: set[str], projects: Mapping[str, set[str]]) -> str:
    """Whether a prompt's `linkTarget` points at something the store holds: `-` for inline prompts,
    else `missing-project`, `missing-server`, `not-in-project` (the project does not serve that server)
    or `ok`. Only the store is asked: whether the server answers is the gateway's to say (its probes)."""
    from mcpctl.schemas import LINK_TARGET

    if link_target is None:
        return "-"
    match = LINK_TARGET.match(link_target)
    if match is None:
        return "invalid"
    if match["project"] not in projects:
        return "missing-project"
    if match["server"] not in servers:
        return "missing-server"
    return "ok" if match["server"] in projects[match["project"]] else "not-in-project"


def link_status_column(store: Store) -> Column:
    """STATUS of `get prompts`: the link health of `linkTarget` prompts, from what the store holds."""
    from mcpctl.schemas import Project, Prompt

    from ._output import Column

    servers = {live.identity.name for live in store.list_resources("Server")}
    projects = {
        live.identity.name: set(live.resource.spec.servers)
        for live in store.list_resources("Project")
        if isinstance(live.resource, Project)
    }

    def cell(live: LiveResource) -> str:
        prompt = live.resource
        return link_status(prompt.spec.link_target if isinstance(prompt, Prompt) else None, servers, projects)

    return Column("STATUS", cell)


def _catalog(template: Template) -> LiveResource:
    """A template of the built-in catalog, as `get` shows one the store does not hold."""
    from mcpctl.schemas import BUILTIN_MANAGER, LiveResource

    return LiveResource(template, managed_by=BUILTIN_MANAGER)


def find_or_catalog(inventory: Inventory, kind: str, name: str, project: str | None) -> LiveResource:
    """The named stored resource, or the catalog template of that name (stored ones come first)."""
    try:
        return inventory.find(kind, name, project)
    except ResourceNotFound:
        from mcpctl.schemas import (
            API_VERSION,
            BUILTIN_MANAGER,
            LiveResource,
            ProxyModel,
            builtin_proxy_model,
            builtin_templates,
        )

        if kind == "Template" and name in builtin_templates():
            return _catalog(builtin_templates()[name])
        if kind == "ProxyModel" and (spec := builtin_proxy_model(name)) is not None:
            # The built-ins as a project with default pagination runs them (describe project shows its own).
            model = ProxyModel.model_validate(
                {
                    "apiVersion": API_VERSION,
                    "metadata": {"name": name},
                    "spec": spec.model_dump(by_alias=True),
                }
            )
            return LiveResource(model, managed_by=BUILTIN_MANAGER)
        raise


def _prefix_column(store: Store) -> Column:
    """PREFIX of `get mcptokens`: the display prefix of each value, which only the store keeps."""
    from ._output import Column

    prefixes = {(r.project, r.name): r.prefix for r in store.token_records()}
    return Column("PREFIX", lambda live: prefixes.get((live.identity.project or "", live.identity.name), ""))
