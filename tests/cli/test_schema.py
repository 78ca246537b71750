"""Tests of `mcpctl schema export` and `mcpctl schema reference`, including their `--check` modes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mcpctl.cli import cli
from mcpctl.schemas import KINDS, render_reference, schema_files

ROOT = Path(__file__).resolve().parents[2]


def test_export_writes_one_schema_per_kind_and_all_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted([*(f"{k.lower()}.json" for k in KINDS), "all.json"])
    for name, content in schema_files().items():
        written = (tmp_path / "out" / name).read_text()
        assert written == content
        assert written.endswith("}\n")
        json.loads(written)


def test_export_check_passes_on_the_committed_schemas_and_fails_when_stale(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["schema", "export", "--check", str(ROOT / "schemas")]).exit_code == 0
    runner.invoke(cli, ["schema", "export", str(tmp_path)])
    (tmp_path / "user.json").write_text("{}\n")
    (tmp_path / "group.json").unlink()
    result = runner.invoke(cli, ["schema", "export", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert "group.json" in result.stderr and "user.json" in result.stderr
    assert "server.json" not in result.stderr


def test_reference_prints_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(cli, ["schema", "reference"])
    assert printed.exit_code == 0
    assert printed.stdout == render_reference()
    target = tmp_path / "docs" / "resources.md"
    assert runner.invoke(cli, ["schema", "reference", str(target)]).exit_code == 0
    assert target.read_text() == render_reference()
    assert runner.invoke(cli, ["schema", "reference", "--check", str(target)]).exit_code == 0
    target.write_text("old\n")
    assert runner.invoke(cli, ["schema", "reference", "--check", str(target)]).exit_code == 1
