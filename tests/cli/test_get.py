"""`mcpctl get`: kinds by any name, every output format, selection, errors; one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from _samples import res
from mcpctl.cli import cli
from mcpctl.schemas import McpToken, ResourceModel, parse_resource
from mcpctl.store import Store, hash_token

MANAGER = "gitops:/repo"


def seed(url: str, *resources: ResourceModel, managed_by: str = MANAGER) -> None:
    store = Store.open(url)
    try:
        with store.transaction() as tx:
            for resource in resources:
                if isinstance(resource, McpToken):
                    tx.create_token(resource, managed_by=managed_by)
                else:
                    tx.put(resource, managed_by=managed_by, source_revision="c0ffee")
    finally:
        store.close()


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"MCPCTL_DATABASE_URL": url})


def estate() -> list[ResourceModel]:
    return [
        res(
            "Server",
            "time",
            {
                "transport": "stdio",
                "command": "mcp-server-time",
                "args": ["--local-timezone", "UTC"],
                "env": {"API_KEY": "s3cr3t-literal"},
            },
            labels={"team": "core", "tier": "1"},
        ),
        res(
            "Server",
            "web",
            {
                "transport": "streamable-http",
                "url": "https://web.example/mcp",
                "headers": {"Authorization": {"secretRef": {"name": "web", "key": "auth"}}},
            },
            labels={"team": "web"},
        ),
        res("Project", "alpha", {"servers": ["time", "web"], "proxyModel": "gate"}),
        res("Project", "beta", {"servers": ["time"]}),
        res("Prompt", "intro", {"content": "hi", "priority": 8, "tags": ["a", "b"]}, project="alpha"),
        res("Prompt", "intro", {"content": "hello"}, project="beta"),
        res("Prompt", "only-beta", {"content": "x"}, project="beta"),
        res(
            "McpToken",
            "ci",
            {"expires": "30d", "bindings": [{"role": "run", "resource": "servers"}]},
            project="alpha",
        ),
    ]


@pytest.fixture
def url(database_url: str) -> str:
    seed(database_url, *estate())
    return database_url


def test_table_lists_every_server_with_kind_columns(url: str) -> None:
    result = run(url, "get", "servers")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TRANSPORT", "TARGET", "MANAGED-BY", "AGE"]
    assert lines[1].split()[:5] == ["time", "stdio", "mcp-server-time", "--local-timezone", "UTC"]
    assert lines[2].split()[:4] == ["web", "streamable-http", "https://web.example/mcp", MANAGER]
    assert "s3cr3t" not in result.stdout


@pytest.mark.parametrize("word", ["server", "servers", "srv", "Server", "SERVERS"])
def test_kind_accepts_every_spelling(url: str, word: str) -> None:
    result = run(url, "get", word, "-o", "name")
    assert result.stdout.splitlines() == ["server/time", "server/web"]


def test_wide_adds_columns_but_never_values_of_env_or_headers(url: str) -> None:
    result = run(url, "get", "srv", "-o", "wide")
    header = result.stdout.splitlines()[0].split()
    assert header == ["NAME", "TRANSPORT", "TARGET", "ENV", "HEADERS", "TOOLS", "MANAGED-BY", "AGE", "LABELS"]
    assert "API_KEY" in result.stdout and "Authorization" in result.stdout
    assert "s3cr3t" not in result.stdout and "team=core,tier=1" in result.stdout


def test_project_scoped_kinds_show_project_and_filter_by_it(url: str) -> None:
    everything = run(url, "get", "prompts")
    assert everything.stdout.splitlines()[0].split()[:2] == ["NAME", "PROJECT"]
    assert [line.split()[:2] for line in everything.stdout.splitlines()[1:]] == [
        ["intro", "alpha"],
        ["intro", "beta"],
        ["only-beta", "beta"],
    ]
    assert run(url, "get", "prompts", "-A").stdout == everything.stdout
    beta = run(url, "get", "pr", "-p", "beta", "-o", "name")
    assert beta.stdout.splitlines() == ["prompt/intro", "prompt/only-beta"]
    assert run(url, "get", "pr", "-p", "beta", "-A").exit_code == 2


def test_token_table(url: str) -> None:
    result = run(url, "get", "tokens")
    header, row = (line.split() for line in result.stdout.splitlines())
    columns = ["NAME", "PROJECT", "RBAC", "EXPIRES", "STATUS", "PREFIX", "LAST", "USED", "MANAGED-BY"]
    assert header[:9] == columns
    with Store.open(url) as store:
        (record,) = store.token_records()
    # EXPIRES is when the token stops working (30 days after it was made), not the duration.
    assert record.expires_at is not None
    expires = record.expires_at.strftime("%Y-%m-%dT%H:%MZ")
    assert row[:8] == ["ci", "alpha", "empty", expires, "active", record.prefix, "never", MANAGER]
    # The prefix shows 8 characters of the value's random part, and never more.
    assert len(record.prefix) == len("mcpctl_pat_") + 8 + 1 and record.prefix.endswith("…")
    assert "PREFIX" in run(url, "get", "tokens", "-o", "wide").stdout
    never = run(url, "create", "token", "forever", "-p", "alpha")
    assert never.exit_code == 0, never.output
    assert run(url, "get", "token", "forever").stdout.splitlines()[1].split()[3] == "never"
    # What the gateway records on use (at most once a minute) shows as an age.
    with Store.open(url) as store:
        with store.transaction() as tx:
            used = res("McpToken", "used", {"expires": "30d"}, project="alpha")
            value = tx.create_token(used, managed_by=MANAGER)  # type: ignore[arg-type]
        store.touch_token(hash_token(value), datetime.now(UTC) - timedelta(minutes=5))
    rows = {line.split()[0]: line.split() for line in run(url, "get", "tokens").stdout.splitlines()[1:]}
    assert rows["used"][6] == "5m" and rows["ci"][6] == "never"


def test_yaml_of_one_resource_is_its_document_with_secrets_masked(url: str, tmp_path: Path) -> None:
    result = run(url, "get", "server", "time", "-o", "yaml")
    assert result.exit_code == 0
    document = YAML(typ="safe").load(result.stdout)
    expected = estate()[0].to_document()
    expected["spec"]["env"]["API_KEY"] = "(sensitive)"
    assert parse_resource(document) == parse_resource(expected)
    assert "s3cr3t" not in run(url, "get", "servers", "-o", "json").stdout
    # Applying the copy would replace the real secret with the mask: validation refuses it.
    (tmp_path / "copy.yaml").write_text(result.stdout)
    refused = run(url, "validate", str(tmp_path / "copy.yaml"))
    assert refused.exit_code == 1 and "spec.env.API_KEY: a hidden-value placeholder" in refused.stderr


def test_yaml_and_json_of_several_are_a_list(url: str) -> None:
    as_yaml = YAML(typ="safe").load(run(url, "get", "projects", "-o", "yaml").stdout)
    as_json = json.loads(run(url, "get", "projects", "-o", "json").stdout)
    assert as_yaml == as_json
    assert as_json["kind"] == "List" and as_json["apiVersion"] == "mcpctl.dev/v1"
    assert [parse_resource(item) for item in as_json["items"]] == estate()[2:4]
    one = json.loads(run(url, "get", "project", "alpha", "-o", "json").stdout)
    assert one["kind"] == "Project" and one["spec"]["proxyModel"] == "gate"


def test_label_selector(url: str) -> None:
    assert run(url, "get", "servers", "-l", "team=core", "-o", "name").stdout.split() == ["server/time"]
    assert run(url, "get", "servers", "-l", "team!=core", "-o", "name").stdout.split() == ["server/web"]
    assert run(url, "get", "servers", "-l", "tier", "-o", "name").stdout.split() == ["server/time"]
    assert run(url, "get", "servers", "-l", "team=core,tier=2", "-o", "name").stdout == ""
    assert run(url, "get", "servers", "-l", "=x").exit_code == 2


def test_names_missing_and_ambiguous(url: str) -> None:
    missing = run(url, "get", "server", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == 'error: Server "nope" not found'
    ambiguous = run(url, "get", "prompt", "intro")
    assert ambiguous.exit_code == 2 and "several projects (alpha, beta)" in ambiguous.stderr
    assert run(url, "get", "prompt", "intro", "-p", "beta", "-o", "name").stdout.strip() == "prompt/intro"
    assert run(url, "get", "prompt", "only-beta", "-o", "name").stdout.strip() == "prompt/only-beta"


def test_unknown_kind_is_a_usage_error_with_a_suggestion(url: str) -> None:
    result = run(url, "get", "serverz")
    assert result.exit_code == 2
    assert 'unknown kind "serverz"; did you mean "server"?' in result.stderr


def test_empty_listing(database_url: str) -> None:
    Store.open(database_url).close()  # an empty store (a missing one is an error: tests/cli/test_options.py)
    result = run(database_url, "get", "users")
    assert result.exit_code == 0 and result.stdout == ""
    assert "No resources found." in result.stderr
    assert json.loads(run(database_url, "get", "users", "-o", "json").stdout)["items"] == []


def test_real_subprocess_prints_json(url: str, tmp_path: Path) -> None:
    executable = Path(sys.executable).parent / "mcpctl"
    env = {**os.environ, "MCPCTL_DATABASE_URL": url}
    done = subprocess.run(
        [str(executable), "get", "servers", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = [item["metadata"]["name"] for item in json.loads(done.stdout)["items"]]
    assert names == ["time", "web"]


def test_get_prompts_shows_the_link_health_the_store_knows(sqlite_database_url: str) -> None:
    url = sqlite_database_url
    seed(
        url,
        res("Server", "git", {"transport": "stdio", "command": "mcp-server-git"}),
        res("Server", "time", {"transport": "stdio", "command": "mcp-server-time"}),
        res("Project", "platform", {"servers": ["git"]}),
        res("Prompt", "inline", {"content": "x"}, project="platform"),
        res("Prompt", "good", {"linkTarget": "platform/git:file:///README.md"}, project="platform"),
        res("Prompt", "elsewhere", {"linkTarget": "platform/time:time://now"}, project="platform"),
        res("Prompt", "gone", {"linkTarget": "platform/jira:jira://x"}, project="platform"),
        res("Prompt", "nowhere", {"linkTarget": "other/git:file:///x"}, project="platform"),
    )
    result = CliRunner().invoke(cli, ["get", "prompts", "--database-url", url])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    status = lines[0].index("STATUS")
    assert {line[0]: line[status] for line in lines[1:]} == {
        "elsewhere": "not-in-project",
        "gone": "missing-server",
        "good": "ok",
        "inline": "-",
        "nowhere": "missing-project",
    }
