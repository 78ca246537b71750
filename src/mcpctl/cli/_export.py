"""`mcpctl export DIR`: write the live store as a config repo (round-trip: existing files keep comments)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mcpctl.errors import UsageError

from ._completion import KIND
from ._main import cli
from ._options import database_option, open_store

if TYPE_CHECKING:
    from mcpctl.reconciler import ExportResult
    from mcpctl.schemas import Identity


@cli.command("export")
@click.argument("directory", metavar="DIR")
@click.option("-p", "--project", default=None, help="Only this project's resources (and the project).")
@click.option(
    "--kind", "kinds", type=KIND, multiple=True, metavar="KIND", help="Only these kinds; repeatable."
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Write literal secret values in clear instead of withholding them (keep such a DIR out of git).",
)
@database_option
def export_command(
    directory: str,
    project: str | None,
    kinds: tuple[str, ...],
    include_secrets: bool,
    database_url: str | None,
) -> None:
    """Write the live store as a config repo in DIR (or as YAML on stdout with DIR `-`).

    Files already in DIR are edited in place, keeping comments and key order; resources no longer
    live are removed from them. Secret references stay references, tokens are exported as their
    bindings (their values are never stored), and literal secret values (a password in a URL, an
    API key in env, headers or args) are written as `<withheld>`, which validation refuses until
    each is replaced by a secretRef or fromEnv; the withheld fields are listed on stderr.
    """
    # The models and the YAML writer load only now, so `export --help` and TAB stay light.
    from mcpctl.reconciler import export_resources, export_stream, template_specs
    from mcpctl.schemas import printable

    wanted = set(kinds)
    store = open_store(database_url, read_only=True)
    try:
        live = store.list_resources()
    finally:
        store.close()
    live_templates = template_specs(item.resource for item in live)
    resources = [
        item.resource
        for item in live
        if (not wanted or item.identity.kind in wanted)
        and (project is None or project in (item.identity.project, _project_name(item.identity)))
    ]
    if directory == "-":
        text, streamed = export_stream(resources, live_templates, include_secrets=include_secrets)
        _report_secrets(streamed, "stdout")
        click.echo(printable(text), nl=False)
        return
    if project is not None or wanted:
        raise UsageError("-p and --kind need DIR `-`: a partial export into DIR drops other resources")
    result = export_resources(resources, Path(directory), include_secrets=include_secrets)
    _report_secrets(result, directory)
    click.echo(
        f"Exported {len(resources)} resource(s) to {directory}: {len(result.written)} file(s) written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed."
    )
    for name in result.written:
        click.echo(f"  wrote   {name}")
    for name in result.removed:
        click.echo(f"  removed {name}")


def _report_secrets(result: ExportResult, where: str) -> None:
    from mcpctl.schemas import WITHHELD

    if result.withheld:
        click.echo(
            f"Withheld {len(result.withheld)} literal secret value(s), written as {WITHHELD}: replace "
            "each with a secretRef or fromEnv (validation refuses the placeholder), or export again "
            "with --include-secrets:",
            err=True,
        )
        for entry in result.withheld:
            click.echo(f"  {entry}", err=True)
    if result.secrets_written:
        click.echo(
            f"warning: --include-secrets: {len(result.secrets_written)} literal secret value(s) written "
            f"in clear to {where}; keep them out of git:",
            err=True,
        )
        for entry in result.secrets_written:
            click.echo(f"  {entry}", err=True)


def _project_name(identity: Identity) -> str | None:
    return identity.name if identity.kind == "Project" else None
