"""Sources: `-f` paths validated like `validate`, source names and managers, the Source protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from _samples import res
from mcpctl.errors import ValidationFailed
from mcpctl.reconciler import FileSource, Source, StaticSource, source_name_for_paths, source_name_for_repo
from mcpctl.schemas import gitops_manager

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


def test_file_source_loads_the_example_repo() -> None:
    state = FileSource((str(EXAMPLES),)).load()
    assert not state.errors and len(state.resources) > 20
    assert state.source == str(EXAMPLES) and state.manager == f"gitops:{EXAMPLES}"
    assert state.require_valid() is state


def test_invalid_files_carry_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: mcpctl.dev/v1\nkind: User\nmetadata:\n  name: Bad Name\n")
    state = FileSource((str(tmp_path),)).load()
    assert state.errors
    with pytest.raises(ValidationFailed) as caught:
        state.require_valid()
    assert [str(p) for p in caught.value.problems] == [str(p) for p in state.problems]
    assert str(tmp_path / "a.yaml") in str(caught.value.problems[0])


def test_source_names_are_order_independent_and_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert source_name_for_paths(["b", "a"]) == source_name_for_paths([str(tmp_path / "a"), "./b"])
    assert source_name_for_paths(["a"]) == str(tmp_path / "a")
    assert source_name_for_paths(["-"]) == "<stdin>"
    assert source_name_for_repo("https://git.example/org/repo.git") == "https://git.example/org/repo.git"
    assert (
        source_name_for_repo("https://git.example/r.git", "/envs/prod/")
        == "https://git.example/r.git//envs/prod"
    )
    assert source_name_for_repo("file:///r", ".") == "file:///r"
    assert gitops_manager("x") == "gitops:x"


def test_sources_satisfy_the_protocol() -> None:
    static = StaticSource("mem", (res("User", "a", {"email": "a@x.io"}),), revision="r1")
    assert isinstance(static, Source) and isinstance(FileSource(("x",)), Source)
    state = static.load()
    assert state.source == "mem" and state.revision == "r1" and len(state.resources) == 1
