"""Progress, logging, cancellation, elicitation, sampling and roots through the gateway, both directions.

A real upstream (`servers/asker.py`, stdio and Streamable HTTP) reached directly and through the real app
by the SDK client over Streamable HTTP; the answers must be the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    INITIALIZE,
    Recorder,
    free_port,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    wait_for_port,
    wait_until,
)
from mcpctl.gateway import AuthConfig, ClientRequestRelayed, SessionConfig, UpstreamConfig
from mcpctl.store import AuditQuery, Store

SSE_ANSWERS = SessionConfig(json_response=False)
"""`serve --sse-responses`: progress rides the request's own stream, so all of it arrives before the
answer. The default JSON answers send it on the GET stream, where the last steps can trail the answer
(and the SDK client drops them): the tests that count every step use SSE answers, and
`test_json_answers_carry_progress_on_the_get_stream` covers the default."""

pytestmark = [
    pytest.mark.anyio,
    # Sampling, roots and logging are deprecated in the newest protocol (SEP-2577); servers still use them.
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

ASKER = Path(__file__).parent / "servers" / "asker.py"


def asker_stdio(**spec: Any) -> dict[str, Any]:
    return {"transport": "stdio", "command": sys.executable, "args": [str(ASKER)], **spec}


@pytest.fixture
def asker_http() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ASKER), "--transport", "streamable-http", "--port", str(port)],
        env=dict(os.environ),
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Client:
    """A client with every capability; records what the server sent it."""

    name: str
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)
    logs: list[tuple[str, Any]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    release: anyio.Event | None = None
    """When set, an elicitation waits for it (so two clients' calls overlap)."""

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append((params.level, params.data))

    async def on_elicit(
        self, ctx: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.asked.append(params.message)
        if self.release is not None:
            await self.release.wait()
        return types.ElicitResult(action="accept", content={"ok": self.name == "alice"})

    async def on_sample(
        self, ctx: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        first = params.messages[0].content
        text = first.text if isinstance(first, types.TextContent) else "?"
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"{self.name}:{text[:5]}"),
            model="m",
        )

    async def on_roots(self, ctx: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///home/{self.name}", name=self.name)])

    def options(self) -> dict[str, Any]:
        return {
            "logging_callback": self.on_log,
            "elicitation_callback": self.on_elicit,
            "sampling_callback": self.on_sample,
            "list_roots_callback": self.on_roots,
        }


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def exercise(session: ClientSession, client: Client, prefix: str) -> dict[str, Any]:
    """Every exchange once; what the client saw."""
    await session.set_logging_level("info")
    seen: dict[str, Any] = {
        "progress": text(
            await session.call_tool(f"{prefix}progress", {"steps": 3}, progress_callback=client.on_progress)
        ),
        "no-token": text(await session.call_tool(f"{prefix}progress", {"steps": 2})),
        "chatty": text(await session.call_tool(f"{prefix}chatty", {"text": "hi"})),
        "confirm": text(await session.call_tool(f"{prefix}confirm", {"question": "Delete it?"})),
        "summarize": text(await session.call_tool(f"{prefix}summarize", {"text": "a long story"})),
        "roots": text(await session.call_tool(f"{prefix}roots", {})),
    }
    # The SDK client hands progress and log lines to tasks of their own: they may trail the answer.
    await wait_until(lambda: len(client.logs) >= 2 and len(client.progress) >= 3, 5)
    seen.update(progress_seen=list(client.progress), logs=list(client.logs), asked=list(client.asked))
    return seen


@asynccontextmanager
async def direct_stdio(client: Client) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=[str(ASKER)])
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, **client.options()) as session,
    ):
        await session.initialize()
        yield session


EXPECTED = {
    "progress": "done 3; token seen",
    "no-token": "done 2; token absent",
    "chatty": "logged",
    "confirm": "accept:{'ok': True}",
    "summarize": "summary:alice:a lon",
    "roots": "file:///home/alice",
    "progress_seen": [(1.0, 3.0, "step 1"), (2.0, 3.0, "step 2"), (3.0, 3.0, "step 3")],
    "logs": [("info", "hi:info"), ("warning", "hi:warning")],
    "asked": ["Delete it?"],
}


