"""Tests of the upstream pool on real servers: ours, mcp-server-time, mcp-server-git, server-everything."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from mcpctl.gateway import (
    InvalidUpstreamSpec,
    MissingSecret,
    SecretResolver,
    UnknownUpstream,
    UpstreamError,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
    resolve_server_spec,
)
from mcpctl.schemas import ServerSpec, TemplateSpec

pytestmark = pytest.mark.anyio


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


def new_pool(**options: Any) -> UpstreamPool:
    return UpstreamPool(secrets=options.pop("secrets", SecretResolver(environ={})), **options)


async def test_own_server_full_surface(toy_stdio: Callable[..., ServerSpec]) -> None:
    updated: list[tuple[str, str]] = []

    async def on_updated(server: str, uri: str) -> None:
        updated.append((server, uri))

    pool = new_pool(on_resource_updated=on_updated)
    await pool.sync({"toy": toy_stdio()})
    async with pool:
        assert pool.capabilities("toy") is None
        tools = await pool.list_tools("toy")
        echo = next(tool for tool in tools if tool.name == "echo")
        assert echo.description == "Echo the text back."
        assert echo.input_schema["required"] == ["text"]
        capabilities = pool.capabilities("toy")
        assert (
            capabilities is not None
            and capabilities.prompts is not None
            and capabilities.resources is not None
        )
        assert text_of(await pool.call_tool("toy", "add", {"a": 40, "b": 2})) == "42"

        prompts = await pool.list_prompts("toy")
        assert [p.name for p in prompts] == ["greet"]
        prompt = await pool.get_prompt("toy", "greet", {"name": "Ada"})
        content = prompt.messages[0].content
        assert isinstance(content, types.TextContent) and content.text == "Hello, Ada!"

        resources = await pool.list_resources("toy")  # two pages on the server
        assert [str(r.uri) for r in resources] == ["toy://readme", "toy://data"]
        templates = await pool.list_resource_templates("toy")
        assert [t.uri_template for t in templates] == ["toy://items/{id}"]
        read = await pool.read_resource("toy", "toy://items/7")
        contents = read.contents[0]
        assert isinstance(contents, types.TextResourceContents) and contents.text == "item 7"

        completion = await pool.complete(
            "toy",
            types.PromptReference(type="ref/prompt", name="greet"),
            {"name": "name", "value": "al"},
            None,
        )
        assert completion.values == ["alice", "albert"]

        await pool.subscribe_resource("toy", "toy://readme")
        with anyio.fail_after(5):
            while not updated:
                await anyio.sleep(0.01)
        assert updated == [("toy", "toy://readme")]

        info = pool.initialize_result("toy")
        assert info is not None and info.instructions == "A toy server for tests."
        with pytest.raises(MCPError) as caught:
            await pool.get_prompt("toy", "nope", None)
        assert caught.value.code == -32602


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
async def test_own_server_over_http_transports(transport: str, toy_http: Callable[..., str]) -> None:
    pool = new_pool()
    await pool.sync({"toy": ServerSpec.model_validate({"transport": transport, "url": toy_http(transport)})})
    async with pool:
        assert "echo" in {tool.name for tool in await pool.list_tools("toy")}
        assert text_of(await pool.call_tool("toy", "echo", {"text": transport})) == transport
        assert len(await pool.list_resources("toy")) == 2


async def test_mcp_server_time(time_spec: ServerSpec) -> None:
    pool = new_pool()
    await pool.sync({"time": time_spec})
    async with pool:
        assert {"get_current_time", "convert_time"} <= {tool.name for tool in await pool.list_tools("time")}
        result = await pool.call_tool("time", "get_current_time", {"timezone": "UTC"})
        assert not result.is_error and "UTC" in text_of(result)


async def test_mcp_server_git(git_spec: ServerSpec) -> None:
    pool = new_pool()
    await pool.sync({"git": git_spec})
    async with pool:
        names = {tool.name for tool in await pool.list_tools("git")}
        assert {"git_status", "git_log", "git_diff"} <= names and len(names) >= 10
        result = await pool.call_tool("git", "git_log", {"repo_path": str(git_spec.args[1])})
        assert not result.is_error and "first commit" in text_of(result)


async def test_server_everything_stdio_and_streamable_http(
    everything_stdio: ServerSpec, everything_http: ServerSpec
) -> None:
    pool = new_pool()
    await pool.sync({"ev-stdio": everything_stdio, "ev-http": everything_http})
    async with pool:
        for server in ("ev-stdio", "ev-http"):
            tools = await pool.list_tools(server)
            assert "echo" in {tool.name for tool in tools} and len(tools) >= 10
            result = await pool.call_tool(server, "echo", {"message": f"hi {server}"})
            assert f"hi {server}" in text_of(result)


async def test_hung_upstream_does_not_delay_another(toy_stdio: Callable[..., ServerSpec]) -> None:
    pool = new_pool()
    await pool.sync({"hung": toy_stdio(call_seconds=2.0), "fine": toy_stdio()})
    async with pool:
        await pool.list_tools("hung")
        await pool.list_tools("fine")
        latencies: list[float] = []
        timed_out_after: list[float] = []

        async def hang() -> None:
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await pool.call_tool("hung", "slow", {"seconds": 60})
            assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
            timed_out_after.append(time.monotonic() - started)

        async def other() -> None:
            await anyio.sleep(0.2)
            while not timed_out_after:
                started = time.monotonic()
                assert text_of(await pool.call_tool("fine", "echo", {"text": "x"})) == "x"
                latencies.append(time.monotonic() - started)
                await anyio.sleep(0.05)

        async with anyio.create_task_group() as group:
            group.start_soon(hang)
            group.start_soon(other)
        latencies.sort()
        p50, worst = latencies[len(latencies) // 2] * 1000, latencies[-1] * 1000
        print(
            f"\nwhile 'hung' hung: {len(latencies)} calls to 'fine', p50 {p50:.1f} ms, max {worst:.1f} ms;"
            f" the hung call failed after {timed_out_after[0]:.2f} s"
        )
        assert len(latencies) > 10 and latencies[-1] < 0.5
        assert 1.9 < timed_out_after[0] < 3.0
        assert text_of(await pool.call_tool("hung", "echo", {"text": "alive"})) == "alive"


async def test_crash_then_next_call_restarts(
    toy_stdio: Callable[..., ServerSpec], alive: Callable[[int], bool]
) -> None:
    pool = new_pool()
    await pool.sync({"toy": toy_stdio()})
    async with pool:
        pid = int(text_of(await pool.call_tool("toy", "pid", {})))
        with pytest.raises(UpstreamUnavailable):
            await pool.call_tool("toy", "crash", {})
        assert pool.status()["toy"].state == "down"
        assert text_of(await pool.call_tool("toy", "echo", {"text": "again"})) == "again"
        status = pool.status()["toy"]
        assert status.state == "up" and status.restarts == 1 and status.last_ok is not None
        assert not alive(pid)


async def test_sync_stops_removed_and_restarts_changed(
    toy_stdio: Callable[..., ServerSpec], alive: Callable[[int], bool]
) -> None:
    pool = new_pool()
    await pool.sync({"a": toy_stdio(env={"V": "1"}), "b": toy_stdio(), "c": toy_stdio()})
    async with pool:
        pids = {name: int(text_of(await pool.call_tool(name, "pid", {}))) for name in ("a", "b", "c")}
        await pool.list_tools("a")
        await pool.sync({"a": toy_stdio(env={"V": "2"}), "c": toy_stdio()})
        assert not alive(pids["b"]), "a removed server's process must be stopped by sync()"
        assert not alive(pids["a"]), "a changed server's old process must be stopped by sync()"
        assert alive(pids["c"]), "an unchanged server keeps its session"
        assert pool.servers() == ["a", "c"] and pool.status()["a"].state == "idle"
        with pytest.raises(UnknownUpstream) as caught:
            await pool.call_tool("b", "echo", {"text": "x"})
        assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
        assert text_of(await pool.call_tool("a", "env", {"name": "V"})) == "2"
        assert int(text_of(await pool.call_tool("c", "pid", {}))) == pids["c"]


async def test_missing_secret_fails_only_that_server(
    toy_stdio: Callable[..., ServerSpec], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "token").write_text("file-secret\n")
    secrets = SecretResolver(secrets_dir=tmp_path, environ={"ENV_SECRET": "env-secret"})
    pool = new_pool(secrets=secrets)
    await pool.sync(
        {
            "ok": toy_stdio(
                env={"T": {"secretRef": {"name": "svc", "key": "token"}}, "E": {"fromEnv": "ENV_SECRET"}}
            ),
            "broken": toy_stdio(env={"T": {"secretRef": {"name": "svc", "key": "missing"}}}),
        }
    )
    async with pool:
        with pytest.raises(MissingSecret) as caught:
            await pool.list_tools("broken")
        assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
        assert "'broken'" in caught.value.detail and "env.T" in caught.value.detail
        assert "svc/missing" in caught.value.detail and "file-secret" not in caught.value.detail
        assert text_of(await pool.call_tool("ok", "env", {"name": "T"})) == "file-secret"
        assert text_of(await pool.call_tool("ok", "env", {"name": "E"})) == "env-secret"
        status = pool.status()
        assert status["broken"].state == "down" and "svc/missing" in (status["broken"].last_error or "")
        assert status["ok"].state == "up"
        with pytest.raises(UpstreamUnavailable):
            await pool.call_tool("ok", "crash", {})
        assert text_of(await pool.call_tool("ok", "env", {"name": "T"})) == "file-secret"
        # Nothing the pool logs or reports carries a secret value, even around a crash and restart.
        reported = caplog.text + repr(pool.status())
        assert "exited or closed its stdout" in caplog.text  # the crash was logged, and captured here
        assert "file-secret" not in reported and "env-secret" not in reported


async def test_tools_cache_positive_ttl_and_list_changed(toy_stdio: Callable[..., ServerSpec]) -> None:
    changed: list[str] = []

    async def on_changed(server: str) -> None:
        changed.append(server)

    pool = new_pool(tools_ttl=1.0, on_tools_changed=on_changed)
    await pool.sync({"toy": toy_stdio()})
    async with pool:
        count = len(await pool.list_tools("toy"))
        assert text_of(await pool.call_tool("toy", "grow", {"notify": False})) == f"{count + 1} tools"
        for _ in range(5):
            assert len(await pool.list_tools("toy")) == count  # served from the cache
        assert text_of(await pool.call_tool("toy", "stats", {})) == "1"
        await anyio.sleep(1.1)
        assert len(await pool.list_tools("toy")) == count + 1  # TTL passed: asked again
        assert text_of(await pool.call_tool("toy", "stats", {})) == "2"

        await pool.call_tool("toy", "grow", {"notify": True})
        with anyio.fail_after(5):
            while not changed:
                await anyio.sleep(0.01)
        assert changed == ["toy"]
        assert len(await pool.list_tools("toy")) == count + 2  # list_changed dropped the cache at once


async def test_tools_cache_negative_ttl(toy_stdio: Callable[..., ServerSpec]) -> None:
    environ: dict[str, str] = {}
    pool = new_pool(secrets=SecretResolver(environ=environ), negative_ttl=0.5)
    await pool.sync({"toy": toy_stdio(env={"K": {"fromEnv": "LATE_SECRET"}})})
    async with pool:
        with pytest.raises(MissingSecret):
            await pool.list_tools("toy")
        environ["LATE_SECRET"] = "now-set"
        started = time.monotonic()
        with pytest.raises(MissingSecret, match="LATE_SECRET"):
            await pool.list_tools("toy")  # the failure is cached for the negative TTL
        assert time.monotonic() - started < 0.05
        await anyio.sleep(0.6)
        assert "echo" in {tool.name for tool in await pool.list_tools("toy")}
        assert text_of(await pool.call_tool("toy", "env", {"name": "K"})) == "now-set"


async def test_tools_are_copies(toy_stdio: Callable[..., ServerSpec]) -> None:
    pool = new_pool()
    await pool.sync({"toy": toy_stdio()})
    async with pool:
        tools = await pool.list_tools("toy")
        tools[0].name = "renamed-by-caller"
        assert "renamed-by-caller" not in {tool.name for tool in await pool.list_tools("toy")}


async def test_aclose_leaves_no_child_processes(
    toy_stdio: Callable[..., ServerSpec],
    time_spec: ServerSpec,
    everything_stdio: ServerSpec,
    children: Callable[[], set[int]],
    alive: Callable[[int], bool],
) -> None:
    before = children()
    pool = new_pool()
    async with pool:
        await pool.sync(
            {"toy": toy_stdio(), "slow": toy_stdio(), "time": time_spec, "everything": everything_stdio}
        )
        for server in ("toy", "slow", "time", "everything"):
            await pool.list_tools(server)
        started_pids = children() - before
        assert len(started_pids) == 4

        async def hang() -> None:
            with pytest.raises(UpstreamUnavailable):
                await pool.call_tool("slow", "slow", {"seconds": 60})

        async with anyio.create_task_group() as group:
            group.start_soon(hang)  # a request in flight while closing
            await anyio.sleep(0.2)
            started = time.monotonic()
            await pool.aclose()
            closed_in = time.monotonic() - started
        print(f"\naclose of 4 stdio upstreams (one mid-call): {closed_in:.2f} s")
        assert not children() - before
        assert not [pid for pid in started_pids if alive(pid)]
        assert {status.state for status in pool.status().values()} == {"stopped"}
        with pytest.raises(UpstreamUnavailable):
            await pool.list_tools("toy")


async def test_probe(toy_stdio: Callable[..., ServerSpec]) -> None:
    broken = ServerSpec(transport="stdio", command=sys.executable, args=["-c", "raise SystemExit(1)"])
    pool = new_pool()
    await pool.sync(
        {
            "plain": toy_stdio(),
            "tool-ok": toy_stdio(healthCheck={"tool": "echo", "arguments": {"text": "ping"}}),
            "tool-error": toy_stdio(healthCheck={"tool": "fail"}),
            "tool-slow": toy_stdio(
                healthCheck={"tool": "slow", "arguments": {"seconds": 30}, "timeoutSeconds": 1}
            ),
            "broken": broken,
        }
    )
    async with pool:
        assert await pool.probe("plain") is True
        assert await pool.probe("tool-ok") is True
        assert await pool.probe("tool-error") is False
        assert "health check tool 'fail'" in (pool.status()["tool-error"].last_error or "")
        started = time.monotonic()
        assert await pool.probe("tool-slow") is False
        assert time.monotonic() - started < 2.5
        assert await pool.probe("broken") is False
        assert await pool.probe("broken") is False
        assert await pool.probe("broken") is False  # now within the backoff: not even started
        broken_status = pool.status()["broken"]
        assert broken_status.state == "down" and broken_status.restarts == 1
        assert broken_status.last_error == "upstream 'broken': start failed: Connection closed"
        with pytest.raises(UnknownUpstream):
            await pool.probe("nobody")


def test_resolve_server_spec_instantiates_templates() -> None:
    template = TemplateSpec.model_validate(
        {
            "parameters": [
                {"name": "tz", "default": "UTC"},
                {"name": "token", "secret": True, "required": True},
            ],
            "server": {
                "transport": "stdio",
                "command": "mcp-server-time",
                "args": ["--local-timezone", "{{ tz }}"],
                "env": {"TOKEN": "{{ token }}"},
            },
        }
    )
    spec = ServerSpec.model_validate(
        {
            "fromTemplate": {"name": "time", "values": {"token": {"secretRef": {"name": "t", "key": "k"}}}},
            "env": {"EXTRA": "1"},
            "timeouts": {"callSeconds": 5},
        }
    )
    resolved = resolve_server_spec(spec, {"time": template})
    assert resolved.transport == "stdio" and resolved.args == ["--local-timezone", "UTC"]
    assert set(resolved.env) == {"TOKEN", "EXTRA"} and resolved.timeouts.call_seconds == 5
    plain = ServerSpec(transport="stdio", command="x")
    assert resolve_server_spec(plain, {}) is plain
    with pytest.raises(InvalidUpstreamSpec, match="unknown template 'time'"):
        resolve_server_spec(spec, {})
    missing = ServerSpec.model_validate({"fromTemplate": {"name": "time"}})
    with pytest.raises(InvalidUpstreamSpec, match="token"):
        resolve_server_spec(missing, {"time": template})


async def test_unknown_server_and_closed_pool() -> None:
    pool = new_pool()
    with pytest.raises(UnknownUpstream, match="'nobody'"):
        await pool.list_tools("nobody")
    with pytest.raises(UnknownUpstream):
        pool.capabilities("nobody")
    await pool.aclose()
    with pytest.raises(UpstreamUnavailable, match="closed"):
        await pool.sync({})


async def test_failing_tools_changed_callback_is_contained(toy_stdio: Callable[..., ServerSpec]) -> None:
    calls: list[str] = []

    async def broken_callback(server: str) -> None:
        calls.append(server)
        raise RuntimeError("callback bug")

    pool = new_pool(on_tools_changed=broken_callback)
    await pool.sync({"toy": toy_stdio()})
    async with pool:
        await pool.call_tool("toy", "grow", {})
        with anyio.fail_after(5):
            while not calls:
                await anyio.sleep(0.01)
        assert text_of(await pool.call_tool("toy", "echo", {"text": "fine"})) == "fine"
        assert pool.status()["toy"].state == "up"
