"""One upstream MCP server: a long-lived client session (stdio, SSE or Streamable HTTP) in its own task.

Started lazily by the first request, restarted with exponential backoff after it dies, stopped on close.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import ClientSession, types
from mcp.client import Transport
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from mcpctl import __version__
from mcpctl.errors import InvalidUpstreamSpec, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from mcpctl.schemas import ServerSpec

from ._context import CallContext
from ._direct import DirectToolCalls
from ._relay import Relay
from ._secrets import SecretResolver
from ._sse import sse_transport
from ._stdio import stdio_transport
from ._streamable import StreamableHttp, streamable_http_transport

UpstreamState = Literal["idle", "starting", "up", "down", "stopped"]
"""`idle` never started; `starting`; `up`; `down` failed or died (restarts on next use); `stopped` closed."""

NotificationHandler = Callable[[str, types.ServerNotification], Awaitable[None]]
"""Receives (server name, notification) for every notification an upstream sends."""
TaskHost = Callable[[], anyio.abc.TaskGroup | None]
"""Where an upstream starts its session task: the pool's task group while the pool runs."""

T = TypeVar("T")
_Inbound = SessionMessage | Exception
logger = logging.getLogger(__name__)

CLIENT_INFO = types.Implementation(name="mcpctl-gateway", version=__version__)
FIRST_BACKOFF = 0.5
"""Seconds to wait before the second restart in a row; doubles per failure up to `max_backoff`."""
STOP_GRACE = 10.0
"""Seconds to let a session shut down politely (stdio: close stdin, SIGTERM, SIGKILL) before cancelling it."""
_CONNECTION_CLOSED = -32000
_TRANSPORT_MESSAGES = ("Connection closed", "SSE stream ")
"""How the SDK words the errors it makes up for requests whose answer can never arrive."""
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")
_URL_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^?#\s'\"]*)\?[^#\s'\"]*")


class _Messages(Protocol):
    """What `_watch_eof` reads from a transport: its message stream (the SDK's own protocol is private)."""

    def __aiter__(self) -> _Messages: ...

    async def __anext__(self) -> SessionMessage | Exception: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None: ...


def describe(error: BaseException) -> str:
    """A one-line description of an exception, looking inside exception groups for the first cause."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, MCPError):
        return _redact_urls(error.message)
    text = _redact_urls(str(error).splitlines()[0]) if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _redact_urls(text: str) -> str:
    # httpx puts the request URL in its errors (`... for url 'https://user:pass@host/mcp?key=...'`);
    # upstream URLs carry credentials in userinfo or the query, and these texts reach logs and /readyz.
    text = _URL_USERINFO.sub(lambda found: f"{found['scheme']}***@", text)
    return _URL_QUERY.sub(lambda found: f"{found['url']}?***", text)


def _transport_failure(error: MCPError) -> bool:
    # -32000 is also free for servers' own errors, so the SDK's wording is checked too.
    return error.code == _CONNECTION_CLOSED and error.message.startswith(_TRANSPORT_MESSAGES)


def _session_gone(error: MCPError) -> bool:
    # Streamable HTTP answers 404 for an unknown session id; the SDK surfaces it only as an error
    # message ("Session terminated", or the server's own such as "Session not found").
    message = error.message.lower()
    return "session" in message and any(word in message for word in ("not found", "terminated", "expired"))


@dataclass(eq=False)
class _Connection:
    """One attempt at a session; replaced by a new one when it dies."""

    ready: anyio.Event = field(default_factory=anyio.Event)
    closing: anyio.Event = field(default_factory=anyio.Event)
    done: anyio.Event = field(default_factory=anyio.Event)
    """Set when the connection's task has finished (its process is gone)."""
    session: ClientSession | None = None
    init: types.InitializeResult | None = None
    direct: DirectToolCalls | None = None
    """tools/call past the SDK's transport, on Streamable HTTP sessions that allow it (see `_direct`)."""
    error: UpstreamError | None = None
    dead: bool = False
    ended: bool = False
    stopping: bool = False
    scope: anyio.CancelScope | None = None

    def stop(self) -> None:
        self.stopping = True
        self.closing.set()
        # Before initialize finished there is nothing to close politely: abandon the start.
        if self.session is None and self.scope is not None:
            self.scope.cancel()


