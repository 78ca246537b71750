"""The root group: commands load on first use, so help and TAB completion import nothing heavy."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import click
import pytest

from mcpctl.cli import cli
from mcpctl.cli._commands import COMMANDS
from mcpctl.cli._help import HELP

HEAVY = ("sqlalchemy", "pydantic", "mcp", "httpx", "yaml", "git", "litestar", "alembic", "jsonschema")
"""Top-level packages that `mcpctl --help` and a TAB press must not import."""

PROBE = """
import json, sys
from mcpctl.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def _modules_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Top-level modules a fresh process has imported after running `mcpctl ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_store_models_or_sdk() -> None:
    loaded = _modules_after(["--help"])
    assert "click" in loaded  # the probe does see imports
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_tab_completion_of_commands_imports_no_store_models_or_sdk() -> None:
    env = {"_MCPCTL_COMPLETE": "bash_complete", "COMP_WORDS": "mcpctl ge", "COMP_CWORD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )
    assert done.stdout.split() == ["plain,get"]
    assert not _modules_after([], env) & set(HEAVY)


LIGHT_HELP = (
    "get",
    "describe",
    "delete",
    "export",
    "plan",
    "diff",
    "apply",
    "validate",
    "serve",
    "reconcile",
    "history",
    "create",
    "create server",
    "create mcptoken",
    "rotate",
    "rotate mcptoken",
    "auth",
    "auth can-i",
    "edit",
    "backup",
    "restore",
)
"""Commands (and subcommands) whose `--help` loads only the command's module and its options, like
`mcpctl --help`."""


@pytest.mark.parametrize("name", LIGHT_HELP)
def test_help_of_a_resource_command_imports_no_store_models_or_sdk(name: str) -> None:
    loaded = _modules_after([*name.split(), "--help"])
    assert "click" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize(
    ("words", "answer"), [("mcpctl get se", "plain,servers"), ("mcpctl describe tok", "plain,tokens")]
)
def test_tab_completion_of_kinds_imports_no_store_models_or_sdk(words: str, answer: str) -> None:
    env = {"_MCPCTL_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": "2"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )
    assert done.stdout.split() == [answer]
    assert not _modules_after([], env) & set(HEAVY)


def test_a_command_loads_when_used() -> None:
    # The first module-level import of a command module happens here, not at `import mcpctl.cli`.
    assert "validate" in cli.list_commands(click.Context(cli))
    command = cli.get_command(click.Context(cli), "validate")
    assert isinstance(command, click.Command) and command.name == "validate"
    assert command.short_help == HELP["validate"][0]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_is_registered_by_its_module(name: str) -> None:
    importlib.import_module(f"mcpctl.cli.{COMMANDS[name]}")
    assert name in cli.commands
    assert name in HELP  # the listing shows the summary without importing the module


def test_unknown_command_is_still_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from mcpctl.cli import main; main()", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "No such command 'nope'" in done.stderr
