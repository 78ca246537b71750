"""The example config repo validates clean with mcpctl and with a generic JSON Schema validator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from mcpctl.schemas import load_and_validate, load_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "config-repo"
MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


def test_example_config_repo_validates_clean() -> None:
    result = load_and_validate([str(EXAMPLE)])
    assert [str(p) for p in result.problems] == []
    assert result.documents >= 20
    assert len({r.identity.kind for r in result.resources}) >= 8


def test_example_documents_pass_the_published_json_schemas() -> None:
    # The same check a CI job with check-jsonschema or any other validator makes.
    every = jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / "all.json").read_text()))
    documents = load_documents([str(EXAMPLE)]).documents
    assert documents
    for document in documents:
        assert document.kind, document.path
        per_kind = json.loads((ROOT / "schemas" / f"{document.kind.lower()}.json").read_text())
        assert list(every.iter_errors(document.data)) == [], document.path
        assert list(jsonschema.Draft202012Validator(per_kind).iter_errors(document.data)) == [], document.path


def test_schema_modelines_in_yaml_files_point_at_published_schemas() -> None:
    for path in [*EXAMPLE.rglob("*.yaml"), *(Path(__file__).parent / "fixtures").rglob("*.yaml")]:
        for target in MODELINE.findall(path.read_text()):
            assert (path.parent / target).resolve().is_file(), f"{path}: {target}"
