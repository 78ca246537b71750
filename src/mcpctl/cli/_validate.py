"""`mcpctl validate PATH...`: syntax, schema and cross-reference checks of desired state, for CI.

Exit 0 when valid (warnings allowed), 1 when there is any error, 2 for bad usage.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from mcpctl._gc import paused_gc
from mcpctl.errors import UsageError

from ._main import cli
from ._progress import progress
from ._source_options import source_options, validate_repository

if TYPE_CHECKING:
    from mcpctl.schemas import ValidationResult

# `schemas.Limits()` defaults and env names, written out so that `--help` loads no models;
# tests/cli/test_validate.py checks they are the schemas' own.
MAX_DOCUMENTS_HELP = "default 100,000; or MCPCTL_MAX_DOCUMENTS"
MAX_PROBLEMS_HELP = "default 1,000; or MCPCTL_MAX_PROBLEMS"


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, allow_dash=True))
@source_options
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--max-documents",
    type=int,
    default=None,
    metavar="N",
    help=f"Stop with an error past N documents ({MAX_DOCUMENTS_HELP}).",
)
@click.option(
    "--max-problems",
    type=int,
    default=None,
    metavar="N",
    help=f"Show at most N problems, stopping at the next error ({MAX_PROBLEMS_HELP}).",
)
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[str, ...],
    repo: str | None,
    ref: str | None,
    path: str | None,
    fmt: str,
    max_documents: int | None,
    max_problems: int | None,
) -> None:
    """Check YAML files and directories (recursively; `-` for stdin) and print every problem.

    Problems print as `file:line:col: Kind/name: field: message`.
    """
    if (repo is None) == (not paths) or (repo is None and (ref or path)):
        raise UsageError("give PATH... or --repo URL [--ref REF] [--path SUBDIR]")
    with paused_gc():  # not at import: `--help` stays light; paused: see LazyGroup.get_command
        from mcpctl.schemas import Limits, load_and_validate, printable

    limits = Limits.from_env(max_documents=max_documents, max_problems=max_problems)
    if repo is not None:
        result = validate_repository(repo, ref, path, limits=limits, show_progress=fmt != "json")
    else:
        with progress("Validating documents", enabled=fmt != "json") as tick:
            result = load_and_validate(paths, limits=limits, progress=tick)
    if fmt == "json":
        click.echo(render_json(result))
    else:
        for problem in result.problems:
            click.echo(printable(str(problem)), err=True)
        click.echo(summary(result))
    ctx.exit(0 if result.valid else 1)


def summary(result: ValidationResult) -> str:
    """`N documents, N errors, N warnings` (problems past the limit counted too)."""
    return f"{result.documents} documents, {result.error_count} errors, {result.warning_count} warnings"


def render_json(result: ValidationResult) -> str:
    """The result as JSON: `{"valid", "documents", "errors", "warnings", "problems": [...]}`."""
    document = {
        "valid": result.valid,
        "documents": result.documents,
        "errors": result.error_count,
        "warnings": result.warning_count,
        "omitted": result.omitted_errors + result.omitted_warnings,
        "problems": [problem.to_dict() for problem in result.problems],
    }
    return json.dumps(document, indent=2)
