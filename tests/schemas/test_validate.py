"""Tests of mcpctl.schemas._validate: schema errors at exact positions, cross references, warnings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mcpctl.errors import ValidationFailed
from mcpctl.schemas import KINDS, load_and_validate, load_text, validate_documents

FIXTURES = Path(__file__).parent / "fixtures"

# One golden file per invalid fixture: every problem, exactly as `mcpctl validate` prints it.
EXPECTED = {
    path.with_suffix(".yaml").name: path.read_text().splitlines()
    for path in sorted((FIXTURES / "invalid").glob("*.expected"))
}


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    # Problems name paths as given; relative paths keep the expectations short.
    monkeypatch.chdir(FIXTURES)


def test_valid_fixtures_cover_every_kind_and_validate_clean() -> None:
    result = load_and_validate(["valid"])
    assert result.problems == []
    assert result.valid
    assert {r.identity.kind for r in result.resources} == set(KINDS)
    assert result.documents == len(result.resources) == 16


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_fixture_reports_every_problem_at_its_position(name: str) -> None:
    result = load_and_validate(["valid", f"invalid/{name}"])
    assert [str(p) for p in result.problems] == EXPECTED[name]
    assert not result.valid


def test_every_kind_has_an_invalid_fixture() -> None:
    covered = set()
    for name in EXPECTED:
        for document in load_text((FIXTURES / "invalid" / name).read_text(), name).documents:
            covered.add(document.kind)
    assert set(KINDS) <= covered


def test_resources_carry_their_documents() -> None:
    result = load_and_validate(["valid"])
    by_name = {r.identity.name: r for r in result.resources}
    fetch = by_name["fetch"]
    assert fetch.document.path == "valid/servers.yaml"
    assert (fetch.document.line, fetch.document.col) == (15, 1)
    assert fetch.document.locate(("spec", "healthCheck", "intervalSeconds")) == (30, 22)
    assert result.models()[0] is result.resources[0].resource


def test_warnings_do_not_make_validation_fail() -> None:
    text = """apiVersion: mcpctl.dev/v1
kind: Server
metadata:
  name: db
spec:
  transport: stdio
  command: db-mcp
  env:
    DB_PASSWORD: hunter2
    LOG_LEVEL: debug
    API_KEY:
      fromEnv: API_KEY
"""
    loaded = load_text(text, "db.yaml")
    result = validate_documents(loaded.documents, loaded.problems)
    assert result.valid
    assert [str(p) for p in result.problems] == [
        "db.yaml:9:18: Server/db: spec.env.DB_PASSWORD: warning: literal value for secret-looking"
        " 'DB_PASSWORD'; use secretRef or fromEnv"
    ]
    assert result.warnings == result.problems
    assert result.errors == []


def test_raise_for_errors_carries_every_problem() -> None:
    result = load_and_validate(["valid", "invalid/project.yaml"])
    with pytest.raises(ValidationFailed) as raised:
        result.raise_for_errors()
    assert raised.value.problems == result.problems
    load_and_validate(["valid"]).raise_for_errors()


def test_stdin_documents_are_named_stdin() -> None:
    stdin = io.BytesIO(
        b"apiVersion: mcpctl.dev/v1\nkind: Group\nmetadata:\n  name: g\nspec:\n  members: [nobody]\n"
    )
    result = load_and_validate(["-"], stdin=stdin)
    expected = "<stdin>:6:13: Group/g: spec.members[0]: unknown User 'nobody'"
    assert [str(p) for p in result.problems] == [expected]


def test_token_expiry_must_be_a_real_date() -> None:
    stdin = io.BytesIO(
        b"apiVersion: mcpctl.dev/v1\nkind: McpToken\nmetadata:\n  name: t\n  project: p\n"
        b"spec:\n  expires: 2027-02-30\n"
    )
    problems = [str(p) for p in load_and_validate(["-"], stdin=stdin).problems]
    assert problems[0] == "<stdin>:7:12: McpToken/t: spec.expires: day is out of range for month"


def test_missing_path_is_a_problem_not_an_exception() -> None:
    result = load_and_validate(["no-such-dir"])
    assert [str(p) for p in result.problems] == ["no-such-dir: no such file or directory"]
    assert not result.valid


def test_template_instantiation_errors_are_reported_on_the_server() -> None:
    text = """apiVersion: mcpctl.dev/v1
kind: Template
metadata:
  name: cmd
spec:
  parameters:
    - name: key
      secret: true
  server:
    transport: stdio
    command: run
    args: ["--key={{ key }}"]
---
apiVersion: mcpctl.dev/v1
kind: Server
metadata:
  name: uses-cmd
spec:
  fromTemplate:
    name: cmd
    values:
      key:
        fromEnv: KEY
"""
    loaded = load_text(text, "t.yaml")
    result = validate_documents(loaded.documents, loaded.problems)
    assert [str(p) for p in result.problems] == [
        "t.yaml:19:3: Server/uses-cmd: spec.fromTemplate: template parameter 'key' takes a secret reference,"
        " so it may only stand alone as an env or header value"
    ]


def test_snake_case_keys_are_accepted_and_located() -> None:
    text = """apiVersion: mcpctl.dev/v1
kind: Project
metadata:
  name: p
spec:
  proxy_model: nope
"""
    loaded = load_text(text, "p.yaml")
    result = validate_documents(loaded.documents)
    assert [str(p) for p in result.problems] == [
        "p.yaml:6:16: Project/p: spec.proxy_model: unknown proxyModel 'nope':"
        " neither built in nor a ProxyModel"
    ]


def test_validation_speed_floor(tmp_path: Path) -> None:
    # benchmarks/validate_bench.py measures ~5,000 docs per CPU-second on a busy 2-core machine;
    # the floor catches a regression (a slow loader on the clean path) without depending on the
    # machine's load. Thread time, not process time: threads other tests left behind (servers,
    # watchers) must not count against validation.
    import importlib.util
    import time

    spec = importlib.util.spec_from_file_location(
        "validate_bench", FIXTURES.parents[2] / "benchmarks" / "validate_bench.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    count = bench.generate_repo(tmp_path, 2000, 100)
    rates = []
    for _ in range(3):  # the best of three: a busy machine only ever slows a run down
        started = time.thread_time()
        result = load_and_validate([str(tmp_path)])
        rates.append(count / (time.thread_time() - started))
        assert result.valid and result.documents == count == 2000
    assert max(rates) >= 3000, f"{max(rates):.0f} docs per CPU-second"


def test_a_token_expiring_in_the_past_is_a_warning() -> None:
    text = (
        "apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: p\n---\n"
        "apiVersion: mcpctl.dev/v1\nkind: McpToken\nmetadata:\n  name: old\n  project: p\n"
        "spec:\n  expires: 2020-01-01\n---\n"
        "apiVersion: mcpctl.dev/v1\nkind: McpToken\nmetadata:\n  name: new\n  project: p\n"
        "spec:\n  expires: 2999-01-01\n"
    )
    result = load_and_validate(["-"], stdin=io.BytesIO(text.encode()))
    assert result.valid
    assert [str(p) for p in result.warnings] == [
        "<stdin>:12:12: McpToken/old: spec.expires: warning: expires 2020-01-01 is in the past: "
        "the token would be created already expired"
    ]
