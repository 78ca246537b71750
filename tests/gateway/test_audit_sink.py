"""The gateway's audit trail end to end: a real gateway, upstream and SDK client write sessions, calls,
denials, auth failures and reloads to the store (SQLite and PostgreSQL), and no argument or token value
reaches any row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from sqlalchemy import select

from gateway.gateway_harness import (
    INITIALIZE,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
    wait_until,
)
from mcpctl.gateway import AuditConfig, AuditSink, CallContext, Layer, refuse
from mcpctl.gateway._pipeline import ToolNext
from mcpctl.schemas import ServerSpec
from mcpctl.store import AuditEvent, AuditQuery, Store, digest_arguments, hash_token
from mcpctl.store._tables import AUDIT_EVENTS

pytestmark = pytest.mark.anyio

SECRET_ARG = "sk-live-4f9a1c0ffee7d00dfeedbead"
"""Planted in tool and prompt arguments: it must appear in no audit row."""


class DenyCrash(Layer):
    """Refuses the toy's `crash` tool, as a policy layer would (the real refusal path of the pipeline)."""

    name = "deny-crash"

    async def call_tool(self, call: CallContext, params: Any, call_next: ToolNext) -> Any:
        if params.name == "toy__crash":
            refuse(call, "no rule grants run on servers/toy tools crash")
        return await call_next(call, params)


def _rows(store: Store) -> list[dict[str, Any]]:
    """Every stored audit row, every column, as the database holds it."""
    with store._engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(AUDIT_EVENTS))]


def _by_kind(events: list[AuditEvent]) -> dict[str, list[AuditEvent]]:
    found: dict[str, list[AuditEvent]] = {}
    for event in events:
        found.setdefault(event.kind, []).append(event)
    return found


async def test_a_gateway_run_writes_the_audit_trail_without_values(store: Store) -> None:
    put(
        store,
        server_doc("toy", toy_spec()),
        project_doc("demo", ["toy"]),
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "User",
            "metadata": {"name": "alice"},
            "spec": {"email": "alice@example.com"},
        },
    )
    token = create_token(store, "demo", "ci-bot", owner="alice")
    with serve_gateway(store, layers=[DenyCrash()]) as gateway:
        url = gateway.url("demo")
        async with mcp_session(url, token) as session:
            ok = await session.call_tool("toy__echo", {"text": SECRET_ARG})
            assert ok.content[0].text == SECRET_ARG  # type: ignore[union-attr]
            failed = await session.call_tool("toy__fail", {})
            assert failed.is_error
            with pytest.raises(MCPError):
                await session.call_tool("toy__crash", {"password": SECRET_ARG})
            with pytest.raises(MCPError):
                await session.call_tool("toy__no_such_tool", {"x": SECRET_ARG})
            prompt = await session.get_prompt("toy__greet", {"name": SECRET_ARG})
            assert SECRET_ARG in prompt.messages[0].content.text  # type: ignore[union-attr]
            resources = await session.list_resources()
            readme = next(r for r in resources.resources if r.name == "readme")
            await session.read_resource(readme.uri)
        # Auth failures: a wrong token value (never recorded) and no token at all.
        headers = {"Accept": "application/json, text/event-stream"}
        wrong = "mcpctl_pat_" + "Z" * 40
        assert httpx.post(url, json=INITIALIZE, headers=headers, timeout=10).status_code == 401
        refused = httpx.post(
            url, json=INITIALIZE, headers={**headers, "Authorization": f"Bearer {wrong}"}, timeout=10
        )
        assert refused.status_code == 401
        # A change in the store is a config reload.
        put(store, project_doc("demo", ["toy"], instructions="changed"))
        await wait_until(lambda: bool(store.query_audit(AuditQuery(kind="config_reload"))), 10)
    # The gateway's stop flushed the writer: everything is stored now.
    events = store.query_audit(AuditQuery(project="demo", limit=1000))
    kinds = _by_kind(events)
    assert {"session_open", "session_close", "tool_call", "prompt_get", "resource_read"} <= set(kinds)
    assert {"access_denied", "auth_failure"} <= set(kinds)

    calls = {e.tool: e for e in kinds["tool_call"]}
    echo = calls["echo"]
    assert (echo.server, echo.outcome, echo.token, echo.user) == ("toy", "ok", "ci-bot", "alice")
    assert echo.token_prefix is not None and token.startswith(echo.token_prefix.rstrip("…"))
    assert echo.args_digest == digest_arguments({"text": SECRET_ARG})
    assert echo.result_size == len(SECRET_ARG) and echo.duration_ms is not None and echo.duration_ms > 0
    assert echo.session_id and len(echo.correlation_id) == 32
    assert calls["fail"].outcome == "error"
    unknown = calls["no_such_tool"]
    assert (unknown.outcome, unknown.server, dict(unknown.detail)) == ("error", "toy", {"status": "unknown"})
    assert "crash" not in calls, "a refusal is recorded once, as access_denied"

    (denied,) = kinds["access_denied"]
    assert (denied.outcome, denied.server, denied.tool) == ("denied", "toy", "crash")
    assert denied.detail["reason"] == "no rule grants run on servers/toy tools crash"
    (prompt_event,) = kinds["prompt_get"]
    assert prompt_event.args_digest == digest_arguments({"name": SECRET_ARG})
    (read,) = kinds["resource_read"]
    assert read.tool == "toy://readme" and read.outcome == "ok"

    failures = kinds["auth_failure"]
    assert sorted(str(f.detail["reason"]) for f in failures) == ["missing", "unknown"]
    assert all(
        f.outcome == "unauthorized" and str(f.detail["client"]).startswith("127.0.0.1:") for f in failures
    )

    (opened,) = kinds["session_open"]
    (closed,) = kinds["session_close"]
    assert opened.session_id == closed.session_id == echo.session_id
    assert closed.detail["reason"] == "client"
    sessions = store.audit_sessions(AuditQuery(project="demo"))
    assert [(s.session_id, s.calls, s.closed) for s in sessions] == [(echo.session_id, 5, True)]

    reloads = store.query_audit(AuditQuery(kind="config_reload"))
    assert reloads and reloads[0].detail["projects"] == "demo"

    # Every column of every row: no argument value, no token value, no part of the wrong token.
    dump = json.dumps(_rows(store), default=str)
    assert SECRET_ARG not in dump
    assert token not in dump and token[len("mcpctl_pat_") + 4 :] not in dump
    assert "Z" * 12 not in dump
    # LAST USED was recorded for the token through the writer.
    assert ("demo", "ci-bot") in store.tokens_last_used("demo")


