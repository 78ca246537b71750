"""The saved plan file: round trip, secrets, mode 0600, digests, refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mcpctl.errors import UsageError
from mcpctl.plan import load_plan, plan_digest, render_json, render_text, save_plan
from mcpctl.plan._planfile import _file_digest

from ._samples import scenario_plan


def test_saved_plan_round_trips_exactly(tmp_path: Path) -> None:
    plan = scenario_plan()
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_plan(path)
    assert loaded == plan
    assert plan_digest(loaded) == plan_digest(plan)
    assert render_text(loaded) == render_text(plan)
    time = next(c for c in loaded.changes if str(c.identity) == "Server/time")
    assert time.after is not None and time.after.spec.env["API_TOKEN"] == "new-secret"  # type: ignore[attr-defined]


def test_saving_over_a_readable_file_leaves_it_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("{}")
    path.chmod(0o644)
    save_plan(scenario_plan(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_plan(path) == scenario_plan()


def test_printed_json_cannot_be_applied_as_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "shown.json"
    path.write_text(render_json(scenario_plan()))
    with pytest.raises(UsageError, match="not a plan file written by `mcpctl plan -out`"):
        load_plan(path)


def test_saved_plan_without_its_sensitive_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(scenario_plan(), path)
    data = json.loads(path.read_text())
    for change in data["changes"]:
        change.pop("sensitive_values", None)
    data["digest"] = _file_digest(data)
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="sensitive values are missing"):
        load_plan(path)


def test_edited_saved_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(scenario_plan(), path)
    data = json.loads(path.read_text())
    deleted = next(c for c in data["changes"] if c["action"] == "delete")
    data["changes"].append({**deleted, "name": "someone-elses", "address": "Server/someone-elses"})
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="changed after `mcpctl plan -out` wrote it"):
        load_plan(path)


def test_saved_plan_without_a_store_generation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(scenario_plan(), path)
    data = json.loads(path.read_text())
    data["base_generation"] = None
    data["digest"] = _file_digest(data)  # even with a digest that matches
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="no store generation"):
        load_plan(path)


@pytest.mark.parametrize("content", ["not json", "[]", '{"format_version": "0"}', '{"format_version": "1"}'])
def test_bad_plan_files_are_usage_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError):
        load_plan(path)
