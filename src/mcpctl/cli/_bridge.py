"""`mcpctl mcp -p PROJECT`: a stdio MCP server that relays every message to the gateway's HTTP endpoint.

For clients that only start stdio servers: JSON-RPC passes through unchanged in both directions.
Messages a client sends before the initialize reply wait for it (they need the session it opens),
and when stdin ends the bridge still delivers the replies of requests in flight before it exits.
A refused token or an unreachable gateway ends the bridge with one line on stderr and exit code 1,
after every request still open has been answered with a JSON-RPC error, so no client hangs.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import click

from mcpctl.errors import McpctlError

from ._main import cli
from ._options import gateway_url_option, token_option

if TYPE_CHECKING:
    from mcp.shared.message import SessionMessage

DRAIN_SECONDS = 60.0
"""How long replies of requests in flight are awaited after the client closed stdin."""
_AUTH_STATUSES = {401: "refused the token", 403: "does not accept the token for this project"}


def project_endpoint(base_url: str, project: str) -> str:
    """The MCP endpoint of `project` on the gateway at `base_url`."""
    return f"{base_url.rstrip('/')}/projects/{project}/mcp"


class BridgeFailed(McpctlError):
    """The bridge could not carry on: the gateway refused the token or cannot be reached."""


@dataclass
class _Bridge:
    """What the two relay directions share."""

    url: str
    token: str | None
    stdio_write: Any
    pending: dict[Any, str] = field(default_factory=dict)
    """Ids of the client's requests sent on and not yet answered, with their methods."""
    held: list[SessionMessage] = field(default_factory=list)
    """Messages that arrived after initialize and before its reply."""
    initialize_id: Any = None
    initialized = False
    statuses: list[int] = field(default_factory=list)
    """HTTP statuses of refused POSTs (401, 403), newest last."""
    failure: str | None = None
    settled: anyio.Event = field(default_factory=anyio.Event)
    """Set whenever `pending` becomes empty."""
    sent: int = 0
    """Messages handed to stdout."""

    async def reply(self, item: SessionMessage) -> None:
        """Hand one message to the client."""
        await self.stdio_write.send(item)
        self.sent += 1

    async def answer_pending(self, reason: str) -> None:
        """A JSON-RPC error for every request still open (held or in flight), so the client stops waiting."""
        from mcp.shared.message import SessionMessage
        from mcp_types import ErrorData, JSONRPCError, JSONRPCRequest

        ids = list(self.pending) + [m.message.id for m in self.held if isinstance(m.message, JSONRPCRequest)]
        self.pending.clear()
        self.held.clear()
        for request_id in ids:
            error = JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=-32603, message=reason))
            try:
                await self.reply(SessionMessage(error))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
        self.settled.set()


def _log(text: str) -> None:
    print(f"mcpctl mcp: {text}", file=sys.stderr, flush=True)


class _Stdout:
    """stdout for the SDK's writer, written without a worker thread: a message handed over is written,
    so the bridge knows when every reply is out (`flushed` counts them)."""

    def __init__(self) -> None:
        self.flushed = 0

    async def write(self, text: str) -> None:
        sys.stdout.buffer.write(text.encode())

    async def flush(self) -> None:
        sys.stdout.buffer.flush()
        self.flushed += 1


class _StdinLines:
    """Lines of a pipe read without a worker thread, so that the bridge can stop while stdin is open.

    (Reading through a thread, as the SDK's default does, keeps the process alive until the client
    closes stdin, even after the gateway refused the token.)
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._eof = False

    @classmethod
    def usable(cls, fd: int) -> bool:
        """Pipes, sockets and terminals can be polled. Regular files and other devices (`< /dev/null`)
        cannot (epoll refuses them) and always end, so the SDK's reader takes them."""
        try:
            mode = os.fstat(fd).st_mode
            return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)
        except OSError:
            return False

    def __aiter__(self) -> _StdinLines:
        return self

    async def __anext__(self) -> str:
        while b"\n" not in self._buffer and not self._eof:
            await anyio.wait_readable(self._fd)
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            self._eof = not chunk
            self._buffer += chunk
        if not self._buffer:
            raise StopAsyncIteration
        line, newline, self._buffer = self._buffer.partition(b"\n")
        return (line + newline).decode("utf-8", "replace")


