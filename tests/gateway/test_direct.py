"""Direct tools/call over Streamable HTTP answers, fails and reports exactly as the SDK's client path does.

Each case runs the same call both ways on one live session: through `DirectToolCalls` and through the
SDK's own `ClientSession.call_tool`. The real toy server (the Python SDK's server) covers real answers;
a scripted ASGI server covers what a real server rarely does on demand: a 202, a 404, an HTML page, a
stream cut before its answer, progress and log lines before the answer, a call that never ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcpctl.gateway import SecretResolver
from mcpctl.gateway._direct import FIRST_ID, DirectToolCalls, direct_calls_allowed
from mcpctl.gateway._streamable import StreamableHttp
from mcpctl.gateway._upstream import Upstream
from mcpctl.schemas import ServerSpec

from .gateway_harness import serve_asgi

pytestmark = pytest.mark.anyio

Asgi = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[..., Awaitable[None]]], Any
]


@asynccontextmanager
async def live(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[Upstream, DirectToolCalls]]:
    spec = ServerSpec.model_validate({"transport": "streamable-http", "url": url, "headers": headers or {}})
    async with Upstream("up", spec, SecretResolver(environ={})) as upstream:
        await upstream.request("tools/list", lambda s: s.list_tools())
        conn = upstream._conn
        assert conn is not None and conn.direct is not None, "the session should take direct calls"
        yield upstream, conn.direct


def session_of(upstream: Upstream) -> ClientSession:
    conn = upstream._conn
    assert conn is not None and conn.session is not None
    return conn.session


async def outcome(call: Awaitable[Any]) -> Any:
    """A result's dump, or the error raised as (type, code, message): what both paths must agree on."""
    try:
        return (await call).model_dump()
    except MCPError as error:
        return ("MCPError", error.code, error.message)
    except Exception as error:
        return (type(error).__name__, str(error))


async def both_ways(upstream: Upstream, direct: DirectToolCalls, name: str, arguments: dict[str, Any]) -> Any:
    session = session_of(upstream)
    via_direct = await outcome(direct.call_tool(session, name, arguments))
    via_sdk = await outcome(session.call_tool(name, arguments))
    assert via_direct == via_sdk
    return via_direct


async def test_real_server_answers_are_the_sdk_answers(toy_http: Callable[..., str]) -> None:
    async with live(toy_http("streamable-http"), {"x-team": "blue"}) as (upstream, direct):
        assert (await both_ways(upstream, direct, "echo", {"text": "hi"}))["content"][0]["text"] == "hi"
        assert (await both_ways(upstream, direct, "fail", {}))["is_error"] is True
        big = await both_ways(upstream, direct, "big", {"n": 300_000})
        assert len(big["content"][0]["text"]) == 300_000
        # The session's HTTP client carries the spec's headers (credentials) on direct calls too.
        assert (await both_ways(upstream, direct, "header", {"name": "x-team"}))["content"][0][
            "text"
        ] == "blue"
        assert await both_ways(upstream, direct, "nope", {}) == ("MCPError", -32602, "unknown tool 'nope'")


async def test_pool_calls_go_direct_and_keep_working_after_a_cancelled_call(
    toy_http: Callable[..., str],
) -> None:
    async with live(toy_http("streamable-http")) as (upstream, _):
        with anyio.move_on_after(0.3):
            await upstream.call_tool("slow", {"seconds": 30})
        # The connection under the abandoned call is not reused half-read: the next calls answer.
        for n in range(5):
            result = await upstream.call_tool("echo", {"text": str(n)})
            assert result.content[0].text == str(n)  # type: ignore[union-attr]


async def test_a_modern_session_keeps_the_sdk_path() -> None:
    assert all(not direct_calls_allowed(version) for version in MODERN_PROTOCOL_VERSIONS)
    assert direct_calls_allowed("2025-11-25") and direct_calls_allowed("2025-06-18")
    link = StreamableHttp("http://127.0.0.1:9/mcp", {}, 1.0, 1.0)
    assert link.direct_calls("2025-11-25", _no_inbox, _no_log) is None  # not open: no HTTP client


