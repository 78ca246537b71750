"""Session lifecycle: true open-session counts, per-token counts, close on DELETE, idle, project removal."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AsyncExitStack

import anyio
import httpx
import pytest
from gateway_harness import (
    INITIALIZE,
    Recorder,
    create_token,
    delete,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    wait_until,
)

from mcpctl.gateway import AuthFailed, SessionClosed, SessionConfig, SessionOpened
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio

ACCEPT = "application/json, text/event-stream"


def _open_raw(url: str, token: str) -> str:
    """Open a session with a bare initialize (no GET stream) and return its id."""
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
    response = httpx.post(url, headers=headers, json=INITIALIZE, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def _gauge(base: str, project: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(f'mcpctl_open_sessions{{project="{project}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no mcpctl_open_sessions series")


async def test_one_token_many_sessions_are_all_counted_and_closed(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "ci")
    other = create_token(sqlite_store, "demo", "other")
    recorder = Recorder()
    with serve_gateway(sqlite_store, event_sinks=[recorder]) as gateway:
        headers = {"Authorization": f"Bearer {token}"}
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(mcp_session(gateway.url("demo"), token))
            await stack.enter_async_context(mcp_session(gateway.url("demo"), other))
            project = httpx.get(f"{gateway.base}/api/v1/projects/demo", headers=headers, timeout=5).json()
            assert project["openSessions"] == 4
            assert _gauge(gateway.base, "demo") == 4
            assert gateway.runtime.sessions.token_sessions("demo", "ci") == 3
            assert gateway.runtime.sessions.token_sessions("demo", "other") == 1
        # The SDK client ends each session with DELETE on exit.
        await wait_until(lambda: gateway.runtime.sessions.open_sessions("demo") == 0, 5)
        assert _gauge(gateway.base, "demo") == 0
    opened, closed = recorder.of(SessionOpened), recorder.of(SessionClosed)
    assert len(opened) == len(closed) == 4 and {e.reason for e in closed} == {"client"}
    assert {e.session.principal.token_name for e in opened} == {"ci", "other"}
    assert all(e.session.opened_at is not None and e.session.id for e in opened)


async def test_idle_sessions_close_and_then_answer_404(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "ci")
    thief = create_token(sqlite_store, "demo", "thief")
    recorder = Recorder()
    idle = SessionConfig(idle_timeout_seconds=1.0)
    with serve_gateway(sqlite_store, sessions=idle, event_sinks=[recorder]) as gateway:
        url = gateway.url("demo")
        session_id = _open_raw(url, token)
        assert gateway.runtime.sessions.open_sessions("demo") == 1
        # Another token's requests get 404 and do not keep the owner's session alive.
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            stolen = httpx.post(
                url,
                headers={"Authorization": f"Bearer {thief}", "Accept": ACCEPT, "mcp-session-id": session_id},
                json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                timeout=5,
            )
            assert stolen.status_code == 404
            await anyio.sleep(0.2)
        # Closed about 1 s after opening; had the thief's requests counted, not before 1 s after the last.
        await wait_until(lambda: gateway.runtime.sessions.open_sessions("demo") == 0, 0.5)
        closed = recorder.of(SessionClosed)
        assert [(e.session.id, e.reason) for e in closed] == [(session_id, "idle")]
        again = httpx.post(
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT, "mcp-session-id": session_id},
            json={"jsonrpc": "2.0", "id": 3, "method": "ping"},
            timeout=5,
        )
        assert again.status_code == 404


async def test_removing_a_project_closes_its_sessions(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(
        sqlite_store,
        server_doc("toy", toy_stdio()),
        project_doc("demo", ["toy"]),
        project_doc("kept", ["toy"]),
    )
    token = create_token(sqlite_store, "demo", "ci")
    kept = create_token(sqlite_store, "kept", "ci")
    recorder = Recorder()
    with serve_gateway(sqlite_store, event_sinks=[recorder]) as gateway:
        _open_raw(gateway.url("demo"), token)
        _open_raw(gateway.url("kept"), kept)
        delete(sqlite_store, "Project", "demo")
        await wait_until(lambda: bool(recorder.of(SessionClosed)), 3)
        assert [(e.session.project, e.reason) for e in recorder.of(SessionClosed)] == [
            ("demo", "project-removed")
        ]
        assert gateway.runtime.sessions.open_sessions("kept") == 1
    # Stopping the gateway closes the rest.
    assert [(e.session.project, e.reason) for e in recorder.of(SessionClosed)][-1] == ("kept", "stopped")


async def test_auth_failures_are_events_without_the_presented_value(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    recorder = Recorder()
    with serve_gateway(sqlite_store, event_sinks=[recorder]) as gateway:
        bogus = "mcpctl_pat_planted-bogus-value"
        response = httpx.post(
            gateway.url("demo"), headers={"Authorization": f"Bearer {bogus}"}, json=INITIALIZE, timeout=5
        )
        assert response.status_code == 401
        api = httpx.get(f"{gateway.base}/api/v1/projects", headers={"Authorization": "Basic x"}, timeout=5)
        assert api.status_code == 401
    failures = recorder.of(AuthFailed)
    assert [(f.route, f.status, f.reason, f.project) for f in failures] == [
        ("mcp", 401, "unknown", "demo"),
        ("api", 401, "malformed", None),
    ]
    assert all(f.client is not None and f.client.startswith("127.0.0.1:") for f in failures)
    assert all("planted-bogus-value" not in repr(f) for f in failures)
