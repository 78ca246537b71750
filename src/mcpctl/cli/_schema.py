"""`mcpctl schema export DIR` and `mcpctl schema reference`: the published JSON Schemas and field docs.

Both are generated from the models; `--check` turns either into a CI test that fails when stale.
"""

from __future__ import annotations

from pathlib import Path

import click

from mcpctl.errors import StaleFiles
from mcpctl.schemas import export_schemas, render_reference, schema_files

from ._main import cli


@cli.group("schema")
def schema() -> None:
    """JSON Schemas and the resource reference, generated from the models."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if DIR's schemas are missing or stale.")
def export(directory: Path, check: bool) -> None:
    """Write one JSON Schema per kind (server.json, ...) and all.json into DIRECTORY."""
    if check:
        stale = [
            name
            for name, content in schema_files().items()
            if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != content
        ]
        if stale:
            raise StaleFiles(f"stale or missing schema files in {directory}: {', '.join(stale)}")
        click.echo(f"{directory}: schemas are up to date")
        return
    for path in export_schemas(directory):
        click.echo(f"wrote {path}")


@schema.command("reference")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if FILE differs from the generated text.")
def reference(file: Path | None, check: bool) -> None:
    """Print the resource reference (Markdown), or write it to FILE (docs/resources.md)."""
    text = render_reference()
    if file is None:
        click.echo(text, nl=False)
    elif check:
        if not file.is_file() or file.read_text(encoding="utf-8") != text:
            raise StaleFiles(f"{file} is stale; regenerate it with `mcpctl schema reference {file}`")
        click.echo(f"{file} is up to date")
    else:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {file}")
