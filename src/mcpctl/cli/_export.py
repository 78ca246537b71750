"""`mcpctl export DIR`: write the live store as a config repo (round-trip: existing files keep comments)."""

from __future__ import annotations

from pathlib import Path

import click

from mcpctl.errors import UsageError
from mcpctl.reconciler import dump_documents, export_resources, to_yaml_value
from mcpctl.schemas import Identity

from ._completion import KIND
from ._main import cli
from ._options import database_option, open_store


@cli.command("export")
@click.argument("directory", metavar="DIR")
@click.option("-p", "--project", default=None, help="Only this project's resources (and the project).")
@click.option(
    "--kind", "kinds", type=KIND, multiple=True, metavar="KIND", help="Only these kinds; repeatable."
)
@database_option
def export_command(
    directory: str, project: str | None, kinds: tuple[str, ...], database_url: str | None
) -> None:
    """Write the live store as a config repo in DIR (or as YAML on stdout with DIR `-`).

    Files already in DIR are edited in place, keeping comments and key order; resources no longer
    live are removed from them. No secret values are ever written: secrets stay references and
    tokens are exported as their bindings, without values.
    """
    wanted = set(kinds)
    store = open_store(database_url)
    try:
        live = store.list_resources()
    finally:
        store.close()
    resources = [
        item.resource
        for item in live
        if (not wanted or item.identity.kind in wanted)
        and (project is None or project in (item.identity.project, _project_name(item.identity)))
    ]
    if directory == "-":
        click.echo(dump_documents([to_yaml_value(r.to_document()) for r in resources]), nl=False)
        return
    if project is not None or wanted:
        raise UsageError("-p and --kind need DIR `-`: a partial export into DIR drops other resources")
    result = export_resources(resources, Path(directory))
    click.echo(
        f"Exported {len(resources)} resource(s) to {directory}: {len(result.written)} file(s) written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed."
    )
    for name in result.written:
        click.echo(f"  wrote   {name}")
    for name in result.removed:
        click.echo(f"  removed {name}")


def _project_name(identity: Identity) -> str | None:
    return identity.name if identity.kind == "Project" else None
