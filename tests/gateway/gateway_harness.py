"""Helpers for the gateway tests: fill a real store, run the real app on uvicorn, connect a real MCP client.

The app runs in a thread of this process (its own event loop) on a free 127.0.0.1 port.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
import httpx2
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from _samples import doc
from mcpctl.gateway import (
    AuthConfig,
    GatewayConfig,
    GatewayEvent,
    ListConfig,
    LiveConfig,
    create_app,
    uvicorn_config,
)
from mcpctl.schemas import McpToken, ServerSpec, parse_resource
from mcpctl.store import Store

TOY = Path(__file__).parent / "servers" / "toy.py"
"""Our own small MCP server (stdio, SSE or Streamable HTTP), used as an upstream throughout the tests."""
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
"""A raw JSON-RPC initialize request, for tests that speak HTTP without the SDK client."""


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_asgi(app: Any, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve an ASGI app on uvicorn in a background thread; yields http://127.0.0.1:<port>."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; raise if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def proc_state(pid: int) -> str | None:
    """The /proc state letter of a process (R, S, Z, ...), or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    state = proc_state(pid)
    return state is not None and state != "Z"


def wait_healthy(base: str, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Return once `base`/healthz answers 200; fail with the process's stderr if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


def toy_spec() -> ServerSpec:
    """The toy server on stdio, run by this interpreter."""
    return ServerSpec.model_validate({"transport": "stdio", "command": sys.executable, "args": [str(TOY)]})


def server_doc(name: str, spec: ServerSpec | dict[str, Any]) -> dict[str, Any]:
    body = (
        spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        if isinstance(spec, ServerSpec)
        else spec
    )
    return doc("Server", name, body)


def project_doc(name: str, servers: list[str], instructions: str = "", **spec: Any) -> dict[str, Any]:
    return doc("Project", name, {"servers": servers, "instructions": instructions, **spec})


def prompt_doc(project: str, name: str, **spec: Any) -> dict[str, Any]:
    return doc("Prompt", name, spec, project)


def token_doc(project: str, name: str, **spec: Any) -> dict[str, Any]:
    return doc("McpToken", name, spec, project)


def put(store: Store, *docs: dict[str, Any]) -> None:
    """Create or update resources in one store transaction, as `mcpctl apply` would."""
    with store.transaction(actor="test") as tx:
        for document in docs:
            tx.put(parse_resource(document), managed_by="gitops:test")


def delete(store: Store, kind: str, name: str, project: str | None = None) -> None:
    from mcpctl.schemas import Identity

    with store.transaction(actor="test") as tx:
        tx.delete(Identity(kind, project, name))


USE_ALL = [{"role": "run", "resource": "servers"}, {"role": "view", "resource": "*"}]
"""Bindings that let a token use every server and prompt of its project and read all of it."""


def create_token(store: Store, project: str, name: str, **spec: Any) -> str:
    """A new token of `project`; its value (shown once).

    Without `bindings` or `rbac` it gets USE_ALL: the gateway enforces RBAC, and a token with no
    bindings may use nothing. Pass `bindings=[]` for such a token.
    """
    if "bindings" not in spec and "rbac" not in spec:
        spec["bindings"] = USE_ALL
    resource = parse_resource(token_doc(project, name, **spec))
    assert isinstance(resource, McpToken)
    with store.transaction(actor="test") as tx:
        return tx.create_token(resource, managed_by="gitops:test")


@dataclass
class RunningGateway:
    """A gateway app served by uvicorn in a background thread."""

    base: str
    config: GatewayConfig
    app: Any

    def url(self, project: str) -> str:
        return f"{self.base}/projects/{project}/mcp"

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


FAST = GatewayConfig(
    live=LiveConfig(poll_interval_seconds=0.2),
    auth=AuthConfig(cache_ttl_seconds=0.5),
    lists=ListConfig(deadline_seconds=30.0),
)
"""Short poll and cache so live-config and revocation tests run quickly. The list deadline is long: on a
loaded test machine an upstream's cold start can take longer than the 5 s default, and a first list that
left it out would fail tests about something else (test_aggregate.py tests the deadline itself)."""


@contextmanager
def serve_gateway(store: Store, config: GatewayConfig = FAST, **overrides: Any) -> Iterator[RunningGateway]:
    """Run `create_app` on uvicorn at 127.0.0.1:<free port>; the real upstream pool is built by the app."""
    port = free_port()
    config = replace(config, host="127.0.0.1", port=port, **overrides)
    app = create_app(config, store=store)
    # The gateway's own uvicorn settings (head-limited parser, no server header), as `mcpctl serve` runs it.
    server = uvicorn.Server(uvicorn_config(app, config, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"gateway-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield RunningGateway(f"http://127.0.0.1:{port}", config, app)
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the gateway did not shut down"


@asynccontextmanager
async def mcp_session(
    url: str, token: str | None = None, *, http_timeout: float = 30, **session_options: Any
) -> AsyncIterator[ClientSession]:
    """An initialized SDK client session over Streamable HTTP."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=http_timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, **session_options) as session,
    ):
        await session.initialize()
        yield session


class Recorder:
    """An event sink (`GatewayConfig.event_sinks`) that keeps every event the gateway emits."""

    def __init__(self) -> None:
        self.events: list[GatewayEvent] = []

    def emit(self, event: GatewayEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def wait_until(check: Callable[[], Awaitable[bool] | bool], timeout: float) -> None:
    """Poll `check` (plain or async) until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        assert time.monotonic() < deadline, f"condition not reached within {timeout} s"
        await anyio.sleep(0.05)
