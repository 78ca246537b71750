"""The layer seam end to end: a layer filters, refuses, answers, post-processes and notifies one session."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    Recorder,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    wait_until,
)
from mcpctl.gateway import (
    AccessDenied,
    CallContext,
    GatewaySession,
    Layer,
    Listed,
    RequestFinished,
    SessionClosed,
    SessionOpened,
    refuse,
)
from mcpctl.gateway._pipeline import ListNext, ToolNext
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio

UNLOCK = "demo_unlock"
EXTRA = "demo_extra"
CLOSE_OTHERS = "demo_close_others"


class DemoLayer(Layer):
    """Hides `add`, answers a virtual tool that unlocks another one for its session, tags echo results."""

    name = "demo"

    def __init__(self) -> None:
        self.calls: list[CallContext] = []
        self.opened: list[str] = []
        self.sessions: list[GatewaySession] = []
        self.closed: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        listed = [entry for entry in await call_next(call) if entry.name != "add"]
        # What pins would hash: the server's own definition beside the namespaced one.
        assert all(e.source is not None and e.source.name == e.name for e in listed)
        assert all(e.item.name == f"{e.server}__{e.name}" for e in listed)
        listed.append(Listed(types.Tool(name=UNLOCK, input_schema={"type": "object"}), None, UNLOCK))
        if call.session.state.get("demo.unlocked"):
            listed.append(Listed(types.Tool(name=EXTRA, input_schema={"type": "object"}), None, EXTRA))
        return listed

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        self.calls.append(call)
        if params.name == CLOSE_OTHERS:
            for session in self.sessions:
                if session is not call.session and session.is_open:
                    await session.close()
            return types.CallToolResult(content=[types.TextContent(type="text", text="closed")])
        if params.name == UNLOCK:
            call.session.state["demo.unlocked"] = True
            await call.session.tools_changed()
            return types.CallToolResult(content=[types.TextContent(type="text", text="unlocked")])
        if call.target is not None and call.target.name == "add":
            refuse(call, "the demo layer hides add")
        result = await call_next(call, params)
        tag = types.TextContent(type="text", text="[demo]")
        return result.model_copy(update={"content": [*result.content, tag]})

    async def session_opened(self, session: GatewaySession) -> None:
        self.opened.append(session.id)
        self.sessions.append(session)

    async def session_closed(self, session: GatewaySession, reason: str) -> None:
        self.closed.append((session.id, reason, dict(session.state)))


def _texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


async def test_a_layer_filters_refuses_answers_post_processes_and_notifies_one_session(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec], caplog: pytest.LogCaptureFixture
) -> None:
    put(
        sqlite_store,
        server_doc("toy", toy_stdio()),
        server_doc("other", toy_stdio()),
        project_doc("demo", ["toy", "other"]),
    )
    token = create_token(sqlite_store, "demo", "ci")
    layer, recorder = DemoLayer(), Recorder()
    caplog.set_level(logging.DEBUG, logger="mcpctl.gateway._upstream")
    with serve_gateway(sqlite_store, layers=[layer], event_sinks=[recorder]) as gateway:
        told_a: list[Any] = []
        told_b: list[Any] = []

        async def on_a(message: Any) -> None:
            told_a.append(message)

        async def on_b(message: Any) -> None:
            told_b.append(message)

        async with (
            mcp_session(gateway.url("demo"), token, message_handler=on_a) as a,
            mcp_session(gateway.url("demo"), token, message_handler=on_b) as b,
        ):
            names = {t.name for t in (await a.list_tools()).tools}
            assert "toy__echo" in names and UNLOCK in names
            assert "toy__add" not in names and EXTRA not in names

            # Refused exactly like a tool that does not exist.
            with pytest.raises(MCPError) as refused:
                await a.call_tool("toy__add", {"a": 1, "b": 2})
            with pytest.raises(MCPError) as unknown:
                await a.call_tool("toy__nope", {})
            assert refused.value.code == unknown.value.code == types.INVALID_PARAMS
            assert refused.value.message == "Unknown tool: toy__add"
            assert unknown.value.message == "Unknown tool: toy__nope"

            # Passed on and post-processed.
            echoed = await a.call_tool("toy__echo", {"text": "planted-argument-value"})
            assert _texts(echoed) == ["planted-argument-value", "[demo]"]

            # Answered by the layer; only session a hears list_changed and sees the unlocked tool.
            assert _texts(await a.call_tool(UNLOCK, {})) == ["unlocked"]
            await wait_until(lambda: any(isinstance(m, types.ToolListChangedNotification) for m in told_a), 5)
            assert EXTRA in {t.name for t in (await a.list_tools()).tools}
            assert EXTRA not in {t.name for t in (await b.list_tools()).tools}
            assert not any(isinstance(m, types.ToolListChangedNotification) for m in told_b)
            assert len(gateway.runtime.sessions.sessions("demo")) == 2

            # A layer ends another session: its client is told the session is gone.
            assert _texts(await a.call_tool(CLOSE_OTHERS, {})) == ["closed"]
            assert len(gateway.runtime.sessions.sessions("demo")) == 1
            with pytest.raises(MCPError):
                await b.list_tools()

        await wait_until(lambda: len(layer.closed) == 2, 5)

    # Each session was opened and closed once, the layer seeing its state at close.
    assert sorted(layer.opened) == sorted(session_id for session_id, _, _ in layer.closed)
    assert sorted(reason for _, reason, _ in layer.closed) == ["client", "closed"]
    assert [state for _, _, state in layer.closed].count({"demo.unlocked": True}) == 1
    assert len(recorder.of(SessionOpened)) == 2 and len(recorder.of(SessionClosed)) == 2

    # The principal and a fresh correlation id per request reached the layer.
    assert {call.principal.token_name for call in layer.calls if call.principal} == {"ci"}
    assert len({call.correlation_id for call in layer.calls}) == len(layer.calls) == 5

    finished = recorder.of(RequestFinished)
    calls = [e for e in finished if e.call.method == "tools/call"]
    by_name = {e.call.target.exposed: e for e in calls if e.call.target is not None}
    assert by_name["toy__add"].outcome == "denied" and by_name["toy__nope"].outcome == "unknown"
    assert by_name[UNLOCK].outcome == "ok" and by_name[UNLOCK].call.target.server is None
    echo = by_name["toy__echo"]
    canonical = json.dumps({"text": "planted-argument-value"}, sort_keys=True, separators=(",", ":"))
    assert echo.outcome == "ok" and echo.arguments_digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert echo.result_size == len("planted-argument-value") + len("[demo]")
    assert echo.call.target.server == "toy" and echo.call.target.name == "echo"
    denied = recorder.of(AccessDenied)
    assert [(d.call.target.exposed, d.reason) for d in denied] == [("toy__add", "the demo layer hides add")]
    assert all("planted-argument-value" not in repr(event) for event in recorder.events)

    # One correlation id for a fan-out: the first tools/list asked both servers under the same id.
    first_list = next(e for e in finished if e.call.method == "tools/list")
    upstream_lines = [
        r.getMessage() for r in caplog.records if first_list.call.correlation_id in r.getMessage()
    ]
    assert any("'toy'" in line for line in upstream_lines) and any(
        "'other'" in line for line in upstream_lines
    )
    # And the upstream call of a tools/call carries that call's id.
    assert any(
        echo.call.correlation_id in r.getMessage() and "tools/call echo" in r.getMessage()
        for r in caplog.records
    )
