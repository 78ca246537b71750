"""`mcpctl validate PATH...`: syntax, schema and cross-reference checks of desired state, for CI.

Exit 0 when valid (warnings allowed), 1 when there is any error, 2 for bad usage.
"""

from __future__ import annotations

import json

import click

from mcpctl.errors import UsageError
from mcpctl.schemas import ValidationResult, load_and_validate, printable

from ._main import cli
from ._source_options import source_options, validate_repository


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, allow_dash=True))
@source_options
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def validate(
    ctx: click.Context, paths: tuple[str, ...], repo: str | None, ref: str | None, path: str | None, fmt: str
) -> None:
    """Check YAML files and directories (recursively; `-` for stdin) and print every problem.

    Problems print as `file:line:col: Kind/name: field: message`.
    """
    if (repo is None) == (not paths) or (repo is None and (ref or path)):
        raise UsageError("give PATH... or --repo URL [--ref REF] [--path SUBDIR]")
    result = validate_repository(repo, ref, path) if repo is not None else load_and_validate(paths)
    if fmt == "json":
        click.echo(render_json(result))
    else:
        for problem in result.problems:
            click.echo(printable(str(problem)), err=True)
        click.echo(summary(result))
    ctx.exit(0 if result.valid else 1)


def summary(result: ValidationResult) -> str:
    """`N documents, N errors, N warnings`."""
    errors = len(result.errors)
    warnings = len(result.problems) - errors
    return f"{result.documents} documents, {errors} errors, {warnings} warnings"


def render_json(result: ValidationResult) -> str:
    """The result as JSON: `{"valid", "documents", "errors", "warnings", "problems": [...]}`."""
    document = {
        "valid": result.valid,
        "documents": result.documents,
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "problems": [problem.to_dict() for problem in result.problems],
    }
    return json.dumps(document, indent=2)
