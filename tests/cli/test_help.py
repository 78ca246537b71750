"""Help text: every command has a summary that `--help` never cuts, and examples that name it."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from mcpctl.cli import cli


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root group's commands load on first use
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL = sorted(commands(), key=lambda item: item[0])


def test_listings_show_whole_summaries() -> None:
    for path in [(), *(p for p, c in ALL if isinstance(c, click.Group))]:
        listing = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80).output
        assert "..." not in listing.split("Commands:")[-1], path


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_a_summary_and_examples(path: tuple[str, ...], command: click.Command) -> None:
    assert command.short_help and len(command.short_help) <= 45 and command.short_help.endswith(".")
    shown = CliRunner().invoke(cli, [*path, "--help"]).output
    assert "Examples:" in shown, path
    examples = [line.strip() for line in shown.split("Examples:")[1].splitlines() if line.strip()]
    assert examples
    for example in examples:
        assert any(runs(segment, path) is command for segment in example.split("|")), example


def runs(segment: str, path: tuple[str, ...]) -> click.Command | None:
    """The command a shell segment (`mcpctl ...`, `X=1 mcpctl ...`, `$(mcpctl ...)`) runs, if any."""
    words = shlex.split(segment.split("$(")[-1].split(")")[0])
    if "mcpctl" not in words:
        return None
    resolved: click.Command | None = cli
    ctx = click.Context(cli)
    # A kind word may stand for a `create`/`rotate` subcommand, as users type it.
    for word in words[words.index("mcpctl") + 1 : words.index("mcpctl") + 1 + len(path)]:
        resolved = resolved.get_command(ctx, word) if isinstance(resolved, click.Group) else None
    return resolved
