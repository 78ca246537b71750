"""MCP Streamable HTTP sessions of every project: one SDK session manager per project, started on first use.

Also remembers each open session so live config changes can reach it as `notifications/*/list_changed`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from ._aggregate import GatewayServer, ProjectAggregator, Upstreams
from ._config import SessionConfig
from ._metrics import GatewayMetrics
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.sessions")

SESSION_HEADER = "mcp-session-id"


@dataclass
class _Project:
    aggregator: ProjectAggregator
    server: GatewayServer
    manager: StreamableHTTPSessionManager
    stop: anyio.Event = field(default_factory=anyio.Event)
    sessions: dict[str, ServerSession] = field(default_factory=dict)


class ProjectSessions:
    """Routes MCP HTTP requests to the session manager of their project and fans out change notifications."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        pool: Upstreams,
        metrics: GatewayMetrics,
        security: TransportSecuritySettings,
        config: SessionConfig | None = None,
    ) -> None:
        self._snapshot = snapshot
        self.pool = pool
        self.metrics = metrics
        self.security = security
        self.config = config or SessionConfig()
        self._projects: dict[str, _Project] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Own the managers' task group for the app's lifetime; every session ends when this exits."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                for entry in self._projects.values():
                    entry.stop.set()
                self._projects.clear()

    def open_sessions(self, project: str) -> int:
        """How many sessions of `project` the gateway knows to be open."""
        entry = self._projects.get(project)
        if entry is None:
            return 0
        self._prune(entry)
        return len(entry.sessions)

    async def handle(self, project: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request of `project`'s MCP endpoint (the project must exist)."""
        entry = self._projects.get(project) or await self._start(project)
        await entry.manager.handle_request(scope, receive, send)
        if scope.get("method") == "DELETE":
            session_id = Request(scope).headers.get(SESSION_HEADER)
            if session_id:
                entry.sessions.pop(session_id, None)

    async def _start(self, project: str) -> _Project:
        async with self._lock:
            existing = self._projects.get(project)
            if existing is not None:
                return existing
            if self._group is None:
                raise RuntimeError("ProjectSessions.run() is not active")
            aggregator = ProjectAggregator(project, self._snapshot, self.pool, self.metrics)
            server = aggregator.build_server()
            manager = StreamableHTTPSessionManager(
                app=server,
                json_response=self.config.json_response,
                security_settings=self.security,
                session_idle_timeout=self.config.idle_timeout_seconds,
                max_sessions=self.config.max_sessions,
            )
            entry = _Project(aggregator, server, manager)
            server.middleware.append(self._middleware(project, entry))
            await self._group.start(self._serve, entry)
            self._projects[project] = entry
            logger.info("project %s: MCP endpoint started", project)
            return entry

    @staticmethod
    async def _serve(entry: _Project, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with entry.manager.run():
            task_status.started()
            await entry.stop.wait()

    def _middleware(self, project: str, entry: _Project) -> Any:
        metrics = self.metrics

        async def track(ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
            if ctx.request_id is not None:
                metrics.mcp_requests.inc(project=project, method=ctx.method)
            request = ctx.request
            if isinstance(request, Request):
                session_id = request.headers.get(SESSION_HEADER)
                if session_id and session_id not in entry.sessions:
                    entry.sessions[session_id] = ctx.session
            return await call_next(ctx)

        return track

    def _prune(self, entry: _Project) -> None:
        # The SDK offers no hook for sessions ending by idle timeout; its session table is the only truth.
        live: dict[str, Any] = getattr(entry.manager, "_server_instances", {})
        for session_id in [s for s in entry.sessions if s not in live]:
            del entry.sessions[session_id]

    async def apply(self, new: Snapshot, changed: set[str]) -> None:
        """Bring running projects in line with a new snapshot: stop removed ones, notify changed ones."""
        for project in sorted(changed):
            entry = self._projects.get(project)
            if entry is None:
                continue
            spec = new.projects.get(project)
            if spec is None:
                self._projects.pop(project, None)
                entry.stop.set()
                logger.info("project %s removed: its sessions were closed", project)
                continue
            entry.server.instructions = spec.instructions or None
            await self.notify(project)

    async def resource_updated(self, server: str, uri: str) -> int:
        """Forward an upstream's `notifications/resources/updated` to the sessions subscribed to it."""
        sent = 0
        for project, entry in list(self._projects.items()):
            for session_id, gateway_uri in entry.aggregator.subscribers(server, uri):
                session = entry.sessions.get(session_id)
                if session is None:
                    entry.aggregator.unsubscribe(server, uri, (session_id, gateway_uri))
                    continue
                try:
                    with anyio.fail_after(5):
                        await session.send_resource_updated(gateway_uri)
                    sent += 1
                except Exception as error:  # a session that went away must not stop the others
                    logger.info(
                        "project %s: resource update not delivered (%s)", project, type(error).__name__
                    )
        return sent

    async def notify(self, project: str) -> int:
        """Tell every open session of `project` that its tools, prompts and resources may have changed."""
        entry = self._projects.get(project)
        if entry is None:
            return 0
        self._prune(entry)
        delivered: list[str] = []

        async def one(session_id: str, session: ServerSession) -> None:
            try:
                with anyio.fail_after(5):
                    await session.send_tool_list_changed()
                    await session.send_prompt_list_changed()
                    await session.send_resource_list_changed()
                delivered.append(session_id)
            except Exception as error:  # a session that went away must not stop the others
                logger.info(
                    "project %s: session %s not notified (%s); forgetting it",
                    project,
                    session_id[:8],
                    type(error).__name__,
                )
                entry.sessions.pop(session_id, None)

        # Concurrently, so one stalled client delays nobody else's notification.
        async with anyio.create_task_group() as group:
            for session_id, session in list(entry.sessions.items()):
                group.start_soon(one, session_id, session)
        sent = len(delivered)
        logger.info("project %s: list_changed sent to %d session(s)", project, sent)
        return sent
