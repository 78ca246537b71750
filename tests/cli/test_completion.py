"""`mcpctl completion` scripts and dynamic completion of kinds, names and projects from the store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from mcpctl.cli import cli

from .test_get import res, seed

MCPCTL = str(Path(sys.executable).parent / "mcpctl")


def complete(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "mcpctl", "_MCPCTL_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.fixture
def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    seed(
        database_url,
        res("Server", "time", {"transport": "stdio", "command": "t"}),
        res("Server", "tools", {"transport": "stdio", "command": "t"}),
        res("Server", "web", {"transport": "stdio", "command": "w"}),
        res("Project", "alpha", {}),
        res("Project", "beta", {}),
        res("Prompt", "intro", {"content": "a"}, project="alpha"),
        res("Prompt", "guide", {"content": "b"}, project="beta"),
    )
    monkeypatch.setenv("MCPCTL_DATABASE_URL", database_url)
    return database_url


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "_MCPCTL_COMPLETE=bash_complete"),
        ("zsh", "#compdef mcpctl"),
        ("fish", "_MCPCTL_COMPLETE=fish_complete"),
    ],
)
def test_scripts_for_each_shell(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0 and marker in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    assert CliRunner().invoke(cli, ["completion", "tcsh"]).exit_code == 2


def test_kind_words() -> None:
    assert complete(["get"], "pro") == ["projects", "prompts", "proxymodels"]
    assert complete(["describe"], "")[:3] == ["groups", "mcptokens", "projects"]
    assert complete(["delete"], "tok") == ["tokens"]


def test_names_of_the_kind_typed(url: str) -> None:
    assert complete(["get", "servers"], "t") == ["time", "tools"]
    assert complete(["describe", "srv"], "") == ["time", "tools", "web"]
    assert complete(["delete", "server", "time"], "w") == ["web"]
    assert complete(["get", "prompts"], "") == ["guide", "intro"]
    assert complete(["get", "prompts", "-p", "beta"], "") == ["guide"]
    assert complete(["get", "prompts", "-p"], "a") == ["alpha"]
    assert complete(["create", "prompt", "p", "-p"], "") == ["alpha", "beta"]
    assert complete(["get", "nonsense"], "") == []


def test_names_from_an_explicit_database_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCPCTL_DATABASE_URL")
    assert complete(["get", "servers", "--database-url", url], "w") == ["web"]


def test_no_store_gives_no_names_and_creates_nothing(tmp_path: Path) -> None:
    # The autouse fixture points the default store into tmp_path; it does not exist yet.
    assert complete(["get", "servers"], "") == []
    assert not list(tmp_path.rglob("*.db"))


def test_broken_store_gives_no_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_text("this is not sqlite")
    monkeypatch.setenv("MCPCTL_DATABASE_URL", f"sqlite:///{not_a_db}")
    assert complete(["get", "servers"], "") == []
    monkeypatch.setenv("MCPCTL_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert complete(["get", "servers"], "") == []


def test_bash_protocol_in_a_real_process(url: str) -> None:
    env = {
        **os.environ,
        "_MCPCTL_COMPLETE": "bash_complete",
        "COMP_WORDS": "mcpctl get servers t",
        "COMP_CWORD": "3",
    }
    done = subprocess.run([MCPCTL], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["plain,time", "plain,tools"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_loads_the_script(tmp_path: Path) -> None:
    script = tmp_path / "mcpctl.bash"
    script.write_text(CliRunner().invoke(cli, ["completion", "bash"]).stdout)
    done = subprocess.run(
        ["bash", "-c", f"source {script} && complete -p mcpctl"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "_mcpctl_completion" in done.stdout