@pytest.mark.parametrize("sessions", ["shared", "per-client"])
async def test_every_exchange_through_the_gateway_equals_the_direct_one(
    sqlite_store: Store, sessions: str
) -> None:
    direct_client = Client("alice")
    async with direct_stdio(direct_client) as direct:
        seen_direct = await exercise(direct, direct_client, "")
    recorder = Recorder()
    put(sqlite_store, server_doc("asker", asker_stdio(sessions=sessions)), project_doc("p", ["asker"]))
    with serve_gateway(
        sqlite_store, auth=AuthConfig(enabled=False), event_sinks=[recorder], sessions=SSE_ANSWERS
    ) as gateway:
        client = Client("alice")
        async with mcp_session(gateway.url("p"), **client.options()) as session:
            seen = await exercise(session, client, "asker__")
    assert seen_direct == EXPECTED
    assert seen == EXPECTED
    relayed = recorder.of(ClientRequestRelayed)
    assert sorted(e.method for e in relayed) == ["elicitation/create", "roots/list", "sampling/createMessage"]
    assert {e.outcome for e in relayed} == {"answered"} and {e.server for e in relayed} == {"asker"}
    # Each relayed request is in the audit trail (written when the gateway stopped), without its content.
    audited = sqlite_store.query_audit(AuditQuery(kind="client_request"))
    assert sorted(e.tool or "" for e in audited) == [
        "elicitation/create",
        "roots/list",
        "sampling/createMessage",
    ]
    assert {(e.server, e.outcome, e.project) for e in audited} == {("asker", "ok", "p")}
    assert all(e.correlation_id and e.session_id for e in audited)
    assert not any("Delete it?" in str(e.to_document()) or "alice" in str(e.detail) for e in audited)


async def test_streamable_http_upstream_relays_the_same(sqlite_store: Store, asker_http: str) -> None:
    put(
        sqlite_store,
        server_doc("asker", {"transport": "streamable-http", "url": asker_http}),
        project_doc("p", ["asker"]),
    )
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False), sessions=SSE_ANSWERS) as gateway:
        client = Client("alice")
        async with mcp_session(gateway.url("p"), **client.options()) as session:
            seen = await exercise(session, client, "asker__")
    assert seen == EXPECTED