class TaskOwner:
    """Runs its background tasks in its own task group while used as `async with`; `aclose` stops them."""

    _own_tasks: anyio.abc.TaskGroup | None = None

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        tasks = anyio.create_task_group()
        await tasks.__aenter__()
        self._own_tasks = tasks
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tasks, self._own_tasks = self._own_tasks, None
        try:
            with anyio.CancelScope(shield=True):
                await self.aclose()
        finally:
            if tasks is not None:
                tasks.cancel_scope.cancel()
                await tasks.__aexit__(exc_type, exc, tb)


class Upstream(TaskOwner):
    """One upstream server and its current session; requests from any task, one owner task per session.

    The session's `async with` contexts are entered and exited in a task of its own (anyio cancel
    scopes must be), so callers only send requests over it and wait with their own timeout: a slow
    request never blocks another, and a caller giving up never tears the session down. That task runs
    in the pool's task group (`host`), or in the upstream's own while it is used as `async with upstream:`.
    """

    def __init__(
        self,
        name: str,
        spec: ServerSpec,
        secrets: SecretResolver,
        *,
        max_backoff: float = 30.0,
        on_notification: NotificationHandler | None = None,
        host: TaskHost | None = None,
        relay: Relay | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.state: UpstreamState = "idle"
        self.last_error: str | None = None
        self.restarts = 0
        self.last_ok: datetime | None = None
        self._secrets = secrets
        self._max_backoff = max_backoff
        self._on_notification = on_notification
        self._conn: _Connection | None = None
        self._starts = 0
        self._failures = 0
        self._retry_at = 0.0
        self._closed = False
        self._host = host
        self._running: set[_Connection] = set()
        self.relay = relay or Relay(name, spec)
        """Ties the session's progress, logs and server→client requests to the client that caused them."""

    @property
    def initialize_result(self) -> types.InitializeResult | None:
        """The current session's initialize result; None until a session is up."""
        conn = self._conn
        return conn.init if conn is not None and conn.session is not None else None

    @property
    def capabilities(self) -> types.ServerCapabilities | None:
        """Capabilities the server announced; None until started."""
        init = self.initialize_result
        return init.capabilities if init is not None else None

    async def request(
        self,
        what: str,
        operation: Callable[[ClientSession], Awaitable[T]],
        *,
        timeout: float | None = None,
        call: CallContext | None = None,
    ) -> T:
        """Run `operation` on a live session (starting one if needed) within the call timeout.

        JSON-RPC errors the server answers with propagate as `mcp.MCPError`; a dropped connection is
        `UpstreamUnavailable`, an exceeded timeout `UpstreamTimeout`. When an HTTP server no longer
        knows the session (it restarted), the request is sent once more on a new session. `call` is the
        client request this one serves (None for the gateway's own, such as probes).
        """
        if call is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("upstream %r: %s for request %s", self.name, what, call.correlation_id)
        for attempt in (1, 2):
            conn = await self._connected()
            session = conn.session
            assert session is not None
            limit = self.spec.timeouts.call_seconds if timeout is None else timeout
            try:
                async with self.relay.serving(call):
                    with anyio.fail_after(limit):
                        result = await operation(session)
            except TimeoutError:
                raise UpstreamTimeout(f"upstream {self.name!r}: {what} timed out after {limit:g}s") from None
            except MCPError as error:
                if conn.dead or _transport_failure(error):
                    self._ended(conn, UpstreamUnavailable(f"upstream {self.name!r}: {describe(error)}"))
                    raise UpstreamUnavailable(
                        f"upstream {self.name!r}: connection lost during {what}"
                    ) from None
                if attempt == 1 and self.spec.transport != "stdio" and _session_gone(error):
                    # The server refused the request for its session id, so it never ran: retrying is safe.
                    self._ended(
                        conn, UpstreamUnavailable(f"upstream {self.name!r}: session ended on the server")
                    )
                    continue
                self._succeeded()
                raise
            except UpstreamError:
                raise
            except Exception as error:
                if conn.dead:
                    raise UpstreamUnavailable(
                        f"upstream {self.name!r}: connection lost during {what}"
                    ) from None
                raise UpstreamUnavailable(
                    f"upstream {self.name!r}: {what} failed: {describe(error)}"
                ) from None
            self._succeeded()
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        *,
        progress: ProgressFnT | None = None,
        meta: types.RequestParamsMeta | None = None,
        call: CallContext | None = None,
    ) -> types.CallToolResult:
        """`tools/call` as `request` runs it: directly over HTTP where the session allows, else by the SDK."""

        async def operation(session: ClientSession) -> types.CallToolResult:
            conn = self._conn
            direct = conn.direct if conn is not None and conn.session is session else None
            if direct is None:
                return await session.call_tool(name, arguments, progress_callback=progress, meta=meta)
            return await direct.call_tool(session, name, arguments, progress=progress, meta=meta)

        return await self.request(f"tools/call {name}", operation, call=call)

    async def aclose(self) -> None:
        """Stop the session (and its process) and wait until every task of this upstream has ended."""
        self._closed = True
        if self._conn is not None:
            self._conn.stop()
        if not await self._wait_stopped():
            logger.warning("upstream %r did not stop within %gs; cancelling it", self.name, STOP_GRACE)
            for conn in list(self._running):
                if conn.scope is not None:
                    conn.scope.cancel()
            await self._wait_stopped()
        self.state = "stopped"

    async def _wait_stopped(self) -> bool:
        with anyio.move_on_after(STOP_GRACE):
            for conn in list(self._running):
                await conn.done.wait()
            return True
        return False

    def _succeeded(self) -> None:
        self._failures = 0
        self.last_ok = datetime.now(UTC)

    async def _connected(self) -> _Connection:
        conn = self._current_or_start()
        if not conn.ready.is_set():
            limit = self.spec.timeouts.connect_seconds
            try:
                with anyio.fail_after(limit):
                    await conn.ready.wait()
            except TimeoutError:
                raise UpstreamTimeout(f"upstream {self.name!r}: not started within {limit:g}s") from None
        if conn.error is not None:
            raise type(conn.error)(conn.error.detail)
        if conn.session is None or conn.dead:
            raise UpstreamUnavailable(f"upstream {self.name!r}: connection closed")
        return conn

    def _current_or_start(self) -> _Connection:
        # No awaits here: check-and-start is atomic on the event loop, so concurrent callers share a start.
        if self._closed:
            raise UpstreamUnavailable(f"upstream {self.name!r} is stopped")
        conn = self._conn
        if conn is not None and not conn.dead:
            return conn
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise UpstreamUnavailable(
                f"upstream {self.name!r} is down ({self.last_error}); next restart attempt in {wait:.1f}s"
            )
        try:
            launch = self._prepare()
        except UpstreamError as error:
            self.state = "down"
            self.last_error = error.detail
            raise
        tasks = self._own_tasks or (self._host() if self._host is not None else None)
        if tasks is None:
            raise RuntimeError(f"upstream {self.name!r} is not running: use `async with` (or a running pool)")
        conn = _Connection()
        self._conn = conn
        self.state = "starting"
        if self._starts:
            self.restarts += 1
        self._starts += 1
        self._running.add(conn)
        tasks.start_soon(self._run, conn, launch, name=f"mcpctl-upstream-{self.name}")
        return conn

    def _prepare(self) -> Callable[[], Transport]:
        """How to open the transport, with secrets resolved now (so a missing one fails the call at once)."""
        spec = self.spec
        if spec.from_template is not None:
            raise InvalidUpstreamSpec(
                f"upstream {self.name!r}: fromTemplate {spec.from_template.name!r} was not instantiated"
            )
        if spec.transport == "stdio":
            return stdio_transport(self.name, spec, self._secrets)
        if spec.url is None or spec.transport is None:
            raise InvalidUpstreamSpec(f"upstream {self.name!r}: no url")
        headers = {
            key: self._secrets.resolve(self.name, f"headers.{key}", value)
            for key, value in spec.headers.items()
        }
        connect, read = spec.timeouts.connect_seconds, max(300.0, 2 * spec.timeouts.call_seconds)
        if spec.transport == "sse":
            return sse_transport(spec.url, headers, connect, read)
        return streamable_http_transport(spec.url, headers, connect, read)

    async def _run(self, conn: _Connection, launch: Callable[[], Transport]) -> None:
        error: UpstreamError | None = None
        connect = self.spec.timeouts.connect_seconds
        try:
            with anyio.CancelScope() as scope:
                conn.scope = scope
                # The deadline sits on the one scope around every context, so a slow start is cut off
                # without a cancel scope exiting out of order; it is lifted once the session is up.
                scope.deadline = anyio.current_time() + connect
                async with AsyncExitStack() as stack:
                    read, write = await stack.enter_async_context(launch())
                    watched, inbox = await stack.enter_async_context(
                        _watch_eof(read, lambda: self._transport_ended(conn))
                    )
                    session = await stack.enter_async_context(
                        ClientSession(
                            watched,
                            write,
                            message_handler=self._on_message,
                            client_info=CLIENT_INFO,
                            **self.relay.callbacks(),
                        )
                    )
                    conn.init = await session.initialize()
                    if isinstance(launch, StreamableHttp):
                        version = conn.init.protocol_version
                        conn.direct = launch.direct_calls(version, inbox.send, self.relay.on_log)
                    scope.deadline = math.inf
                    conn.session = session
                    self.state = "up"
                    self.last_ok = datetime.now(UTC)
                    conn.ready.set()
                    await conn.closing.wait()
            if scope.cancelled_caught and conn.session is None and not conn.stopping:
                error = UpstreamTimeout(f"upstream {self.name!r}: not started within {connect:g}s")
        except UpstreamError as failure:
            error = failure
        except Exception as failure:
            stage = "connection failed" if conn.session is not None else "start failed"
            error = UpstreamUnavailable(f"upstream {self.name!r}: {stage}: {describe(failure)}")
        finally:
            self._ended(conn, error)
            if not conn.ready.is_set():
                conn.error = error or UpstreamUnavailable(
                    f"upstream {self.name!r}: stopped before it started"
                )
                conn.ready.set()
            self._running.discard(conn)
            conn.done.set()

    def _transport_ended(self, conn: _Connection) -> None:
        # Runs before the session fails its pending requests, so callers see the connection is gone.
        conn.dead = True
        conn.closing.set()
        # A session that never came up is reported by the session task, with the reason it failed.
        if conn.session is not None:
            stdio = self.spec.transport == "stdio"
            what = "the server process exited or closed its stdout" if stdio else "the connection closed"
            self._ended(conn, UpstreamUnavailable(f"upstream {self.name!r}: {what}"))

    def _ended(self, conn: _Connection, error: UpstreamError | None) -> None:
        # Called when the transport of a live session ends and again when its task finishes; the
        # first call counts.
        conn.dead = True
        conn.closing.set()
        if conn.ended:
            return
        conn.ended = True
        if conn is not self._conn:
            return
        if conn.stopping or self._closed:
            self.state = "stopped"
            return
        self._failures += 1
        # The first failure restarts at once (a crash after a healthy run); repeated ones back off.
        delay = (
            0.0 if self._failures == 1 else min(self._max_backoff, FIRST_BACKOFF * 2 ** (self._failures - 2))
        )
        self._retry_at = time.monotonic() + delay
        self.state = "down"
        self.last_error = error.detail if error is not None else f"upstream {self.name!r}: connection closed"
        logger.warning("%s (restart allowed in %.1fs)", self.last_error, delay)

    async def _on_message(self, message: types.ServerNotification | Exception) -> None:
        if isinstance(message, Exception):
            logger.debug("upstream %r transport error: %s", self.name, describe(message))
            return
        if self._on_notification is not None:
            await self._on_notification(self.name, message)


@asynccontextmanager
async def _watch_eof(
    read: _Messages, on_eof: Callable[[], None]
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[_Inbound], MemoryObjectSendStream[_Inbound]]]:
    """Relay the transport's messages and call `on_eof` when they end — before the session sees the end.

    The SDK only fails pending requests with a generic "Connection closed"; marking the connection dead
    first lets callers tell a dropped upstream from an error the upstream answered. Also yields a second
    way in, for what direct tool calls read on their own POSTs.
    """
    send, receive = anyio.create_memory_object_stream[_Inbound](0)
    inbox = send.clone()

    async def relay() -> None:
        try:
            async with read:
                async for item in read:
                    await send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            pass
        finally:
            on_eof()
            # Both ways in end with the transport, so the session sees the end of its stream.
            inbox.close()
            send.close()

    async with anyio.create_task_group() as group:
        group.start_soon(relay)
        try:
            yield receive, inbox
        finally:
            group.cancel_scope.cancel()
            inbox.close()
            receive.close()