async def _client_to_gateway(bridge: _Bridge, stdio_read: Any, http_write: Any) -> None:
    from mcp_types import JSONRPCRequest

    async for item in stdio_read:
        if isinstance(item, Exception):
            _log(f"stdin: {type(item).__name__}: {item}")
            continue
        message = item.message
        if isinstance(message, JSONRPCRequest):
            if message.method == "initialize" and bridge.initialize_id is None:
                bridge.initialize_id = message.id
            elif bridge.initialize_id is not None and not bridge.initialized:
                # The session the initialize reply opens is what later requests are sent in.
                bridge.held.append(item)
                continue
            bridge.pending[message.id] = message.method
            bridge.settled = anyio.Event()
        elif bridge.initialize_id is not None and not bridge.initialized:
            bridge.held.append(item)
            continue
        await http_write.send(item)
    # The client closed stdin: deliver what it is still owed, then end the conversation.
    with anyio.move_on_after(DRAIN_SECONDS):
        while bridge.pending or bridge.held:
            await bridge.settled.wait()


async def _gateway_to_client(bridge: _Bridge, http_read: Any, http_write: Any) -> None:
    from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse

    async for item in http_read:
        if isinstance(item, Exception):
            _log(f"gateway: {type(item).__name__}: {item}")
            continue
        message = item.message
        await bridge.reply(item)
        if not isinstance(message, JSONRPCResponse | JSONRPCError):
            continue
        bridge.pending.pop(message.id, None)
        if message.id == bridge.initialize_id and not bridge.initialized:
            refused = bridge.statuses[-1] if bridge.statuses else None
            if isinstance(message, JSONRPCError) and refused in _AUTH_STATUSES:
                hint = "" if bridge.token else "; no token was given: set MCPCTL_TOKEN (or pass --token)"
                refusal = _AUTH_STATUSES[refused]
                bridge.failure = f"the gateway at {bridge.url} {refusal} (HTTP {refused}){hint}"
                await bridge.answer_pending(bridge.failure)
                return
            bridge.initialized = True
            held, bridge.held = bridge.held, []
            for waiting in held:
                if isinstance(waiting.message, JSONRPCRequest):
                    bridge.pending[waiting.message.id] = waiting.message.method
                await http_write.send(waiting)
        if not bridge.pending and not bridge.held:
            bridge.settled.set()


async def run_bridge(url: str, token: str | None) -> None:
    """Serve MCP on this process's stdin/stdout, forwarding to the Streamable HTTP endpoint at `url`."""
    import httpx2

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # No read timeout: a long tool call or an idle notification stream is normal on this connection.
    timeout = httpx2.Timeout(30.0, read=None)
    stdin: Any = None
    blocking = os.get_blocking(0)
    if _StdinLines.usable(0):
        os.set_blocking(0, False)
        stdin = _StdinLines(0)
    failures: list[str] = []
    with anyio.CancelScope() as everything:
        try:
            await _serve(url, token, headers, timeout, stdin, everything, failures)
        finally:
            os.set_blocking(0, blocking)
    if failures:
        raise BridgeFailed(failures[0])


async def _serve(
    url: str,
    token: str | None,
    headers: dict[str, str],
    timeout: Any,
    stdin: Any,
    scope: anyio.CancelScope,
    failures: list[str],
) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.stdio import stdio_server

    stdout = _Stdout()
    async with stdio_server(stdin=stdin, stdout=stdout) as (stdio_read, stdio_write):  # type: ignore[arg-type]
        bridge = _Bridge(url, token, stdio_write)

        async def record(response: httpx2.Response) -> None:
            if response.request.method == "POST" and response.status_code in _AUTH_STATUSES:
                bridge.statuses.append(response.status_code)

        try:
            hooks = {"response": [record]}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=timeout, event_hooks=hooks) as http,
                streamable_http_client(url, http_client=http) as (http_read, http_write),
                anyio.create_task_group() as group,
            ):

                async def client_side() -> None:
                    await _client_to_gateway(bridge, stdio_read, http_write)
                    group.cancel_scope.cancel()

                async def gateway_side() -> None:
                    await _gateway_to_client(bridge, http_read, http_write)
                    group.cancel_scope.cancel()

                group.start_soon(client_side)
                group.start_soon(gateway_side)
        except* httpx2.TransportError as group_error:
            error = group_error.exceptions[0]
            reason = f"{type(error).__name__}: {error}".rstrip(": ")
            bridge.failure = f"cannot reach the gateway at {url}: {reason}"
            await bridge.answer_pending(bridge.failure)
        await stdio_write.aclose()
        if bridge.failure is not None:
            # Once every reply is out, stdin need not be read to its end: the bridge exits now.
            with anyio.move_on_after(5):
                while stdout.flushed < bridge.sent:
                    await anyio.sleep(0.01)
            failures.append(bridge.failure)
            scope.cancel()


@cli.command("mcp")
@click.option("-p", "--project", required=True, help="Project whose endpoint to bridge.")
@gateway_url_option
@token_option
def mcp_bridge(project: str, url: str, token: str | None) -> None:
    """Bridge stdio to the gateway: run this as a stdio MCP server in clients that cannot speak HTTP."""
    anyio.run(run_bridge, project_endpoint(url, project), token)
