"""Opening the store from the CLI: commands that only read never create or migrate one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mcpctl.cli import cli
from mcpctl.schemas import load_and_validate
from mcpctl.store import Store

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")


@pytest.mark.parametrize(
    "command",
    [
        ["get", "servers"],
        ["get", "server", "time"],
        ["describe", "project", "platform"],
        ["history"],
        ["export", "-"],
    ],
)
def test_read_only_commands_refuse_a_missing_sqlite_file(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo" / "x.db"
    result = CliRunner().invoke(cli, [*command, "--database-url", f"sqlite:///{missing}"])
    assert result.exit_code == 1, result.output
    assert f"error: no store at {missing}: the SQLite file does not exist" in result.stderr
    assert "mcpctl db upgrade" in result.stderr and "No resources found" not in result.output
    assert not missing.parent.exists()


def test_read_only_commands_do_not_migrate_an_empty_database(postgres_database_url: str) -> None:
    result = CliRunner().invoke(cli, ["get", "servers", "--database-url", postgres_database_url])
    assert result.exit_code == 1
    assert "holds no mcpctl store yet" in result.stderr and "mcpctl db upgrade" in result.stderr
    with Store.open(postgres_database_url) as store:  # migrating here shows there was nothing before
        assert store.history() == []


def test_plan_and_diff_use_an_empty_store_without_creating_one(tmp_path: Path) -> None:
    missing = tmp_path / "new" / "mcpctl.db"
    url = f"sqlite:///{missing}"
    plan_file = tmp_path / "plan.json"
    planned = CliRunner().invoke(cli, ["plan", "-f", EXAMPLES, "--database-url", url, "-out", str(plan_file)])
    assert planned.exit_code == 0, planned.output
    documents = load_and_validate([EXAMPLES]).documents
    assert f"Plan: {documents} to add" in planned.stdout
    assert f"note: no store at {missing}" in planned.stderr
    assert "planning against an empty store" in planned.stderr
    diff = CliRunner().invoke(cli, ["diff", "-f", EXAMPLES, "--database-url", url])
    assert diff.exit_code == 1 and f"Plan: {documents} to add" in diff.stdout
    assert not missing.parent.exists()
    # The saved plan was made at generation 0, which is where a new store starts: it applies.
    applied = CliRunner().invoke(cli, ["apply", str(plan_file), "--database-url", url])
    assert applied.exit_code == 0, applied.output
    assert f"{documents} added" in applied.stdout and missing.is_file()
    listed = CliRunner().invoke(cli, ["get", "servers", "--database-url", url])
    assert listed.exit_code == 0 and "time" in listed.stdout
