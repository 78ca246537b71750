"""`/api/v1/audit/events`, `/api/v1/audit/sessions`, `/api/v1/auth/me` on a real gateway, and `mcpctl
audit --url` reading through them: the same output as the store path, `--follow` included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from _samples import API
from gateway.gateway_harness import (
    RunningGateway,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
)
from mcpctl.cli import cli
from mcpctl.gateway import AuthConfig
from mcpctl.gateway._auth import TokenInfo
from mcpctl.policy import POLICY_KINDS, PolicySet, SubjectRef
from mcpctl.store import AuditQuery, Store

pytestmark = pytest.mark.anyio

MCPCTL = str(Path(sys.executable).parent / "mcpctl")
SECRET_ARG = "hunter2-api-secret-c0ffee"


def _binding(project: str, name: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": {"name": name, "project": project},
        "spec": {"subjects": [{"kind": "McpToken", "name": token}], "operations": [{"action": "audit"}]},
    }


def _policy_permissions(store: Store) -> Any:
    """Tokens' permissions from the live store's RBAC resources (what the policy layer computes)."""

    def permissions_of(record: TokenInfo) -> Any:
        policy = PolicySet.from_resources(r for kind in POLICY_KINDS for r in store.list_resources(kind))
        return policy.permissions_of(SubjectRef("McpToken", record.name, record.project), strict=False)

    return permissions_of


@pytest.fixture
def estate(store: Store) -> dict[str, str]:
    put(
        store,
        server_doc("toy", toy_spec()),
        project_doc("demo", ["toy"]),
        project_doc("other", ["toy"]),
        _binding("demo", "auditors", "auditor"),
        _binding("other", "auditors", "other-auditor"),
    )
    return {
        "auditor": create_token(store, "demo", "auditor"),
        "plain": create_token(store, "demo", "plain"),
        "other": create_token(store, "other", "other-auditor"),
    }


@pytest.fixture
def gateway(store: Store, estate: dict[str, str]) -> Iterator[RunningGateway]:
    with serve_gateway(store) as running:
        # The policy layer computes permissions at auth; wired here the way it plugs in (`permissions_of`).
        running.runtime.auth._permissions_of = _policy_permissions(store)
        yield running


def _get(gateway: RunningGateway, path: str, bearer: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.get(f"{gateway.base}/api/v1{path}", headers=headers, params=params, timeout=10)


async def _traffic(gateway: RunningGateway, estate: dict[str, str]) -> None:
    async with mcp_session(gateway.url("demo"), estate["plain"]) as session:
        await session.call_tool("toy__echo", {"text": SECRET_ARG})
        await session.call_tool("toy__add", {"a": 1, "b": 2})
    async with mcp_session(gateway.url("other"), estate["other"]) as session:
        await session.call_tool("toy__echo", {"text": SECRET_ARG})
    gateway.runtime.audit.writer.flush(10)


async def test_events_need_the_audit_operation_and_stay_in_the_token_project(
    gateway: RunningGateway, estate: dict[str, str], store: Store
) -> None:
    await _traffic(gateway, estate)
    response = _get(gateway, "/audit/events", estate["auditor"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"events", "latest_id"}
    events = body["events"]
    assert events and {e["project"] for e in events} == {"demo"}
    assert [e["tool"] for e in events if e["kind"] == "tool_call"] == ["add", "echo"]  # newest first
    assert events == [e.to_document() for e in store.query_audit(AuditQuery(project="demo"))]
    assert body["latest_id"] == store.latest_audit_id()
    assert SECRET_ARG not in response.text and estate["plain"] not in response.text

    denied = _get(gateway, "/audit/events", estate["plain"])
    assert denied.status_code == 403 and "does not hold the audit operation" in denied.json()["detail"]
    assert _get(gateway, "/audit/events", None).status_code == 401
    elsewhere = _get(gateway, "/audit/events", estate["auditor"], project="other")
    assert elsewhere.status_code == 403 and "project demo only" in elsewhere.json()["detail"]
    other = _get(gateway, "/audit/events", estate["other"]).json()["events"]
    assert other and {e["project"] for e in other} == {"other"}


async def test_filters_limits_cursor_and_sessions(gateway: RunningGateway, estate: dict[str, str]) -> None:
    await _traffic(gateway, estate)
    token = estate["auditor"]
    calls = _get(gateway, "/audit/events", token, kind="tool_call", tool="echo", since="1h").json()["events"]
    assert [(e["kind"], e["tool"], e["token"]) for e in calls] == [("tool_call", "echo", "plain")]
    assert _get(gateway, "/audit/events", token, token="nobody").json()["events"] == []
    one = _get(gateway, "/audit/events", token, limit=1).json()["events"]
    assert len(one) == 1
    for bad in (
        {"kind": "bogus"},
        {"outcome": "meh"},
        {"limit": 0},
        {"limit": 10_001},
        {"since": "yesterday"},
    ):
        refused = _get(gateway, "/audit/events", token, **bad)
        assert refused.status_code == 400, (bad, refused.text)
    # A cursor: what was stored after an id, oldest first.
    every = _get(gateway, "/audit/events", token, limit=1000).json()["events"]
    oldest = every[-1]["id"]
    after = _get(gateway, "/audit/events", token, after=oldest).json()["events"]
    assert [e["id"] for e in after] == sorted(e["id"] for e in every[:-1])

    sessions = _get(gateway, "/audit/sessions", token).json()["sessions"]
    assert [(s["project"], s["token"], s["calls"], s["closed"]) for s in sessions] == [
        ("demo", "plain", 2, True)
    ]
    assert set(sessions[0]) == {
        "session_id",
        "project",
        "token",
        "user",
        "first_seen",
        "last_seen",
        "calls",
        "errors",
        "closed",
    }
    assert _get(gateway, "/audit/sessions", estate["plain"]).status_code == 403
    # The event filters select the events a session is counted from, as Store.audit_sessions does.
    echoed = _get(gateway, "/audit/sessions", token, tool="echo", kind="tool_call", server="toy").json()
    assert [(s["token"], s["calls"]) for s in echoed["sessions"]] == [("plain", 1)]
    assert _get(gateway, "/audit/sessions", token, outcome="error").json()["sessions"] == []
    assert _get(gateway, "/audit/sessions", token, outcome="meh").status_code == 400


async def test_auth_me_tells_a_token_who_it_is(gateway: RunningGateway, estate: dict[str, str]) -> None:
    me = _get(gateway, "/auth/me", estate["auditor"]).json()
    assert me["authenticated"] is True and me["audit"] is True and "audit" in me["operations"]
    assert (me["project"], me["token"], me["user"]) == ("demo", "auditor", None)
    assert estate["auditor"].startswith(me["token_prefix"].rstrip("…"))
    plain = _get(gateway, "/auth/me", estate["plain"]).json()
    assert plain["audit"] is False and plain["operations"] == []
    assert _get(gateway, "/auth/me", None).status_code == 401
    assert _get(gateway, "/auth/me", "mcpctl_pat_" + "Q" * 40).status_code == 401


def _cli(*args: str, token: str | None = None) -> Any:
    env = {"MCPCTL_TOKEN": token} if token is not None else {}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


async def test_mcpctl_audit_url_prints_what_the_store_path_prints(
    gateway: RunningGateway, estate: dict[str, str], store: Store, database_url: str, tmp_path: Path
) -> None:
    await _traffic(gateway, estate)
    url = database_url
    cases: list[tuple[list[str], list[str]]] = [
        ([], ["-o", "json"]),
        ([], ["--kind", "tool_call"]),
        (["sessions"], ["-o", "json"]),
        (["sessions"], []),
    ]
    for sub, args in cases:
        remote = _cli("audit", *sub, "--url", gateway.base, *args, token=estate["auditor"])
        local = _cli("audit", *sub, "--database-url", url, "-p", "demo", *args)
        assert remote.exit_code == 0, remote.output
        assert remote.stdout == local.stdout and remote.stdout.strip()
    token_file = tmp_path / "token"
    token_file.write_text(estate["auditor"] + "\n")
    from_file = _cli("audit", "--url", gateway.base, "--token-file", str(token_file), "-o", "jsonl")
    assert from_file.exit_code == 0 and SECRET_ARG not in from_file.stdout
    assert len(from_file.stdout.splitlines()) == len(store.query_audit(AuditQuery(project="demo")))

    refused = _cli("audit", "--url", gateway.base, token=estate["plain"])
    assert refused.exit_code == 1 and "403" in refused.stderr and "audit operation" in refused.stderr
    assert estate["plain"] not in refused.stderr
    missing = CliRunner().invoke(cli, ["audit", "--url", gateway.base], env={"MCPCTL_TOKEN": ""})
    assert missing.exit_code == 2 and "MCPCTL_TOKEN" in missing.stderr
    both = _cli("audit", "--url", gateway.base, "--database-url", url, token=estate["auditor"])
    assert both.exit_code == 2 and "not both" in both.stderr


async def test_mcpctl_audit_url_follow_streams_new_events(
    gateway: RunningGateway, estate: dict[str, str]
) -> None:
    await _traffic(gateway, estate)
    command = [MCPCTL, "audit", "--url", gateway.base, "--follow", "-o", "jsonl", "--kind", "tool_call"]
    process = subprocess.Popen(
        [*command, "--limit", "1", "--interval", "0.1"],
        env={**os.environ, "MCPCTL_TOKEN": estate["auditor"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert json.loads(process.stdout.readline())["tool"] == "add"  # the newest one already stored
        async with mcp_session(gateway.url("demo"), estate["plain"]) as session:
            await session.call_tool("toy__echo", {"text": "later"})
        followed = json.loads(process.stdout.readline())
        assert (followed["tool"], followed["project"], followed["token"]) == ("echo", "demo", "plain")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err


async def test_with_auth_off_the_audit_api_is_open(sqlite_store: Store) -> None:
    put(sqlite_store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as running:
        async with mcp_session(running.url("demo")) as session:
            await session.call_tool("toy__echo", {"text": "x"})
        running.runtime.audit.writer.flush(10)
        events = _get(running, "/audit/events", None, kind="tool_call").json()["events"]
        assert [(e["tool"], e["token"]) for e in events] == [("echo", None)]
        assert _get(running, "/auth/me", None).json() == {
            "authenticated": False,
            "auth_enabled": False,
            "audit": True,
        }
