"""`mcpctl edit KIND NAME` with $EDITOR set to a small script that plays the user's edits in turn."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mcpctl.cli import cli
from mcpctl.store import Store, hash_token

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")
EDITOR = """
import json, pathlib, sys
state = pathlib.Path(sys.argv[0]).with_suffix(".json")
steps = json.loads(state.read_text())
seen = pathlib.Path(sys.argv[0]).with_suffix(".seen")
target = pathlib.Path(sys.argv[1])
text = target.read_text()
seen.write_text(seen.read_text() + text + "\\n=====\\n" if seen.exists() else text + "\\n=====\\n")
for old, new in steps.pop(0):
    text = text.replace(old, new) if old else new
target.write_text(text)
state.write_text(json.dumps(steps))
"""


@pytest.fixture
def editor(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return script, tmp_path / "editor.seen"


def edit(url: str, editor: tuple[Path, Path], steps: list[list[tuple[str, str]]], *args: str) -> Result:
    """`mcpctl edit ARGS`; each round of the editor applies the next step's replacements."""
    script, _ = editor
    script.with_suffix(".json").write_text(json.dumps(steps))
    env = {"EDITOR": f"{sys.executable} {script}", "VISUAL": "", "MCPCTL_DATABASE_URL": url}
    return CliRunner().invoke(cli, ["edit", *args], env=env)


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> str:
    command = ["apply", "-f", EXAMPLES, "--yes", "--token-output", str(tmp_path / "tokens")]
    applied = CliRunner().invoke(cli, command, env={"MCPCTL_DATABASE_URL": database_url})
    assert applied.exit_code == 0, applied.output
    return database_url


def test_a_saved_edit_is_validated_and_applied_as_a_cli_change(url: str, editor: tuple[Path, Path]) -> None:
    result = edit(url, editor, [[("- UTC", "- Europe/Paris")]], "server", "time")
    assert result.exit_code == 0, result.output
    assert "server/time edited" in result.stdout and '~ Server "time"' in result.stdout
    with Store.open(url) as store:
        (live,) = [item for item in store.list_resources("Server") if item.identity.name == "time"]
        assert live.resource.spec.args == ["--local-timezone", "Europe/Paris"]  # type: ignore[attr-defined]
        assert live.managed_by == "cli" and store.history(1)[0].source == "cli"
    shown = editor[1].read_text()
    assert shown.startswith('# Edit Server "time"') and "command: mcp-server-time" in shown


def test_an_invalid_edit_reopens_with_the_problems_then_applies(url: str, editor: tuple[Path, Path]) -> None:
    broken = [("transport: stdio", "transport: carrier-pigeon"), ("- UTC", "- Asia/Tokyo")]
    steps = [broken, [("carrier-pigeon", "stdio")]]
    result = edit(url, editor, steps, "srv", "time")
    assert result.exit_code == 0, result.output
    rounds = editor[1].read_text().split("=====\n")
    assert "# error: line" not in rounds[0]
    assert "# error: line" in rounds[1] and "spec.transport" in rounds[1] and "carrier-pigeon" in rounds[1]
    problem = next(line for line in rounds[1].splitlines() if line.startswith("# error: line"))
    line = int(problem.split(":")[2])
    body = [row for row in rounds[1].splitlines() if not row.startswith("#")]
    assert "carrier-pigeon" in body[line - 1]  # the position points into what the user sees
    with Store.open(url) as store:
        (time,) = [item for item in store.list_resources("Server") if item.identity.name == "time"]
        args = time.resource.spec.args  # type: ignore[attr-defined]
    assert args == ["--local-timezone", "Asia/Tokyo"]


def test_unchanged_empty_or_renamed_edits_change_nothing(url: str, editor: tuple[Path, Path]) -> None:
    with Store.open(url) as store:
        generation = store.generation()
    unchanged = edit(url, editor, [[("", "")]], "server", "time")  # empty file
    assert unchanged.exit_code == 1 and "edit cancelled, no changes made" in unchanged.stderr
    same = edit(url, editor, [[("nothing-to-find", "x")]], "server", "time")
    assert same.exit_code == 1 and "cancelled" in same.stderr
    renamed = edit(url, editor, [[("name: time", "name: clock")], [("nothing", "")]], "server", "time")
    assert renamed.exit_code == 1
    assert "cannot change" in editor[1].read_text()
    with Store.open(url) as store:
        assert store.generation() == generation


def test_editing_a_token_spec_replaces_it_with_a_new_value(url: str, editor: tuple[Path, Path]) -> None:
    result = edit(url, editor, [[("expires: 90d", "expires: 30d")]], "token", "ci-bot", "-p", "platform")
    assert result.exit_code == 0, result.output
    value = result.stdout.strip().splitlines()[-1]
    assert value.startswith("mcpctl_pat_")
    with Store.open(url) as store:
        record = store.find_token(hash_token(value))
    assert record is not None and record.spec.expires == "30d"
    assert "a new value is issued" in editor[1].read_text()
