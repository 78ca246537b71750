"""Export of resources as a config repo: layout, stable output, round-trip edits, and export → plan."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from mcpctl.reconciler._export import export_resources, layout_path
from mcpctl.schemas import ResourceModel, parse_resource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


def load_dir(directory: Path) -> list[ResourceModel]:
    yaml = YAML(typ="safe")
    found: list[ResourceModel] = []
    for path in sorted(directory.rglob("*.yaml")):
        found.extend(parse_resource(doc) for doc in yaml.load_all(path.read_text()) if doc)
    return found


def by_identity(resources: list[ResourceModel]) -> dict[object, ResourceModel]:
    return {r.identity: r for r in resources}


def test_example_repo_exports_into_its_own_layout(tmp_path: Path) -> None:
    resources = load_dir(EXAMPLES)
    result = export_resources(resources, tmp_path / "out")
    assert result.removed == [] and result.unchanged == []
    assert "servers/time.yaml" in result.written
    assert "projects/platform/project.yaml" in result.written
    assert "projects/platform/prompts/code-review.yaml" in result.written
    assert "rbac/users.yaml" in result.written and "rbac/bindings.yaml" in result.written
    assert "tokens/platform/ci-bot.yaml" in result.written
    assert by_identity(load_dir(tmp_path / "out")) == by_identity(resources)


def test_export_is_stable_and_idempotent(tmp_path: Path) -> None:
    resources = load_dir(EXAMPLES)
    export_resources(resources, tmp_path / "a")
    export_resources(list(reversed(resources)), tmp_path / "b")
    files_a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.yaml")}
    files_b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.yaml")}
    assert files_a == files_b
    again = export_resources(resources, tmp_path / "a")
    assert again.written == [] and again.removed == []
    assert len(again.unchanged) == len(files_a)


def test_export_over_the_example_repo_keeps_its_files_untouched(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    result = export_resources(load_dir(EXAMPLES), repo)
    assert result.written == [] and result.removed == []
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_export_edits_in_place_and_removes_what_is_gone(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo)
    resources = load_dir(EXAMPLES)
    project = next(r for r in resources if r.identity == ("Project", None, "platform"))
    changed = project.model_validate(
        {**project.to_document(), "spec": {**project.to_document()["spec"], "instructions": "Be brief."}}
    )
    gone = ("Prompt", "platform", "everything-architecture")
    kept = [changed if r is project else r for r in resources if r.identity != gone]
    result = export_resources(kept, repo)
    assert result.written == ["projects/platform/project.yaml"]
    assert result.removed == ["projects/platform/prompts/architecture.yaml"]
    text = (repo / "projects/platform/project.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../../../schemas/project.json\n")
    assert "Be brief." in text and "mcpctl repository itself" not in text
    assert "  labels: {team: platform}\n" in text  # flow style of untouched values kept
    assert by_identity(load_dir(repo)) == by_identity(kept)


def test_layout_paths() -> None:
    token = parse_resource(
        {"apiVersion": "mcpctl.dev/v1", "kind": "McpToken", "metadata": {"name": "t", "project": "p"}}
    )
    assert str(layout_path(token)) == "tokens/p/t.yaml"