async def test_audit_off_writes_nothing(sqlite_store: Store) -> None:
    put(sqlite_store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "ci-bot")
    with serve_gateway(sqlite_store, audit=AuditConfig(enabled=False)) as gateway:
        assert gateway.runtime.audit is None
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.call_tool("toy__echo", {"text": "x"})
    assert sqlite_store.query_audit(AuditQuery(kind="tool_call")) == []
    assert sqlite_store.tokens_last_used() == {}


async def test_writer_counters_on_metrics(sqlite_store: Store) -> None:
    put(sqlite_store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "ci-bot")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.call_tool("toy__echo", {"text": "x"})
        gateway.runtime.audit.writer.flush(10)
        text = httpx.get(f"{gateway.base}/metrics", timeout=10).text
    assert "# TYPE mcpctl_audit_dropped_total counter" in text
    assert "mcpctl_audit_dropped_total 0" in text
    written = next(line for line in text.splitlines() if line.startswith("mcpctl_audit_written_total "))
    assert float(written.split()[1]) >= 2  # the session's open and its call


class _Queue:
    def __init__(self) -> None:
        self.touched: list[str] = []
        self.events: list[AuditEvent] = []

    def submit(self, event: AuditEvent) -> None:
        self.events.append(event)

    def touch_token(self, token_hash: str, when: Any = None) -> None:
        self.touched.append(token_hash)


def test_token_last_used_is_queued_at_most_once_per_interval() -> None:
    now = [100.0]
    queue = _Queue()
    sink = AuditSink(queue, touch_interval=60.0, clock=lambda: now[0])
    first, second = hash_token("mcpctl_pat_a"), hash_token("mcpctl_pat_b")
    for _ in range(50):
        sink.token_used(first)
    sink.token_used(second)
    now[0] += 59.0
    sink.token_used(first)
    assert queue.touched == [first, second]
    now[0] += 1.0
    sink.token_used(first)
    assert queue.touched == [first, second, first]


async def test_an_upstream_timeout_is_recorded_as_timeout(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio(call_seconds=1.0)), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "ci-bot")
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            result = await session.call_tool("toy__slow", {"seconds": 5})
            assert result.is_error
    (call,) = sqlite_store.query_audit(AuditQuery(kind="tool_call"))
    assert (call.tool, call.outcome, dict(call.detail)) == ("slow", "timeout", {"status": "timeout"})
    assert call.duration_ms is not None and call.duration_ms >= 900  # the first call also starts the upstream