async def _no_inbox(message: Any) -> None:
    raise AssertionError("nothing should reach the inbox")


async def _no_log(params: Any) -> None:
    raise AssertionError("nothing should be logged")


class Scripted:
    """A Streamable HTTP server whose tools/call answers are scripted per tool name; records what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await self._reply(send, 405 if scope["method"] == "GET" else 200, "text/plain", b"")
            return
        body = b""
        while True:
            chunk = await receive()
            body += chunk.get("body", b"")
            if not chunk.get("more_body"):
                break
        message = json.loads(body)
        self.received.append(message)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            await self._reply(send, 202, "text/plain", b"")
        elif method == "initialize":
            result = {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}, "logging": {}},
                "serverInfo": {"name": "scripted", "version": "1"},
            }
            await self._json(send, {"jsonrpc": "2.0", "id": request_id, "result": result})
        elif method == "tools/list":
            tools = [{"name": name, "inputSchema": {"type": "object"}} for name in SCRIPTS]
            await self._json(send, {"jsonrpc": "2.0", "id": request_id, "result": {"tools": tools}})
        else:
            await SCRIPTS[message["params"]["name"]](self, send, message)

    async def _reply(self, send: Any, status: int, content_type: str, body: bytes) -> None:
        headers = [(b"content-type", content_type.encode()), (b"mcp-session-id", b"s-1")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _json(self, send: Any, message: dict[str, Any], status: int = 200) -> None:
        await self._reply(send, status, "application/json", json.dumps(message).encode())

    async def _sse_raw(self, send: Any, body: bytes) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"mcp-session-id", b"s-1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _sse(self, send: Any, messages: list[dict[str, Any] | None]) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"mcp-session-id", b"s-1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for message in messages:
            # None is a priming event: an id and no data.
            event = (
                "id: 0\ndata:\n\n" if message is None else f"event: message\ndata: {json.dumps(message)}\n\n"
            )
            await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _answer(message: dict[str, Any], text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": text}]}}


async def _sse_with_news(server: Scripted, send: Any, message: dict[str, Any]) -> None:
    token = message["params"].get("_meta", {}).get("progressToken")
    news: list[dict[str, Any] | None] = [None]
    news.append(
        {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}}
    )
    if token is not None:
        progress = {"progressToken": token, "progress": 1, "total": 2, "message": "half"}
        news.append({"jsonrpc": "2.0", "method": "notifications/progress", "params": progress})
    await server._sse(send, [*news, _answer(message, "done")])


async def _hang(server: Scripted, send: Any, message: dict[str, Any]) -> None:
    await asyncio.sleep(60)


SCRIPTS: dict[str, Callable[[Scripted, Any, dict[str, Any]], Awaitable[None]]] = {
    "json": lambda server, send, message: server._json(send, _answer(message, "plain")),
    "sse": _sse_with_news,
    "sse-error": lambda server, send, message: server._sse(
        send, [{"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32602, "message": "bad arguments"}}]
    ),
    "garbage": lambda server, send, message: server._sse_raw(send, b"event: message\ndata: {not json\n\n"),
    "rpc-error": lambda server, send, message: server._json(
        send, {"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32602, "message": "bad arguments"}}
    ),
    "http-rpc-error": lambda server, send, message: server._json(
        send, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "refused"}}, status=400
    ),
    "http-error": lambda server, send, message: server._reply(send, 500, "text/plain", b"oops"),
    "gone": lambda server, send, message: server._reply(send, 404, "text/plain", b""),
    "accepted": lambda server, send, message: server._reply(send, 202, "text/plain", b""),
    "html": lambda server, send, message: server._reply(send, 200, "text/html", b"<p>hi</p>"),
    "cut": lambda server, send, message: server._sse(
        send,
        [{"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}}],
    ),
    "not-a-result": lambda server, send, message: server._json(
        send, {"jsonrpc": "2.0", "id": message["id"], "result": {"content": "not a list"}}
    ),
    "hang": _hang,
}


@contextmanager
def scripted_server() -> Iterator[tuple[str, Scripted]]:
    app = Scripted()
    with serve_asgi(app) as url:
        yield f"{url}/mcp", app


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("json", "plain"),
        ("rpc-error", ("MCPError", -32602, "bad arguments")),
        ("sse-error", ("MCPError", -32602, "bad arguments")),
        ("http-rpc-error", ("MCPError", -32600, "refused")),
        ("http-error", ("MCPError", -32603, "Server returned an error response")),
        ("gone", ("MCPError", -32600, "Session terminated")),
        ("accepted", ("MCPError", -32600, "server answered a request with 202 Accepted")),
        ("html", ("MCPError", -32600, "Unexpected content type: text/html")),
        ("cut", ("MCPError", -32000, "SSE stream ended without a response")),
    ],
)
async def test_every_kind_of_answer_is_reported_as_the_sdk_reports_it(tool: str, expected: Any) -> None:
    with scripted_server() as (url, _):
        async with live(url) as (upstream, direct):
            seen = await both_ways(upstream, direct, tool, {})
    assert (seen["content"][0]["text"] if isinstance(seen, dict) else seen) == expected


async def test_error_answers_and_unreadable_messages_leave_the_connections_usable() -> None:
    with scripted_server() as (url, _):
        async with live(url) as (upstream, direct):
            session = session_of(upstream)
            for _ in range(10):
                with pytest.raises(MCPError, match="bad arguments"):
                    await direct.call_tool(session, "sse-error", {})
                with pytest.raises(MCPError, match="Failed to parse SSE message") as unreadable:
                    await direct.call_tool(session, "garbage", {})
                assert unreadable.value.code == -32700
                answer = await direct.call_tool(session, "sse", {})
                assert answer.content[0].text == "done"  # type: ignore[union-attr]


async def test_a_result_that_breaks_the_protocol_is_refused_both_ways() -> None:
    with scripted_server() as (url, _):
        async with live(url) as (upstream, direct):
            session = session_of(upstream)
            with pytest.raises(MCPError, match="invalid tools/call result"):
                await direct.call_tool(session, "not-a-result", {})
            with pytest.raises(ValueError, match="validation error"):
                await session.call_tool("not-a-result", {})


async def test_progress_and_log_lines_before_the_answer_reach_their_callbacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mcpctl.gateway.upstream")
    with scripted_server() as (url, _):
        async with live(url) as (upstream, direct):
            steps: list[tuple[float, float | None, str | None]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                steps.append((progress, total, message))

            result = await direct.call_tool(session_of(upstream), "sse", {}, progress=on_progress)
            assert result.content[0].text == "done"  # type: ignore[union-attr]
            # Delivered before the answer returned: no waiting needed.
            assert steps == [(1.0, 2.0, "half")]
            # No client request is in flight in this bare upstream, so the relay writes the line to the log.
            assert any(
                "upstream 'up'" in record.message and "hi" in record.message for record in caplog.records
            )
            without = await direct.call_tool(session_of(upstream), "sse", {})
            assert without.content[0].text == "done"  # type: ignore[union-attr]
            assert len(steps) == 1


async def test_a_cancelled_call_is_cancelled_on_the_upstream_too() -> None:
    with scripted_server() as (url, server):
        async with live(url) as (upstream, _):
            with anyio.move_on_after(0.3):
                await upstream.call_tool("hang", {})
            deadline = time.monotonic() + 5
            while True:
                calls = [m for m in server.received if m.get("method") == "tools/call"]
                cancels = [m for m in server.received if m.get("method") == "notifications/cancelled"]
                if cancels:
                    break
                assert time.monotonic() < deadline, "the upstream was never told"
                await anyio.sleep(0.05)
            assert cancels[0]["params"]["requestId"] == calls[-1]["id"]
            assert calls[-1]["id"] >= FIRST_ID  # the direct path's own id space, apart from the SDK's
