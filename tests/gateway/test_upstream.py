"""Tests of one upstream connection over real transports: stdio, SSE, Streamable HTTP, faults and restarts."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from mcpctl.gateway import MissingSecret, SecretResolver, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from mcpctl.gateway._stdio import resolve_command
from mcpctl.gateway._upstream import Upstream
from mcpctl.schemas import ServerSpec

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return str(result.content[0].text)


async def call(upstream: Upstream, tool: str, **arguments: Any) -> str:
    return text_of(await upstream.request(f"tools/call {tool}", lambda s: s.call_tool(tool, arguments)))


async def tool_names(upstream: Upstream) -> set[str]:
    result = await upstream.request("tools/list", lambda s: s.list_tools())
    return {tool.name for tool in result.tools}


def test_resolve_command_finds_venv_servers_without_path() -> None:
    found = resolve_command("mcp-server-time", path="/nonexistent")
    assert found == os.path.join(os.path.dirname(sys.executable), "mcp-server-time")


def test_resolve_command_relative_path_is_taken_from_cwd(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "server"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert resolve_command("bin/server", cwd=str(tmp_path)) == str(script)
    assert resolve_command("bin/missing", cwd=str(tmp_path)) is None
    assert resolve_command("no-such-command-h6", path="/nonexistent") is None


async def test_stdio_lazy_start_list_and_call(toy_stdio: Callable[..., ServerSpec]) -> None:
    upstream = Upstream("toy", toy_stdio(), SecretResolver(environ={}))
    async with upstream:
        assert upstream.state == "idle" and upstream.capabilities is None
        assert {"echo", "add", "slow", "crash", "big"} <= await tool_names(upstream)
        assert upstream.state == "up"
        assert upstream.capabilities is not None and upstream.capabilities.tools is not None
        assert upstream.initialize_result is not None
        assert upstream.initialize_result.server_info.name == "toy"
        assert await call(upstream, "add", a=2, b=3) == "5"
        assert len(await call(upstream, "big", n=200_000)) == 200_000
        assert upstream.last_ok is not None
    assert upstream.state == "stopped"


async def test_stdio_env_is_minimal_plus_spec_env(
    toy_stdio: Callable[..., ServerSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("H6_GATEWAY_PRIVATE", "must-not-leak")
    secrets = SecretResolver(environ={"FROM_GATEWAY": "via-fromEnv"})
    spec = toy_stdio(env={"LITERAL": "lit", "REF": {"fromEnv": "FROM_GATEWAY"}})
    upstream = Upstream("toy", spec, secrets)
    async with upstream:
        assert await call(upstream, "env", name="LITERAL") == "lit"
        assert await call(upstream, "env", name="REF") == "via-fromEnv"
        assert await call(upstream, "env", name="PATH") == os.environ["PATH"]
        assert await call(upstream, "env", name="H6_GATEWAY_PRIVATE") == ""


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
async def test_http_transports_list_call_and_send_secret_headers(
    transport: str, toy_http: Callable[..., str], tmp_path: Path
) -> None:
    url = toy_http(transport)
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "key").write_text("header-secret\n")
    spec = ServerSpec.model_validate(
        {
            "transport": transport,
            "url": url,
            "headers": {"X-Api-Key": {"secretRef": {"name": "toy", "key": "key"}}, "X-Plain": "p"},
        }
    )
    upstream = Upstream("toy", spec, SecretResolver(secrets_dir=tmp_path, environ={}))
    async with upstream:
        assert "echo" in await tool_names(upstream)
        assert await call(upstream, "echo", text="over http") == "over http"
        assert await call(upstream, "header", name="x-api-key") == "header-secret"
        assert await call(upstream, "header", name="x-plain") == "p"


async def test_missing_header_secret_fails_before_connecting() -> None:
    spec = ServerSpec.model_validate(
        {
            "transport": "streamable-http",
            "url": "http://127.0.0.1:9/mcp",
            "headers": {"A": {"fromEnv": "NOPE"}},
        }
    )
    upstream = Upstream("remote", spec, SecretResolver(environ={}))
    with pytest.raises(MissingSecret, match=r"'remote': headers\.A: environment variable NOPE is not set"):
        await tool_names(upstream)
    assert upstream.state == "down" and upstream.last_error is not None and "NOPE" in upstream.last_error
    await upstream.aclose()


async def test_crash_mid_call_fails_the_call_then_restarts(
    toy_stdio: Callable[..., ServerSpec], alive: Callable[[int], bool]
) -> None:
    upstream = Upstream("toy", toy_stdio(), SecretResolver(environ={}))
    async with upstream:
        first_pid = int(await call(upstream, "pid"))
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="connection lost during tools/call crash") as caught:
            await call(upstream, "crash")
        assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
        assert time.monotonic() - started < 3
        assert upstream.state == "down"
        assert upstream.last_error == "upstream 'toy': the server process exited or closed its stdout"
        assert await call(upstream, "echo", text="back") == "back"
        second_pid = int(await call(upstream, "pid"))
        assert second_pid != first_pid and not alive(first_pid)
        assert upstream.state == "up" and upstream.restarts == 1


async def test_hung_call_times_out_without_blocking_other_calls(toy_stdio: Callable[..., ServerSpec]) -> None:
    upstream = Upstream("toy", toy_stdio(call_seconds=1.0), SecretResolver(environ={}))
    async with upstream:
        await call(upstream, "echo", text="warm")
        echo_latencies: list[float] = []
        slow_error: list[BaseException] = []

        async def hang() -> None:
            try:
                await call(upstream, "slow", seconds=30)
            except UpstreamTimeout as error:
                slow_error.append(error)

        async def echo_while_hung() -> None:
            await anyio.sleep(0.1)
            for _ in range(5):
                started = time.monotonic()
                assert await call(upstream, "echo", text="ok") == "ok"
                echo_latencies.append(time.monotonic() - started)

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(hang)
            group.start_soon(echo_while_hung)
        assert len(slow_error) == 1 and "timed out after 1s" in str(slow_error[0])
        assert 0.9 < time.monotonic() - started < 3
        assert max(echo_latencies) < 0.5
        assert upstream.state == "up"
        assert await call(upstream, "echo", text="still") == "still"


async def test_upstream_json_rpc_errors_pass_through(toy_stdio: Callable[..., ServerSpec]) -> None:
    upstream = Upstream("toy", toy_stdio(), SecretResolver(environ={}))
    async with upstream:
        with pytest.raises(MCPError) as caught:
            await call(upstream, "no-such-tool")
        assert caught.value.code == -32602
        result = await upstream.request("tools/call fail", lambda s: s.call_tool("fail", {}))
        assert result.is_error
        assert upstream.state == "up"


async def test_repeated_start_failures_back_off(alive: Callable[[int], bool]) -> None:
    spec = ServerSpec(transport="stdio", command=sys.executable, args=["-c", "import sys; sys.exit(1)"])
    upstream = Upstream("broken", spec, SecretResolver(environ={}), max_backoff=5.0)
    async with upstream:
        with pytest.raises(UpstreamUnavailable, match="start failed"):
            await tool_names(upstream)
        # The first failure may be a one-off crash, so one immediate retry is allowed ...
        with pytest.raises(UpstreamUnavailable, match="start failed"):
            await tool_names(upstream)
        assert upstream.restarts == 1
        # ... after that the upstream is left alone until the backoff has passed: no process, fast answer.
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match=r"next restart attempt in 0\.\ds"):
            await tool_names(upstream)
        assert time.monotonic() - started < 0.05
        assert upstream.restarts == 1 and upstream.state == "down"
        await anyio.sleep(0.6)
        with pytest.raises(UpstreamUnavailable, match="start failed"):
            await tool_names(upstream)
        assert upstream.restarts == 2
        with pytest.raises(UpstreamUnavailable, match=r"next restart attempt in 1\.\ds"):
            await tool_names(upstream)


async def test_server_that_never_answers_times_out_connecting(
    children: Callable[[], set[int]], alive: Callable[[int], bool]
) -> None:
    before = children()
    spec = ServerSpec.model_validate(
        {
            "transport": "stdio",
            "command": sys.executable,
            "args": ["-c", "import time; time.sleep(60)"],
            "timeouts": {"connectSeconds": 1},
        }
    )
    upstream = Upstream("mute", spec, SecretResolver(environ={}))
    started = time.monotonic()
    async with upstream:
        with pytest.raises(UpstreamTimeout, match="not started within 1s") as caught:
            await tool_names(upstream)
        assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
        assert time.monotonic() - started < 2
    assert not children() - before


async def test_unreachable_http_server_is_unavailable() -> None:
    spec = ServerSpec.model_validate(
        {"transport": "streamable-http", "url": "http://127.0.0.1:9/mcp", "timeouts": {"connectSeconds": 5}}
    )
    upstream = Upstream("gone", spec, SecretResolver(environ={}))
    async with upstream:
        with pytest.raises(UpstreamUnavailable, match="'gone'"):
            await tool_names(upstream)
        assert upstream.state == "down"


async def test_credentials_in_the_url_stay_out_of_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    url = f"http://admin:hunter2@127.0.0.1:{port}/sse?api_key=s3cret"
    spec = ServerSpec.model_validate({"transport": "sse", "url": url, "timeouts": {"connectSeconds": 5}})
    upstream = Upstream("private", spec, SecretResolver(environ={}))
    try:
        async with upstream:
            with pytest.raises(UpstreamUnavailable) as raised:
                await tool_names(upstream)
    finally:
        server.shutdown()
        server.server_close()
    assert "401" in raised.value.detail and f"127.0.0.1:{port}/sse" in raised.value.detail
    for text in (raised.value.detail, upstream.last_error or "", caplog.text):
        assert "hunter2" not in text and "s3cret" not in text


async def test_missing_command_is_a_clear_error() -> None:
    spec = ServerSpec(transport="stdio", command="no-such-mcp-server-h6")
    upstream = Upstream("ghost", spec, SecretResolver(environ={}))
    with pytest.raises(UpstreamUnavailable, match="command not found: no-such-mcp-server-h6"):
        await tool_names(upstream)
    await upstream.aclose()


async def test_concurrent_first_calls_share_one_start(
    toy_stdio: Callable[..., ServerSpec], children: Callable[[], set[int]]
) -> None:
    before = children()
    upstream = Upstream("toy", toy_stdio(), SecretResolver(environ={}))
    pids: list[str] = []

    async def one() -> None:
        pids.append(await call(upstream, "pid"))

    async with upstream:
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
        assert len(set(pids)) == 1 and upstream.restarts == 0
        assert len(children() - before) == 1
    assert not children() - before


async def test_requests_after_close_are_refused(toy_stdio: Callable[..., ServerSpec]) -> None:
    upstream = Upstream("toy", toy_stdio(), SecretResolver(environ={}))
    async with upstream:
        await call(upstream, "echo", text="x")
    await upstream.aclose()

    async def ping(session: ClientSession) -> object:
        return await session.send_ping()

    with pytest.raises(UpstreamUnavailable, match="stopped"):
        await upstream.request("ping", ping)


async def test_close_while_starting_abandons_the_start(children: Callable[[], set[int]]) -> None:
    before = children()
    spec = ServerSpec(transport="stdio", command=sys.executable, args=["-c", "import time; time.sleep(60)"])
    upstream = Upstream("mute", spec, SecretResolver(environ={}))
    failures: list[BaseException] = []

    async def first_call() -> None:
        try:
            await tool_names(upstream)
        except UpstreamUnavailable as error:
            failures.append(error)

    async with upstream, anyio.create_task_group() as group:
        group.start_soon(first_call)
        await anyio.sleep(0.3)
        assert upstream.state == "starting"
        started = time.monotonic()
        await upstream.aclose()
    assert time.monotonic() - started < 5
    assert len(failures) == 1 and "stopped before it started" in str(failures[0])
    assert upstream.state == "stopped"
    assert not children() - before


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
async def test_http_upstream_crash_and_server_restart(
    transport: str, toy_http: Callable[..., str], alive: Callable[[int], bool]
) -> None:
    url = toy_http(transport)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    spec = ServerSpec.model_validate({"transport": transport, "url": url})
    upstream = Upstream("toy", spec, SecretResolver(environ={}))
    async with upstream:
        assert await call(upstream, "echo", text="one") == "one"
        with pytest.raises(UpstreamUnavailable, match="connection lost during tools/call crash"):
            await call(upstream, "crash")
        assert upstream.state == "down"
        # Restarted from a thread: the event loop keeps running meanwhile, as a gateway's would.
        await anyio.to_thread.run_sync(lambda: toy_http(transport, port=port))
        assert await call(upstream, "echo", text="two") == "two"
        assert upstream.state == "up" and upstream.restarts == 1

        # The server dies and comes back while the gateway is idle: the next call still works,
        # on a new session (for Streamable HTTP, after the server said it no longer knows ours).
        pid = int(await call(upstream, "pid"))
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            await anyio.sleep(0.02)
        await anyio.to_thread.run_sync(lambda: toy_http(transport, port=port))
        assert await call(upstream, "echo", text="three") == "three"
        assert upstream.restarts == 2
