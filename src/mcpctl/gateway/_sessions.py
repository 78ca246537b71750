"""MCP Streamable HTTP sessions of every project: one SDK session manager per project, started on first use.

Each client session is a `GatewaySession` with an explicit lifecycle: opened when the SDK answers its
initialize with a session id, closed on DELETE, idle timeout, project removal or gateway stop, with the
pipeline's layers told both times.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Message, Receive, Scope, Send

from ._aggregate import ProjectAggregator, Upstreams
from ._config import SessionConfig
from ._context import SESSION_KEY, principal_of
from ._events import Events, SessionClosed, SessionOpened
from ._metrics import GatewayMetrics
from ._pipeline import Layer, Pipeline
from ._server import GatewayServer, build_server
from ._session import CloseReason, GatewaySession
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.sessions")

LISTENER_TIMEOUT = 5.0
"""Seconds the layers may take to react to one session opening or closing."""
_SESSION_HEADER = MCP_SESSION_ID_HEADER.lower().encode()


@dataclass
class _Project:
    aggregator: ProjectAggregator
    pipeline: Pipeline
    server: GatewayServer
    manager: StreamableHTTPSessionManager
    stop: anyio.Event = field(default_factory=anyio.Event)
    sessions: dict[str, GatewaySession] = field(default_factory=dict)
    opening: set[GatewaySession] = field(default_factory=set)
    """Sessions whose opening request is in flight (the SDK already counts them against `max_sessions`)."""


def _identity(user: object) -> object:
    # What the SDK compares to bind a session to the credential that opened it.
    return authorization_context(user) if isinstance(user, AuthenticatedUser) else None


async def _too_many(send: Send, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(headers: Any, name: bytes) -> str | None:
    for key, value in headers or ():
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


class ProjectSessions:
    """Routes MCP HTTP requests to their project's session manager and owns every session's lifecycle."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        pool: Upstreams,
        metrics: GatewayMetrics,
        security: TransportSecuritySettings,
        config: SessionConfig | None = None,
        *,
        layers: list[Layer] | None = None,
        events: Events | None = None,
        list_deadline: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshot = snapshot
        self.pool = pool
        self.metrics = metrics
        self.security = security
        self.config = config or SessionConfig()
        self.layers = list(layers or [])
        self.events = events or Events()
        self.list_deadline = list_deadline
        self._clock = clock
        self._projects: dict[str, _Project] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Own the managers' task group for the app's lifetime; every session ends when this exits."""
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._reap_idle)
            try:
                yield
            finally:
                self._group = None
                with anyio.CancelScope(shield=True):
                    for entry in list(self._projects.values()):
                        await self._close_all(entry, "stopped")
                        entry.stop.set()
                self._projects.clear()
                group.cancel_scope.cancel()

    def sessions(self, project: str | None = None) -> list[GatewaySession]:
        """Open sessions of `project` (every project when None)."""
        entries = (
            self._projects.values() if project is None else [e for e in [self._projects.get(project)] if e]
        )
        return [s for entry in entries for s in entry.sessions.values() if s.is_open]

    def _held(self, project: str) -> list[GatewaySession]:
        entry = self._projects.get(project)
        return [*self.sessions(project), *(entry.opening if entry is not None else ())]

    def open_sessions(self, project: str) -> int:
        """How many sessions of `project` are open or opening (each holds one of its `max_sessions`)."""
        return len(self._held(project))

    def token_sessions(self, project: str, token_name: str) -> int:
        """How many sessions token `token_name` of `project` holds, open or opening."""
        return sum(
            1 for s in self._held(project) if s.principal is not None and s.principal.token_name == token_name
        )

    async def handle(self, project: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request of `project`'s MCP endpoint (the project must exist)."""
        entry = self._projects.get(project) or await self._start(project)
        session_id = _header(scope.get("headers"), _SESSION_HEADER)
        session: GatewaySession | None
        if session_id is None:
            principal = principal_of(scope)
            cap = self.config.max_sessions_per_token
            if principal is not None and self.token_sessions(project, principal.token_name) >= cap:
                logger.warning(
                    "project %s: %s holds %d sessions: another refused", project, principal.label, cap
                )
                await _too_many(send, f"too many open sessions for this token (at most {cap}): close one")
                return
            session = GatewaySession(project, principal, self._close_from_inside, self._clock)
            entry.opening.add(session)
        else:
            session = entry.sessions.get(session_id)
            if session is not None and session.owner_identity != _identity(scope.get("user")):
                # Another credential: the SDK answers 404 as for an unknown id, and it must not keep
                # the owner's session alive.
                session = None
        if session is None:
            await entry.manager.handle_request(scope, receive, send)
            return
        if session.in_flight >= self.config.max_requests_per_session:
            cap = self.config.max_requests_per_session
            await _too_many(send, f"too many requests in flight in this session (at most {cap})")
            return
        scope[SESSION_KEY] = session
        status: int | None = None

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                new_id = _header(message.get("headers"), _SESSION_HEADER)
                if session.status == "opening" and status < 400 and new_id:
                    await self._opened(entry, session, new_id, scope)
            await send(message)

        session.request_started()
        try:
            await entry.manager.handle_request(scope, receive, watched_send)
        finally:
            session.request_ended()
            entry.opening.discard(session)
        if session.is_open and status == 404:
            await self._closed(entry, session, "gone")
        elif session.is_open and scope.get("method") == "DELETE" and status is not None and status < 400:
            await self._closed(entry, session, "client")

    async def _start(self, project: str) -> _Project:
        async with self._lock:
            existing = self._projects.get(project)
            if existing is not None:
                return existing
            if self._group is None:
                raise RuntimeError("ProjectSessions.run() is not active")
            spec = self._snapshot().projects.get(project)
            aggregator = ProjectAggregator(
                project,
                self._snapshot,
                self.pool,
                self.metrics,
                list_deadline=self.list_deadline,
                spawn=self._group.start_soon,
                on_late=lambda: self.notify(project),
            )
            pipeline = Pipeline(self.layers, aggregator, self.events)
            server = build_server(
                project,
                (spec.instructions or None) if spec else None,
                pipeline,
                self.metrics,
                traced=any(layer.name == "tracing" for layer in self.layers),
            )
            manager = StreamableHTTPSessionManager(
                app=server,
                json_response=self.config.json_response,
                security_settings=self.security,
                # The gateway times sessions out itself (`_reap_idle`): the SDK would end them silently.
                # Its per-connection teardown hook (`Connection.exit_stack`) is not public on the
                # low-level server's request context, so a session's end is seen at the HTTP level.
                session_idle_timeout=None,
                max_sessions=self.config.max_sessions,
            )
            entry = _Project(aggregator, pipeline, server, manager)
            await self._group.start(self._serve, entry)
            self._projects[project] = entry
            logger.info("project %s: MCP endpoint started", project)
            return entry

    @staticmethod
    async def _serve(entry: _Project, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with entry.manager.run():
            task_status.started()
            await entry.stop.wait()

    async def _opened(self, entry: _Project, session: GatewaySession, session_id: str, scope: Scope) -> None:
        user = scope.get("user")
        session.opened(session_id, user, _identity(user))
        entry.sessions[session_id] = session
        self.events.emit(SessionOpened(session))
        # Before the client has its session id: layers may set up per-session state, quickly.
        with anyio.move_on_after(LISTENER_TIMEOUT):
            await entry.pipeline.session_opened(session)

    async def _closed(self, entry: _Project, session: GatewaySession, reason: CloseReason) -> None:
        if not session.ended(reason):
            return
        if entry.sessions.get(session.id) is session:
            del entry.sessions[session.id]
        self.events.emit(SessionClosed(session, reason))
        with anyio.move_on_after(LISTENER_TIMEOUT, shield=True):
            await entry.pipeline.session_closed(session, reason)
        session.state.clear()
        logger.debug("project %s: session %s closed (%s)", entry.aggregator.project, session.id[:8], reason)

    async def _close_all(self, entry: _Project, reason: CloseReason) -> None:
        for session in list(entry.sessions.values()):
            await self._closed(entry, session, reason)

    async def _close_from_inside(self, session: GatewaySession, reason: CloseReason) -> None:
        entry = self._projects.get(session.project)
        if entry is None or entry.sessions.get(session.id) is not session:
            session.ended(reason)
            return
        await self._terminate(entry, session)
        await self._closed(entry, session, reason)

    async def _terminate(self, entry: _Project, session: GatewaySession) -> None:
        # The SDK has no call that ends one session; a DELETE through its public entry point is the
        # protocol's own way, and its owner check needs the credential that opened the session.
        host = (self.security.allowed_hosts or ["localhost"])[0].replace(":*", ":80")
        scope: MutableMapping[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "DELETE",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "headers": [(b"host", host.encode()), (_SESSION_HEADER, session.id.encode())],
            "client": None,
            "server": None,
        }
        if session.owner_user is not None:
            scope["user"] = session.owner_user

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            return None

        with anyio.move_on_after(LISTENER_TIMEOUT, shield=True):
            await entry.manager.handle_request(scope, receive, send)

    async def _reap_idle(self) -> None:
        idle = self.config.idle_timeout_seconds
        tick = min(max(idle / 4, 0.05), 5.0)
        while True:
            await anyio.sleep(tick)
            for entry in list(self._projects.values()):
                for session in list(entry.sessions.values()):
                    if session.is_open and session.idle_for() >= idle:
                        logger.info("project %s: session %s idle timeout", session.project, session.id[:8])
                        await self._terminate(entry, session)
                        await self._closed(entry, session, "idle")

    async def apply(self, new: Snapshot, changed: set[str]) -> None:
        """Bring running projects in line with a new snapshot: stop removed ones, notify changed ones."""
        for project in sorted(changed):
            entry = self._projects.get(project)
            if entry is None:
                continue
            spec = new.projects.get(project)
            if spec is None:
                self._projects.pop(project, None)
                await self._close_all(entry, "project-removed")
                entry.stop.set()
                logger.info("project %s removed: its sessions were closed", project)
                continue
            entry.server.instructions = spec.instructions or None
            await self.notify(project)

    async def upstream_tools_changed(self, server: str) -> None:
        """An upstream announced new tools: every project using it tells its sessions."""
        for project, spec in self._snapshot().projects.items():
            if server in spec.servers:
                await self.notify(project)

    async def resource_updated(self, server: str, uri: str) -> int:
        """Forward an upstream's `notifications/resources/updated` to the sessions subscribed to it."""
        sent = 0
        for entry in list(self._projects.values()):
            for session_id, gateway_uri in entry.aggregator.subscribers(server, uri):
                session = entry.sessions.get(session_id)
                if session is None:
                    entry.aggregator.unsubscribe(server, uri, (session_id, gateway_uri))
                elif await session.resource_updated(gateway_uri):
                    sent += 1
        return sent

    async def notify(self, project: str) -> int:
        """Tell every open session of `project` that its tools, prompts and resources may have changed."""
        delivered: list[GatewaySession] = []

        async def one(session: GatewaySession) -> None:
            if await session.lists_changed():
                delivered.append(session)

        # Concurrently, so one stalled client delays nobody else's notification.
        async with anyio.create_task_group() as group:
            for session in self.sessions(project):
                group.start_soon(one, session)
        logger.info("project %s: list_changed sent to %d session(s)", project, len(delivered))
        return len(delivered)
