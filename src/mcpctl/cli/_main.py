"""Root command group, global flags and the error boundary that keeps tracebacks from users."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import click

from mcpctl import __version__
from mcpctl._gc import one_shot_process, paused_gc
from mcpctl.errors import McpctlError, ValidationFailed

from ._commands import COMMANDS
from ._help import HELP, apply_help

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented lazy-group pattern).

    Listings and TAB completion of the names read the summaries from `_help.HELP`, so they import
    no command module at all.
    """

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self._helped: set[str] = set()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_subcommands:
            # Imports build classes and schemas that live as long as the process: collecting during
            # them finds nothing to free (measured: ~0.3 s CPU of the ~1 s a command's imports take).
            with paused_gc():
                importlib.import_module(f"{__package__}.{self.lazy_subcommands[cmd_name]}")
        command = self.commands.get(cmd_name)
        if command is not None and cmd_name not in self._helped:
            self._helped.add(cmd_name)
            apply_help(command, cmd_name)
        return command

    def summary(self, cmd_name: str) -> str:
        """The one-line summary of a subcommand, without importing it when it is not loaded."""
        if cmd_name in self.commands:
            return self.commands[cmd_name].get_short_help_str(limit=200)
        return HELP[cmd_name][0] if cmd_name in HELP else ""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.summary(name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        names = [
            CompletionItem(name, help=self.summary(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        # The options of the group itself (click.Command's completion, not Group's, which loads all).
        return names + click.Command.shell_complete(self, ctx, incomplete)


class ErrorBoundary(LazyGroup):
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
LONG_RUNNING = frozenset({"serve", "reconcile", "console", "mcp", "audit"})
"""Commands that run until stopped (`audit` with --follow); every other one ends with its work
(see mcpctl._gc)."""


def failures_exit_at_least(code: int) -> None:
    """Make every error of the running command exit with at least `code`.

    For commands whose exit 1 is an answer (`plan`: "there are changes", `auth can-i`: "no"), so a
    failure can never be read as one.
    """
    click.get_current_context().meta[MIN_EXIT_CODE] = code


@click.group(
    cls=ErrorBoundary,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="mcpctl")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative, GitOps-driven manager and gateway for MCP servers."""
    ctx.meta["mcpctl.debug"] = debug
    if ctx.invoked_subcommand not in LONG_RUNNING:
        one_shot_process()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mcpctl")  # also when started as `python -c` (completion reads _MCPCTL_COMPLETE)
