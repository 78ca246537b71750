"""`mcpctl db upgrade` on both databases, from flags, the environment and the default location."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcpctl.cli import cli
from mcpctl.store import Store
from mcpctl.store._migrate import head_revision


def test_upgrade_creates_and_reports_the_store(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert f"is at schema revision {head_revision()} (generation 0)" in result.stdout
    with Store.open(database_url, migrate=False) as store:
        assert store.schema_revision() == head_revision()


def test_upgrade_reads_the_environment(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPCTL_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    Store.open(database_url, migrate=False).close()


def test_upgrade_failure_is_one_line_without_secrets() -> None:
    url = "postgresql://admin:s3cret@127.0.0.1:1/mcpctl?connect_timeout=2"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: store upgrade failed")
    assert "s3cret" not in result.output + result.stderr
    assert "Traceback" not in result.stderr


def test_real_process_uses_the_default_location(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("MCPCTL_DATABASE_URL", None)
    done = subprocess.run(
        [_mcpctl(), "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    database = tmp_path / "data" / "mcpctl" / "mcpctl.db"
    assert database.is_file()
    assert f"store sqlite:///{database} is at schema revision {head_revision()}" in done.stdout


def _mcpctl() -> str:
    return str(Path(sys.executable).parent / "mcpctl")
