"""Tests of mcpctl.schemas._jsonschema: published schemas are current, valid, and agree with mcpctl."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mcpctl.schemas import KINDS, load_documents, schema_files
from mcpctl.schemas._jsonschema import SCHEMA_BASE_URL
from mcpctl.schemas._project import LINK_TARGET_PATTERN

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "schemas"
FIXTURES = Path(__file__).parent / "fixtures"


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((PUBLISHED / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schemas_are_current() -> None:
    # Regenerate with: mcpctl schema export schemas
    generated = schema_files()
    committed = {p.name: p.read_text() for p in PUBLISHED.glob("*.json")}
    assert sorted(committed) == sorted(generated)
    stale = [name for name in generated if committed[name] != generated[name]]
    assert stale == [], f"stale schemas (run `mcpctl schema export schemas`): {stale}"


def test_every_kind_has_a_schema_with_id_and_descriptions() -> None:
    for kind in KINDS:
        schema = json.loads((PUBLISHED / f"{kind.lower()}.json").read_text())
        assert schema["$id"] == f"{SCHEMA_BASE_URL}{kind.lower()}.json"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert {"apiVersion", "kind", "metadata"} <= set(schema["required"])
        assert schema["properties"]["kind"]["const"] == kind
        assert schema["description"]
        assert schema["$defs"]["Metadata"]["properties"]["name"]["description"]


def fixture_documents(folder: str) -> list[dict[str, Any]]:
    return [d.data for d in load_documents([str(FIXTURES / folder)]).documents]


@pytest.mark.parametrize("name", ["all.json", "per-kind"])
def test_valid_fixtures_pass_the_published_schemas(name: str) -> None:
    for document in fixture_documents("valid"):
        chosen = validator(name if name == "all.json" else f"{document['kind'].lower()}.json")
        assert list(chosen.iter_errors(document)) == [], document["metadata"]["name"]


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": "Server", "metadata": {"name": "s"}, "spec": {"transport": "stdio", "command": "x"}},
        {"apiVersion": "mcpctl.dev/v1", "kind": "Srever", "metadata": {"name": "s"}, "spec": {}},
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "User",
            "metadata": {"name": "Bad_Name"},
            "spec": {"email": "a@b.co"},
        },
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "User",
            "metadata": {"name": "u"},
            "spec": {"emial": "a@b.co"},
        },
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Prompt",
            "metadata": {"name": "p", "project": "x"},
            "spec": {"content": "c", "priority": 11},
        },
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Server",
            "metadata": {"name": "s"},
            "spec": {"transport": "stdio", "command": "x", "env": {"A": {"fromEnvv": "B"}}},
        },
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "McpToken",
            "metadata": {"name": "t", "project": "p"},
            "spec": {"bindings": [{"role": "view", "resource": "servers", "tools": ["git_log"]}]},
        },
    ],
)
def test_schema_level_errors_are_rejected_by_a_generic_validator_too(broken: dict[str, Any]) -> None:
    assert list(validator("all.json").iter_errors(broken))


def test_tool_scopes_of_run_rules_pass_a_generic_validator() -> None:
    rule = {"role": "run", "resource": "servers", "names": ["git"], "tools": ["git_log", "git_diff*"]}
    document = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "b"},
        "spec": {
            "subjects": [{"kind": "User", "name": "u"}],
            "rules": [rule, {"role": "view", "resource": "*"}],
        },
    }
    assert list(validator("rolebinding.json").iter_errors(document)) == []


def test_numbers_in_env_values_are_accepted_as_mcpctl_accepts_them() -> None:
    document = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Server",
        "metadata": {"name": "s"},
        "spec": {"transport": "stdio", "command": "x", "env": {"PORT": 8080, "DEBUG": True}},
    }
    assert list(validator("server.json").iter_errors(document)) == []


def test_a_generic_validator_is_never_stricter_than_mcpctl() -> None:
    # Over every fixture document: what the published schema rejects, mcpctl rejects too, so a CI job
    # with a generic validator never fails a repository that `mcpctl validate` accepts.
    from mcpctl.schemas._schema_errors import check_schema

    every = validator("all.json")
    documents = load_documents([str(FIXTURES / "valid"), str(FIXTURES / "invalid")]).documents
    both_reject = 0
    for document in documents:
        generic_rejects = bool(list(every.iter_errors(document.data)))
        resource, problems = check_schema(document)
        mcpctl_rejects = resource is None or any(p.is_error for p in problems)
        assert mcpctl_rejects or not generic_rejects, (document.path, document.line)
        both_reject += generic_rejects and mcpctl_rejects
    assert both_reject >= 15


CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
NODE = shutil.which("node")


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_an_outside_validator_accepts_the_schemas_and_the_examples(tmp_path: Path) -> None:
    # check-jsonschema checks `pattern` with its default (ECMA-262) regex engine, as editors do.
    files = sorted(str(p) for p in PUBLISHED.glob("*.json"))
    meta = subprocess.run([CHECK_JSONSCHEMA, "--check-metaschema", *files], capture_output=True, text=True)
    assert meta.returncode == 0, meta.stdout + meta.stderr
    loaded = load_documents([str(ROOT / "examples" / "config-repo")])
    assert loaded.documents and not loaded.problems
    instances = []
    for number, document in enumerate(loaded.documents):
        path = tmp_path / f"{number:03}-{document.kind}.json"
        path.write_text(json.dumps(document.data))
        instances.append(str(path))
    assert any("Prompt" in name for name in instances)
    run = [str(CHECK_JSONSCHEMA), "--schemafile", str(PUBLISHED / "all.json")]
    good = subprocess.run([*run, *instances], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "bad.json"
    prompt = {"apiVersion": "mcpctl.dev/v1", "kind": "Prompt", "metadata": {"name": "p", "project": "x"}}
    bad.write_text(json.dumps({**prompt, "spec": {"linkTarget": "Not A Target"}}))
    refused = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert refused.returncode == 1 and "linkTarget" in refused.stdout


@pytest.mark.skipif(NODE is None and not os.environ.get("CI"), reason="node is not installed")
def test_every_pattern_means_the_same_in_ecma_262_and_python() -> None:
    patterns = sorted({p for text in schema_files().values() for p in _patterns(json.loads(text))})
    samples = [
        "platform/git:file:///README.md",
        "a/b:c",
        "p-1/s.2:x",
        "P/s:x",
        "p/s:",
        "p/s: x",
        "p/-s:x",
        "mcpctl.dev/v1",
        "never",
        "30d",
        "2027-06-30",
        "2027-06-30T10:00:00Z",
        "time",
        "-bad",
        "a_b",
        "alice@example.com",
        "API_KEY",
        "https://x",
        "{{ url }}",
        "",
    ]
    script = (
        "const [patterns, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "console.log(JSON.stringify(patterns.map(p => { const r = new RegExp(p, 'u');"
        " return samples.map(s => r.test(s)); })));\n"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script],
        input=json.dumps([patterns, samples]),
        capture_output=True,
        text=True,
        check=True,
    )
    ecma = json.loads(done.stdout)
    python = [[re.search(p, s) is not None for s in samples] for p in patterns]
    assert ecma == python
    assert LINK_TARGET_PATTERN in patterns