async def test_json_answers_carry_progress_on_the_get_stream(sqlite_store: Store) -> None:
    """The default: each POST is answered with plain JSON, and progress goes on the GET stream. Sent
    well before the answer, every step arrives, in order, against the client's own token."""
    put(sqlite_store, server_doc("asker", asker_stdio()), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        assert gateway.config.sessions.json_response
        client = Client("alice")
        async with mcp_session(gateway.url("p"), **client.options()) as session:
            answer = await session.call_tool(
                "asker__progress", {"steps": 3, "pause": 0.5}, progress_callback=client.on_progress
            )
    assert text(answer) == "done 3; token seen"
    assert client.progress == EXPECTED["progress_seen"]


async def test_a_client_without_the_capabilities_gets_a_clear_refusal_and_the_upstream_an_error(
    sqlite_store: Store,
) -> None:
    put(sqlite_store, server_doc("asker", asker_stdio()), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        async with mcp_session(gateway.url("p")) as session:
            for tool, kind in (("confirm", "elicitation"), ("summarize", "sampling"), ("roots", "roots")):
                # The upstream does not catch the error its request got, so its call fails with it.
                with pytest.raises(MCPError, match=f"the client did not declare the {kind} capability"):
                    await session.call_tool(f"asker__{tool}", {"question": "?", "text": "t"})


async def test_a_server_setting_turns_a_request_kind_off(sqlite_store: Store) -> None:
    spec = asker_stdio(clientRequests={"elicitation": False})
    put(sqlite_store, server_doc("asker", spec), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        client = Client("alice")
        async with mcp_session(gateway.url("p"), **client.options()) as session:
            # Not advertised to the upstream; one that asks anyway is answered as by a client without it.
            with pytest.raises(MCPError, match=r"^Elicitation not supported$"):
                await session.call_tool("asker__confirm", {"question": "Delete it?"})
            allowed = await session.call_tool("asker__roots", {})
    assert client.asked == []
    assert text(allowed) == "file:///home/alice"


async def test_two_concurrent_clients_each_get_only_their_own(sqlite_store: Store) -> None:
    put(sqlite_store, server_doc("asker", asker_stdio(sessions="per-client")), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False), sessions=SSE_ANSWERS) as gateway:
        release = anyio.Event()
        alice, bob = Client("alice", release=release), Client("bob", release=release)
        answers: dict[str, str] = {}

        async def run(client: Client) -> None:
            async with mcp_session(gateway.url("p"), **client.options()) as session:
                await session.set_logging_level("warning")
                await session.call_tool("asker__chatty", {"text": client.name})
                await session.call_tool(
                    "asker__progress",
                    {"steps": 2 if client.name == "alice" else 4},
                    progress_callback=client.on_progress,
                )
                answers[client.name] = text(
                    await session.call_tool("asker__confirm", {"question": client.name})
                )
                answers[client.name + "-pid"] = text(await session.call_tool("asker__pid", {}))

        async with anyio.create_task_group() as group:
            group.start_soon(run, alice)
            group.start_soon(run, bob)
            # Both elicitations are pending at once before either is answered.
            await wait_until(lambda: bool(alice.asked and bob.asked), 60)
            release.set()
        # Progress rides the standalone stream, the answer its POST: the last one may trail the answer.
        await wait_until(lambda: len(alice.progress) == 2 and len(bob.progress) == 4, 5)
    assert alice.asked == ["alice"] and bob.asked == ["bob"]
    assert answers["alice"] == "accept:{'ok': True}" and answers["bob"] == "accept:{'ok': False}"
    assert alice.logs == [("warning", "alice:warning")] and bob.logs == [("warning", "bob:warning")]
    assert [p[0] for p in alice.progress] == [1.0, 2.0] and [p[0] for p in bob.progress] == [
        1.0,
        2.0,
        3.0,
        4.0,
    ]
    assert answers["alice-pid"] != answers["bob-pid"]


async def test_shared_session_declines_what_it_cannot_attribute(sqlite_store: Store, tmp_path: Path) -> None:
    put(sqlite_store, server_doc("asker", asker_stdio()), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        alice, bob = Client("alice"), Client("bob")
        async with (
            mcp_session(gateway.url("p"), **alice.options()) as a,
            mcp_session(gateway.url("p"), **bob.options()) as b,
            anyio.create_task_group() as group,
        ):
            # Bob's call is in flight on the shared upstream session while Alice's asks a question.
            group.start_soon(b.call_tool, "asker__wait", {"seconds": 1.5, "marker": str(tmp_path / "m")})
            await anyio.sleep(0.5)
            with pytest.raises(MCPError, match=r"cannot tell which client.*set spec.sessions: per-client"):
                await a.call_tool("asker__confirm", {"question": "whose?"})
    assert alice.asked == [] and bob.asked == []


async def test_client_cancellation_cancels_the_upstream_call(sqlite_store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    put(sqlite_store, server_doc("asker", asker_stdio()), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        async with mcp_session(gateway.url("p")) as session:
            await session.call_tool("asker__pid", {})  # the upstream is up: the cancel below finds it running
            with anyio.move_on_after(1.5):
                # The SDK client sends notifications/cancelled when the caller gives up.
                await session.call_tool("asker__wait", {"seconds": 30, "marker": str(marker)})
            await wait_until(marker.exists, 10)
            # The gateway answers the cancelled POST (-32800) once its handler has settled; let that answer
            # arrive while the client still reads, or the SDK client fails delivering it during its exit.
            await anyio.sleep(1.0)
    assert marker.read_text() == "cancelled"


async def test_a_client_ending_its_session_cancels_its_upstream_work(
    sqlite_store: Store, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    put(sqlite_store, server_doc("asker", asker_stdio(sessions="per-client")), project_doc("p", ["asker"]))
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        pool, url = gateway.runtime.pool, gateway.url("p")
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            opened = await http.post(url, content=json.dumps(INITIALIZE))
            headers = {
                "mcp-session-id": opened.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-06-18",
            }
            await http.post(
                url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
            )
            call = {"name": "asker__wait", "arguments": {"seconds": 30, "marker": str(marker)}}
            async with anyio.create_task_group() as group:
                request = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}
                group.start_soon(partial(http.post, url, json=request, headers=headers))
                await wait_until(
                    lambda: pool.client_sessions("asker") == 1 and pool.in_flight("asker") == 1, 20
                )
                await anyio.sleep(0.5)
                # The client ends its session (DELETE) while its call runs upstream.
                assert (await http.delete(url, headers=headers)).status_code == 200
                await wait_until(marker.exists, 10)
                await wait_until(lambda: pool.client_sessions("asker") == 0, 10)
                group.cancel_scope.cancel()
    assert marker.read_text() == "cancelled"


async def test_a_client_that_does_not_answer_in_time_lets_the_upstream_go_on(sqlite_store: Store) -> None:
    spec = asker_stdio(clientRequests={"timeoutSeconds": 1.0})
    recorder = Recorder()
    put(sqlite_store, server_doc("asker", spec), project_doc("p", ["asker"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False), event_sinks=[recorder]) as gateway:
        client = Client("alice", release=anyio.Event())  # never set: the user never answers
        async with mcp_session(gateway.url("p"), **client.options()) as session:
            with pytest.raises(MCPError, match=r"the client did not answer elicitation/create within 1s"):
                await session.call_tool("asker__confirm", {"question": "Still there?"})
            # The session goes on: the next exchange works.
            assert text(await session.call_tool("asker__roots", {})) == "file:///home/alice"
    assert client.asked == ["Still there?"]
    assert [(e.method, e.outcome) for e in recorder.of(ClientRequestRelayed)] == [
        ("elicitation/create", "timeout"),
        ("roots/list", "answered"),
    ]


async def test_per_client_sessions_are_bounded_per_server(sqlite_store: Store) -> None:
    put(sqlite_store, server_doc("asker", asker_stdio(sessions="per-client")), project_doc("p", ["asker"]))
    limits = UpstreamConfig(max_client_sessions=1)
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False), upstream=limits) as gateway:
        async with mcp_session(gateway.url("p")) as first, mcp_session(gateway.url("p")) as second:
            assert (await first.call_tool("asker__pid", {})).is_error is False
            refused = await second.call_tool("asker__pid", {})
            assert refused.is_error and "1 per-client sessions are open already" in text(refused)
        # Both sessions ended: their per-client upstream sessions are gone, and a new client gets one.
        await wait_until(lambda: gateway.runtime.pool.client_sessions("asker") == 0, 10)
        async with mcp_session(gateway.url("p")) as third:
            assert (await third.call_tool("asker__pid", {})).is_error is False
