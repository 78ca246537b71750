"""Root command group, global flags and the error boundary that keeps tracebacks from users."""

from __future__ import annotations

import sys
from typing import Any

import click

from mcpctl import __version__
from mcpctl.errors import McpctlError, ValidationFailed


class ErrorBoundary(click.Group):
    """A group that turns McpctlError into one line on stderr and its exit code (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except McpctlError as error:
            if ctx.meta.get("mcpctl.debug"):
                raise
            from mcpctl.schemas import printable  # errors may quote file content; loaded only on error

            if isinstance(error, ValidationFailed):
                for problem in error.problems:
                    click.echo(printable(str(problem)), err=True)
            click.echo(printable(f"error: {error.detail}"), err=True)
            sys.exit(max(error.exit_code, ctx.meta.get(MIN_EXIT_CODE, 0)))


MIN_EXIT_CODE = "mcpctl.min_exit_code"


def failures_exit_at_least(code: int) -> None:
    """Make every error of the running command exit with at least `code`.

    For commands whose exit 1 is an answer (`plan`: "there are changes", `auth can-i`: "no"), so a
    failure can never be read as one.
    """
    click.get_current_context().meta[MIN_EXIT_CODE] = code


@click.group(cls=ErrorBoundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mcpctl")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative, GitOps-driven manager and gateway for MCP servers."""
    ctx.meta["mcpctl.debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli()
