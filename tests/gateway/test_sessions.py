"""Session lifecycle: true open-session counts, per-token counts, close on DELETE, idle, project removal."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AsyncExitStack

import anyio
import httpx
import pytest

from gateway.gateway_harness import (
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


async def test_one_token_cannot_take_every_session_of_its_project(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    greedy = create_token(sqlite_store, "demo", "greedy")
    polite = create_token(sqlite_store, "demo", "polite")
    limits = SessionConfig(max_sessions=5, max_sessions_per_token=2)
    with serve_gateway(sqlite_store, sessions=limits) as gateway:
        url = gateway.url("demo")
        held = [_open_raw(url, greedy) for _ in range(2)]
        for _ in range(3):
            refused = httpx.post(
                url, headers={"Authorization": f"Bearer {greedy}", "Accept": ACCEPT}, json=INITIALIZE
            )
            assert refused.status_code == 429
            assert "too many open sessions for this token (at most 2)" in refused.json()["error"]["message"]
        # Another token of the same project still gets in, and every count agrees.
        _open_raw(url, polite)
        headers = {"Authorization": f"Bearer {polite}"}
        project = httpx.get(f"{gateway.base}/api/v1/projects/demo", headers=headers, timeout=5).json()
        assert project["openSessions"] == 3 and _gauge(gateway.base, "demo") == 3
        # Closing one frees a place for the greedy token again.
        httpx.delete(url, headers={"Authorization": f"Bearer {greedy}", "mcp-session-id": held[0]})
        await wait_until(lambda: gateway.runtime.sessions.token_sessions("demo", "greedy") == 1, 5)
        _open_raw(url, greedy)


async def test_a_session_still_opening_is_counted(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    import json
    import socket

    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "slow")
    limits = SessionConfig(max_sessions=5, max_sessions_per_token=1)
    with serve_gateway(sqlite_store, sessions=limits) as gateway:
        body = json.dumps(INITIALIZE).encode()
        head = (
            f"POST /projects/demo/mcp HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: {ACCEPT}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", gateway.config.port), timeout=10) as sock:
            sock.sendall(head + body[:5])  # the opening request is in flight, holding an SDK slot
            await wait_until(lambda: gateway.runtime.sessions.open_sessions("demo") == 1, 5)
            assert _gauge(gateway.base, "demo") == 1
            second = httpx.post(
                gateway.url("demo"),
                headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
                json=INITIALIZE,
            )
            assert second.status_code == 429
            sock.sendall(body[5:])
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert gateway.runtime.sessions.open_sessions("demo") == 1


async def test_one_session_may_only_have_so_many_requests_in_flight(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "t")
    limits = SessionConfig(max_requests_per_session=3)
    with serve_gateway(sqlite_store, sessions=limits) as gateway:
        url = gateway.url("demo")
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": ACCEPT,
            "mcp-session-id": _open_raw(url, token),
        }
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})

            async def slow(request_id: int) -> int:
                call = {"name": "toy__slow", "arguments": {"seconds": 3}}
                body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call}
                return (await http.post(url, json=body)).status_code

            statuses: list[int] = []

            async def run(request_id: int) -> None:
                statuses.append(await slow(request_id))

            async with anyio.create_task_group() as group:
                for request_id in range(3):
                    group.start_soon(run, request_id + 10)
                await wait_until(lambda: gateway.runtime.sessions.sessions("demo")[0].in_flight == 3, 10)
                refused = await http.post(url, json={"jsonrpc": "2.0", "id": 99, "method": "tools/list"})
                assert refused.status_code == 429
                assert "too many requests in flight in this session (at most 3)" in refused.text
            assert statuses == [200, 200, 200]
            # Once they are answered the session is usable again.
            assert (
                await http.post(url, json={"jsonrpc": "2.0", "id": 100, "method": "tools/list"})
            ).status_code == 200
