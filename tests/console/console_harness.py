"""An audit trail written by a real gateway run, for the console's tests and its screenshots.

`record_trail` serves the real gateway app (uvicorn, in a thread) over a SQLite store with the toy
MCP server as its upstream (stdio), and drives it with the MCP SDK's client over Streamable HTTP:

- research / `analyst` (owner bob): one session, `echo` then `fail` (an error result);
- platform / `probe`: PROBES short sessions of one `add` each (enough lines to scroll the sidebar);
- platform / `ci-bot` (owner alice, may run echo, add, fail and big only): the newest session,
  `echo`, `add`, `pid` (denied by RBAC), `fail` (error), `big`, then TICKS more `echo`s.

Sessions run one after the other, each closed before the next opens, so their times do not overlap
(the date-preset tests rely on it). The store then holds exactly what the gateway wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError
from textual.pilot import Pilot
from textual.widgets import Tree

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
from mcpctl.console import ConsoleApp
from mcpctl.store import AuditQuery, AuditSession, Store

PROBES = 6
TICKS = 8
CI_BOT_TOOLS = ["echo", "add", "fail", "big"]
"""What ci-bot may run on the toy server: its `pid` call is refused."""
CI_BOT_CALLS = ["echo", "add", "pid", "fail", "big", *["echo"] * TICKS]
"""ci-bot's calls in order (`pid` appears in the trail as the access_denied event, not a tool_call)."""
DENIAL = "McpToken/platform/ci-bot may not run servers/toy/pid"


def _user(name: str) -> dict[str, Any]:
    spec = {"email": f"{name}@example.com"}
    return {"apiVersion": API, "kind": "User", "metadata": {"name": name}, "spec": spec}


def _auditors(project: str, token: str) -> dict[str, Any]:
    """A RoleBinding granting `token` the `audit` operation (what the gateway's audit API needs)."""
    return {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": {"name": "auditors", "project": project},
        "spec": {"subjects": [{"kind": "McpToken", "name": token}], "operations": [{"action": "audit"}]},
    }


@dataclass
class Trail:
    """A running gateway, its store and tokens, and what the run left in the audit trail."""

    gateway: RunningGateway
    store: Store
    url: str
    tokens: dict[str, str]
    """Token values by name: analyst, probe, ci-bot (MCP clients), auditor (audit), plain (no audit)."""

    def sessions(self) -> list[AuditSession]:
        """Every session stored, latest activity first (as the console lists them)."""
        return self.store.audit_sessions(AuditQuery(limit=1000))

    def session_of(self, token: str) -> AuditSession:
        """The newest session of a token."""
        return next(s for s in self.sessions() if s.token == token)

    def flush(self) -> None:
        assert self.gateway.runtime.audit.writer.flush(10), "the audit writer did not flush"

    async def ci_bot_session(self, calls: list[str]) -> None:
        """One ci-bot session making `calls` (a refused one is swallowed: it is in the trail)."""
        async with mcp_session(self.gateway.url("platform"), self.tokens["ci-bot"]) as session:
            for tool in calls:
                arguments = _ARGUMENTS.get(tool, {})
                try:
                    await session.call_tool(f"toy__{tool}", arguments)
                except MCPError:
                    assert tool not in CI_BOT_TOOLS, f"{tool} was refused"


_ARGUMENTS: dict[str, dict[str, Any]] = {
    "echo": {"text": "hello"},
    "add": {"a": 1, "b": 2},
    "big": {"n": 64},
}


def _estate(store: Store) -> dict[str, str]:
    put(
        store,
        server_doc("toy", toy_spec()),
        project_doc("platform", ["toy"]),
        project_doc("research", ["toy"]),
        _user("alice"),
        _user("bob"),
        _auditors("platform", "auditor"),
    )
    run_some = [{"role": "run", "resource": "servers", "names": ["toy"], "tools": CI_BOT_TOOLS}]
    return {
        "analyst": create_token(store, "research", "analyst", owner="bob"),
        "probe": create_token(store, "platform", "probe"),
        "ci-bot": create_token(store, "platform", "ci-bot", owner="alice", bindings=run_some),
        "auditor": create_token(store, "platform", "auditor", bindings=[]),
        "plain": create_token(store, "platform", "plain", bindings=[]),
    }


async def _traffic(trail: Trail) -> None:
    gateway, tokens = trail.gateway, trail.tokens
    async with mcp_session(gateway.url("research"), tokens["analyst"]) as session:
        await session.call_tool("toy__echo", {"text": "notes"})
        assert (await session.call_tool("toy__fail", {})).is_error
    for _ in range(PROBES):
        await anyio.sleep(0.01)  # session times strictly apart, whatever the clock's resolution
        async with mcp_session(gateway.url("platform"), tokens["probe"]) as session:
            await session.call_tool("toy__add", {"a": 2, "b": 3})
    await anyio.sleep(0.01)
    await trail.ci_bot_session(CI_BOT_CALLS)


@contextmanager
def record_trail(database_url: str) -> Iterator[Trail]:
    """Run the gateway over a new store at `database_url`, make the traffic above, flush, and yield
    the trail with the gateway still serving (the audit API tests read it; follow tests add to it)."""
    store = Store.open(database_url)
    try:
        tokens = _estate(store)
        with serve_gateway(store) as gateway:
            trail = Trail(gateway, store, database_url, tokens)
            anyio.run(_traffic, trail)
            trail.flush()
            _wait_closed(trail)
            yield trail
    finally:
        store.close()


def _wait_closed(trail: Trail, timeout: float = 30.0) -> None:
    """Until every session's close is stored (a client's DELETE is answered before it is audited)."""
    deadline = time.monotonic() + timeout
    while not all(s.closed for s in trail.sessions()) or len(trail.sessions()) < PROBES + 2:
        assert time.monotonic() < deadline, f"sessions not closed: {trail.sessions()}"
        time.sleep(0.05)
        trail.flush()


async def settle(pilot: Pilot[None], until: Callable[[], bool] = lambda: True, timeout: float = 30.0) -> None:
    """Wait until the app has no read in flight and `until` holds (reads run in threads, so a
    Pilot pause alone does not wait for them); fails after `timeout` seconds."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if app.busy == 0 and until():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the console did not settle within {timeout}s")
        await pilot.pause(0.05)


def opened(app: ConsoleApp) -> Callable[[], bool]:
    """The first read is done: the sidebar lists the sessions."""
    return lambda: bool(app.sessions) and app.query_one("#sessions", Tree).cursor_node is not None
