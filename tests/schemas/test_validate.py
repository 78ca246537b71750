"""Tests of mcpctl.schemas._validate: schema errors at exact positions, cross references, warnings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mcpctl.errors import ValidationFailed
from mcpctl.schemas import KINDS, load_and_validate, load_text, validate_documents

FIXTURES = Path(__file__).parent / "fixtures"

EXPECTED = {
    "document.yaml": [
        "invalid/document.yaml:1:13: Server/old: apiVersion: unknown apiVersion 'mcpctl.dev/v2'; expected mcpctl.dev/v1",
        "invalid/document.yaml:9:1: Srever/typo: apiVersion: 'apiVersion' is required (use mcpctl.dev/v1)",
        "invalid/document.yaml:9:7: Srever/typo: kind: unknown kind 'Srever'; did you mean 'Server'?",
        'invalid/document.yaml:13:1: a document must be a mapping (apiVersion, kind, ...), found a list',
        "invalid/document.yaml:16:1: kind: 'kind' is required (one of Template, Server, Project, Prompt, User, Group, RoleBinding, McpToken, ProxyModel)",
        "invalid/document.yaml:21:7: user/lower: kind: unknown kind 'user'; did you mean 'User'?",
    ],
    "mcptoken.yaml": [
        "invalid/mcptoken.yaml:5:12: McpToken/deploy: metadata.project: unknown Project 'team-q'; did you mean 'team-b'?",
        "invalid/mcptoken.yaml:7:10: McpToken/deploy: spec.owner: unknown User 'mallory'",
        "invalid/mcptoken.yaml:16:12: McpToken/expiring: spec.expires: must be 'never', a duration such as 30d, 12h or 4w, or an ISO date such as 2027-01-31",
        'invalid/mcptoken.yaml:23:1: McpToken/no-owner: spec: rbac: clone needs an owner',
        "invalid/mcptoken.yaml:35:15: McpToken/narrow: spec.bindings[0].names[0]: unknown Prompt 'guide' in project 'team-b'",
    ],
    "project.yaml": [
        "invalid/project.yaml:8:7: Project/team-c: spec.servers[1]: unknown Server 'tiem'; did you mean 'time'?",
        "invalid/project.yaml:9:7: Project/team-c: spec.servers[2]: unknown Server 'nothing-like-it'",
        "invalid/project.yaml:10:15: Project/team-c: spec.proxyModel: unknown proxyModel 'big-result': neither built in nor a ProxyModel; did you mean 'big-results'?",
        "invalid/project.yaml:18:3: Project/team-d: spec.proxy_modle: unknown field 'proxy_modle'; did you mean 'proxyModel'?",
        'invalid/project.yaml:20:23: Project/team-d: spec.pagination.maxResponseChars: Input should be greater than or equal to 1000',
        "invalid/project.yaml:29:7: ProxyModel/pipeline: spec.stages[1]: Input tag 'compress' found using 'type' does not match any of the expected tags: 'paginate', 'split-sections', 'summarize'",
        'invalid/project.yaml:36:3: ProxyModel/empty: spec.stages: List should have at least 1 item after validation, not 0',
    ],
    "prompt.yaml": [
        "invalid/prompt.yaml:5:12: Prompt/orphan: metadata.project: unknown Project 'team-z'; did you mean 'team-b'?",
        'invalid/prompt.yaml:17:13: Prompt/both: spec.priority: Input should be less than or equal to 10',
        "invalid/prompt.yaml:25:15: Prompt/links: spec.linkTarget: Server 'fetch' is not in project 'team-a'",
        'invalid/prompt.yaml:33:15: Prompt/bad-link: spec.linkTarget: must look like <project>/<server>:<uri>',
        'invalid/prompt.yaml:37:1: Prompt/global: metadata: Prompt is project-scoped: metadata.project is required',
    ],
    "rbac.yaml": [
        'invalid/rbac.yaml:6:10: User/carol: spec.email: must be an email address',
        "invalid/rbac.yaml:13:20: Group/ops: spec.members[1]: unknown User 'alise'; did you mean 'alice'?",
        "invalid/rbac.yaml:13:27: Group/ops: spec.members[2]: unknown User 'zed'",
        "invalid/rbac.yaml:22:13: RoleBinding/global-token: spec.subjects[0].name: unknown User 'bobby'; did you mean 'bob'?",
        "invalid/rbac.yaml:24:13: RoleBinding/global-token: spec.subjects[1].name: an McpToken subject needs the binding's metadata.project",
        "invalid/rbac.yaml:28:21: RoleBinding/global-token: spec.rules[0].names[1]: unknown Server 'clock'",
        "invalid/rbac.yaml:36:13: RoleBinding/bad-role: spec.subjects[0].kind: Input should be 'User', 'Group', 'ServiceAccount' or 'McpToken'",
        "invalid/rbac.yaml:39:13: RoleBinding/bad-role: spec.rules[0].role: Input should be 'view', 'create', 'edit', 'delete' or 'run'",
        'invalid/rbac.yaml:47:1: RoleBinding/nothing-granted: spec: a role binding needs at least one rule or operation',
        'invalid/rbac.yaml:55:9: Group/devs: metadata.name: duplicate Group/devs; first defined at valid/rbac.yml:16:1',
        'valid/rbac.yml:19:9: Group/devs: metadata.name: duplicate Group/devs; also defined at invalid/rbac.yaml:52:1',
    ],
    "server.yaml": [
        'invalid/server.yaml:5:1: Server/no-command: spec: transport stdio needs a command',
        "invalid/server.yaml:12:9: Server/Bad_Name: metadata.name: must be lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        "invalid/server.yaml:14:3: Server/Bad_Name: spec.trasnport: unknown field 'trasnport'; did you mean 'transport'?",
        'invalid/server.yaml:17:18: Server/Bad_Name: spec.timeouts.callSeconds: Input should be greater than 0',
        "invalid/server.yaml:28:14: Server/from-template: spec.fromTemplate.values.token: parameter 'token' is secret: give a secretRef or fromEnv, not a literal",
        "invalid/server.yaml:29:7: Server/from-template: spec.fromTemplate.values.regoin: unknown parameter 'regoin' of Template 'http-api'; did you mean 'region'?",
        "invalid/server.yaml:37:11: Server/missing-param: spec.fromTemplate.name: unknown Template 'http-apl'; did you mean 'http-api'?",
        "invalid/server.yaml:44:3: Server/missing-values: spec.fromTemplate: missing required parameter 'token' of Template 'http-api'",
        "invalid/server.yaml:44:3: Server/missing-values: spec.fromTemplate: missing required parameter 'url' of Template 'http-api'",
        "invalid/server.yaml:56:20: Server/literal-secrets: spec.headers.Authorization: warning: literal value for secret-looking 'Authorization'; use secretRef or fromEnv",
        "invalid/server.yaml:69:7: Server/bad-reference: spec.env.TRACE.fromEnvv: unknown field 'fromEnvv'; did you mean 'fromEnv'?",
        'invalid/server.yaml:70:5: Server/bad-reference: spec.env.LEVEL: expected one of: a string, {secretRef: {name, key}}, {fromEnv: VAR}',
    ],
    "template.yaml": [
        'invalid/template.yaml:5:1: Template/broken-template: spec: duplicate parameter(s): url',
        "invalid/template.yaml:24:7: Template/placeholders: spec.parameters[1]: warning: parameter 'spare' is not used by the server",
        "invalid/template.yaml:25:3: Template/placeholders: spec.server: placeholder '{{ key }}' is not a declared parameter",
        "invalid/template.yaml:30:19: Template/placeholders: spec.server.headers.Api-Secret: warning: literal value for secret-looking 'Api-Secret'; use secretRef or fromEnv",
    ],
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
    assert result.documents == len(result.resources) == 15


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
    stdin = io.BytesIO(b"apiVersion: mcpctl.dev/v1\nkind: Group\nmetadata:\n  name: g\nspec:\n  members: [nobody]\n")
    result = load_and_validate(["-"], stdin=stdin)
    assert [str(p) for p in result.problems] == ["<stdin>:6:13: Group/g: spec.members[0]: unknown User 'nobody'"]


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
        "p.yaml:6:16: Project/p: spec.proxy_model: unknown proxyModel 'nope': neither built in nor a ProxyModel"
    ]
