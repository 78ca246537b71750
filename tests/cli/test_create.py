"""`mcpctl create`: every kind from flags, templates, cross references, dry runs and the one-time token."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

import pytest
from ruamel.yaml import YAML

from mcpctl.schemas import (
    CLI_MANAGER,
    Group,
    Identity,
    LiveResource,
    McpToken,
    Project,
    Prompt,
    ResourceModel,
    RoleBinding,
    Server,
    User,
    parse_resource,
)
from mcpctl.store import Store

from .test_get import MANAGER, res, run, seed

M = TypeVar("M", bound=ResourceModel)


@pytest.fixture
def url(database_url: str) -> str:
    seed(
        database_url,
        res(
            "Template",
            "git",
            {
                "parameters": [
                    {"name": "repo", "required": True},
                    {"name": "token", "secret": True},
                    {"name": "branch", "default": "main"},
                ],
                "server": {
                    "transport": "stdio",
                    "command": "mcp-server-git",
                    "args": ["--repository", "{{ repo }}", "--branch", "{{ branch }}"],
                    "env": {"GIT_TOKEN": "{{ token }}"},
                },
            },
        ),
        res("Server", "time", {"transport": "stdio", "command": "mcp-server-time"}),
        res("Project", "alpha", {"servers": ["time"]}),
        res("User", "ada", {"email": "ada@example.com"}),
    )
    return database_url


def stored(url: str, kind: str, name: str, project: str | None = None) -> LiveResource | None:
    store = Store.open(url)
    try:
        return store.get_resource(Identity(kind, project, name))
    finally:
        store.close()


def resource_of(url: str, model: type[M], name: str, project: str | None = None) -> M:
    """The stored resource of kind `model` (its class name), which must exist."""
    live = stored(url, model.__name__, name, project)
    assert live is not None, (model.__name__, project, name)
    assert isinstance(live.resource, model), live.resource
    return live.resource


def test_stdio_server_with_env_and_secret(url: str) -> None:
    result = run(
        url,
        "create",
        "server",
        "echo",
        "--command",
        "echo-mcp",
        "--arg",
        "-v",
        "--arg",
        "x",
        "--env",
        "MODE=fast",
        "--env-secret",
        "TOKEN=echo/token",
        "--label",
        "team=a",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "server/echo created\n"
    live = stored(url, "Server", "echo")
    assert live is not None and live.managed_by == CLI_MANAGER
    assert isinstance(live.resource, Server)
    doc = live.resource.to_document()
    assert doc["spec"] == {
        "transport": "stdio",
        "command": "echo-mcp",
        "args": ["-v", "x"],
        "env": {"MODE": "fast", "TOKEN": {"secretRef": {"name": "echo", "key": "token"}}},
    }
    assert doc["metadata"]["labels"] == {"team": "a"}


def test_http_server_defaults_its_transport(url: str) -> None:
    assert (
        run(url, "create", "srv", "web", "--url", "https://web.example/mcp", "--header", "X-A=1").exit_code
        == 0
    )
    resource = resource_of(url, Server, "web")
    assert resource.spec.transport == "streamable-http" and resource.spec.headers == {"X-A": "1"}


def test_invalid_flags_are_usage_errors(url: str) -> None:
    stdio_with_url = run(url, "create", "server", "bad", "--transport", "stdio", "--url", "https://x")
    assert stdio_with_url.exit_code == 2
    assert (
        stdio_with_url.stderr.strip() == "error: invalid Server 'bad': spec: transport stdio needs a command"
    )
    assert run(url, "create", "server", "bad", "--command", "x", "--env", "NOEQUALS").exit_code == 2
    assert run(url, "create", "server", "Bad_Name", "--command", "x").exit_code == 2
    assert run(url, "create", "user", "bob", "--email", "not-an-email").exit_code == 2
    assert stored(url, "Server", "bad") is None


def test_server_from_template_is_checked_against_it(url: str) -> None:
    ok = run(
        url,
        "create",
        "server",
        "repo",
        "--from-template",
        "git",
        "--set",
        "repo=/src",
        "--set-secret",
        "token=git/token",
    )
    assert ok.exit_code == 0, ok.output
    spec = resource_of(url, Server, "repo").spec
    assert spec.from_template is not None
    assert spec.from_template.name == "git" and spec.from_template.values["repo"] == "/src"

    unknown = run(
        url, "create", "server", "r2", "--from-template", "git", "--set", "repo=/x", "--set", "colour=red"
    )
    assert unknown.exit_code == 2 and "unknown template parameter(s): colour" in unknown.stderr
    missing = run(url, "create", "server", "r2", "--from-template", "git")
    assert missing.exit_code == 2 and "missing required template parameter(s): repo" in missing.stderr
    no_template = run(url, "create", "server", "r2", "--from-template", "nope", "--set", "a=b")
    assert no_template.exit_code == 1 and 'Template "nope" not found' in no_template.stderr
    assert run(url, "create", "server", "r2", "--command", "x", "--set", "a=b").exit_code == 2
    assert stored(url, "Server", "r2") is None


def test_existing_resource_is_already_exists(url: str) -> None:
    result = run(url, "create", "server", "time", "--command", "other")
    assert result.exit_code == 1
    assert result.stderr.strip() == 'error: Server "time" already exists'
    assert resource_of(url, Server, "time").spec.command == "mcp-server-time"


def test_project_references_are_checked(url: str) -> None:
    bad = run(url, "create", "project", "beta", "--server", "time", "--server", "ghost")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == 'error: cannot create Project "beta": spec.servers: Server "ghost" not found'
    good = run(
        url, "create", "proj", "beta", "--server", "time", "--proxy-model", "gate", "--instructions", "Hi"
    )
    assert good.exit_code == 0
    spec = resource_of(url, Project, "beta").spec
    assert (spec.servers, spec.proxy_model, spec.instructions) == (["time"], "gate", "Hi")


def test_prompt_from_content_or_file_in_an_existing_project(url: str, tmp_path: Path) -> None:
    assert (
        run(
            url,
            "create",
            "prompt",
            "p1",
            "-p",
            "alpha",
            "--content",
            "Hello",
            "--priority",
            "9",
            "--tag",
            "b",
            "--tag",
            "a",
        ).exit_code
        == 0
    )
    prompt = resource_of(url, Prompt, "p1", "alpha")
    assert isinstance(prompt, Prompt) and (prompt.spec.priority, prompt.spec.tags) == (9, ["a", "b"])
    text = tmp_path / "guide.md"
    text.write_text("# Guide\nStep one.\n")
    assert run(url, "create", "prompt", "p2", "-p", "alpha", "--from-file", str(text)).exit_code == 0
    assert resource_of(url, Prompt, "p2", "alpha").spec.content == "# Guide\nStep one.\n"
    orphan = run(url, "create", "prompt", "p3", "-p", "nowhere", "--content", "x")
    assert orphan.exit_code == 1 and 'metadata.project: Project "nowhere" not found' in orphan.stderr
    assert run(url, "create", "prompt", "p4", "-p", "alpha").exit_code == 2
    assert (
        run(
            url, "create", "prompt", "p4", "-p", "alpha", "--content", "x", "--from-file", str(text)
        ).exit_code
        == 2
    )


def test_user_and_group(url: str) -> None:
    assert (
        run(url, "create", "user", "bob", "--email", "bob@example.com", "--display-name", "Bob").exit_code
        == 0
    )
    assert resource_of(url, User, "bob").spec.display_name == "Bob"
    bad = run(url, "create", "group", "devs", "--member", "bob", "--member", "zed")
    assert bad.exit_code == 1 and 'User "zed" not found' in bad.stderr
    assert run(url, "create", "grp", "devs", "--member", "bob", "--member", "ada").exit_code == 0
    assert resource_of(url, Group, "devs").spec.members == ["ada", "bob"]


def test_mcptoken_prints_its_value_once_and_stores_only_the_hash(url: str) -> None:
    result = run(
        url,
        "create",
        "mcptoken",
        "ci",
        "-p",
        "alpha",
        "--expires",
        "30d",
        "--rule",
        "run:servers:time",
        "--rule",
        "view:prompts",
        "--description",
        "CI bot",
    )
    assert result.exit_code == 0, result.output
    value = result.stdout.strip()
    assert value.startswith("mcpctl_pat_") and len(value) >= len("mcpctl_pat_") + 43
    assert "shown only once" in result.stderr and value not in result.stderr
    token = resource_of(url, McpToken, "ci", "alpha")
    assert isinstance(token, McpToken)
    assert token.spec.expires == "30d" and token.spec.description == "CI bot"
    assert [(r.role, r.resource, r.names) for r in token.spec.bindings] == [
        ("run", "servers", ["time"]),
        ("view", "prompts", []),
    ]
    store = Store.open(url)
    try:
        record = store.find_token(hashlib.sha256(value.encode()).hexdigest())
    finally:
        store.close()
    assert record is not None and record.name == "ci" and value.startswith(record.prefix.rstrip("…"))
    listing = run(url, "get", "tokens", "-o", "json").stdout + run(url, "describe", "token", "ci").stdout
    assert value not in listing


def test_mcptoken_flags_are_validated(url: str) -> None:
    assert run(url, "create", "token", "t", "-p", "alpha", "--rule", "run").exit_code == 2
    assert run(url, "create", "token", "t", "-p", "alpha", "--rule", "fly:servers").exit_code == 2
    assert run(url, "create", "token", "t", "-p", "alpha", "--expires", "soon").exit_code == 2
    assert run(url, "create", "token", "t", "-p", "alpha", "--rbac", "clone").exit_code == 2
    assert run(url, "create", "token", "t", "-p", "alpha", "-o", "yaml").exit_code == 2
    clone = run(url, "create", "token", "t", "-p", "alpha", "--rbac", "clone", "--owner", "ghost")
    assert clone.exit_code == 1 and 'spec.owner: User "ghost" not found' in clone.stderr
    assert stored(url, "McpToken", "t", "alpha") is None


def test_rolebinding_subjects_must_exist(url: str) -> None:
    run(url, "create", "token", "ci", "-p", "alpha")
    ok = run(
        url,
        "create",
        "rolebinding",
        "ci-run",
        "-p",
        "alpha",
        "--token",
        "ci",
        "--user",
        "ada",
        "--rule",
        "run:servers",
        "--operation",
        "audit",
    )
    assert ok.exit_code == 0, ok.output
    binding = resource_of(url, RoleBinding, "ci-run", "alpha")
    assert isinstance(binding, RoleBinding)
    assert [(s.kind, s.name) for s in binding.spec.subjects] == [("McpToken", "ci"), ("User", "ada")]
    assert [o.action for o in binding.spec.operations] == ["audit"]
    ghost = run(url, "create", "rb", "g", "--group", "ghosts", "--rule", "view:*")
    assert ghost.exit_code == 1 and 'Group "ghosts" not found' in ghost.stderr
    assert run(url, "create", "rb", "g", "--token", "ci", "--rule", "view:*").exit_code == 2
    assert run(url, "create", "rb", "g", "--rule", "view:*").exit_code == 2


def test_dry_run_prints_the_document_and_writes_nothing(url: str) -> None:
    as_yaml = run(url, "create", "server", "fresh", "--command", "x", "--arg", "y", "--dry-run", "-o", "yaml")
    assert as_yaml.exit_code == 0, as_yaml.output
    assert as_yaml.stdout.startswith("apiVersion: mcpctl.dev/v1\nkind: Server\n")
    printed = parse_resource(YAML(typ="safe").load(as_yaml.stdout))
    assert isinstance(printed, Server) and printed.spec.args == ["y"]
    as_json = run(url, "create", "project", "p", "--server", "time", "--dry-run", "-o", "json")
    assert json.loads(as_json.stdout)["spec"] == {"servers": ["time"]}
    plain = run(url, "create", "user", "u", "--email", "u@example.com", "--dry-run")
    assert plain.stdout == "user/u created (dry run)\n"
    token = run(url, "create", "token", "t", "-p", "alpha", "--dry-run", "-o", "yaml")
    assert token.exit_code == 0 and "mcpctl_pat_" not in token.output
    assert [
        stored(url, *identity)
        for identity in (("Server", "fresh"), ("Project", "p"), ("User", "u"), ("McpToken", "t", "alpha"))
    ] == [None] * 4
    still_checked = run(url, "create", "project", "p", "--server", "ghost", "--dry-run")
    assert still_checked.exit_code == 1


def test_create_after_yaml_output_without_dry_run(url: str) -> None:
    result = run(url, "create", "user", "eve", "--email", "eve@example.com", "-o", "json")
    assert json.loads(result.stdout)["metadata"]["name"] == "eve"
    assert stored(url, "User", "eve") is not None


def test_concurrent_creates_of_one_name_store_exactly_one(url: str) -> None:
    executable = str(Path(sys.executable).parent / "mcpctl")
    env = {**os.environ, "MCPCTL_DATABASE_URL": url}
    procs = [
        subprocess.Popen(
            [executable, "create", "server", "race", "--command", f"cmd-{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    results = [(proc.wait(timeout=60), proc.stderr.read() if proc.stderr else "") for proc in procs]
    assert sorted(code for code, _ in results) == [0, 1, 1]
    assert all('Server "race" already exists' in err for code, err in results if code == 1)
    assert (resource_of(url, Server, "race").spec.command or "").startswith("cmd-")


def test_an_expired_token_is_created_with_a_warning(url: str, tmp_path: Path) -> None:
    created = run(url, "create", "mcptoken", "late", "-p", "alpha", "--expires", "2020-01-01")
    assert created.exit_code == 0, created.output
    assert "warning: --expires 2020-01-01 is in the past" in created.stderr
    source = tmp_path / "late.yaml"
    source.write_text(
        "apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: beta\n---\n"
        "apiVersion: mcpctl.dev/v1\nkind: McpToken\nmetadata:\n  name: later\n  project: beta\n"
        "spec:\n  expires: 2021-05-01\n"
    )
    planned = run(url, "plan", "-f", str(source))
    assert "Warning:" in planned.stdout and "is in the past" in planned.stdout


def test_a_server_from_a_builtin_template_stores_the_template_too(url: str) -> None:
    listed = run(url, "get", "templates")
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["builtin.time"][-2:] == ["builtin", "<unknown>"] and rows["git"][-2] == MANAGER
    assert run(url, "get", "template", "builtin.github", "-o", "yaml").stdout.count("secret: true") == 1
    tokyo = ["--set", "timezone=Asia/Tokyo"]
    made = run(url, "create", "server", "clock", "--from-template", "builtin.time", *tokyo)
    assert made.exit_code == 0, made.output
    assert "template/builtin.time created from the built-in catalog" in made.stderr
    template = stored(url, "Template", "builtin.time")
    assert template is not None and template.managed_by == "cli"
    again = run(url, "create", "server", "clock2", "--from-template", "builtin.time")
    assert again.exit_code == 0 and "built-in catalog" not in again.stderr  # stored once
    missing = run(url, "create", "server", "gh", "--from-template", "builtin.github")
    assert missing.exit_code == 2 and "authorization" in missing.stderr
