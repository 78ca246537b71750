"""The upstream pool: one long-lived MCP client session per configured server, shared by every session.

Follows the desired servers (`sync`), caches tools/list per server, routes each MCP request by server name.
A server with `spec.sessions: per-client` gets one more session per client session that uses it (for its
calls, prompts, resources and completions; tools/list and probes use the shared one), closed with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import anyio
import anyio.abc
from mcp import ClientSession, types
from mcp.shared.exceptions import MCPError

from mcpctl.errors import UnknownUpstream, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from mcpctl.schemas import ServerSpec

from ._context import CallContext
from ._events import GatewayEvent
from ._relay import Relay, RelayLimits
from ._secrets import SecretResolver
from ._session import GatewaySession
from ._upstream import TaskOwner, Upstream, UpstreamState

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=types.PaginatedResult)
X = TypeVar("X")

DEFAULT_PROBE_TIMEOUT = 10.0
"""Seconds a probe may take when the server has no `healthCheck`."""
MAX_PAGES = 1000
"""A server that keeps returning cursors is cut off here rather than listed forever."""
MAX_CLIENT_SESSIONS = 64
"""Per-client upstream sessions one server may have at once (each may be a process)."""


@dataclass(frozen=True)
class UpstreamStatus:
    """What the pool knows about one upstream, for /readyz, metrics and `describe`."""

    name: str
    state: UpstreamState
    last_error: str | None
    restarts: int
    last_ok: datetime | None


@dataclass(frozen=True)
class _CachedTools:
    upstream: Upstream
    expires: float
    tools: list[types.Tool] | None = None
    error: Callable[[], Exception] | None = None


class UpstreamPool(TaskOwner):
    """Sessions to every configured upstream, started lazily and isolated from each other.

    Each upstream has its own session task and its own tools-cache lock; no lock is shared between
    upstreams, so a dead or hung one never delays requests to the others. Every request is bounded
    by the server's `timeouts.call_seconds` (starting it by `timeouts.connect_seconds`). JSON-RPC
    errors an upstream answers with (an unknown tool, bad arguments) propagate as `mcp.MCPError`.
    Session tasks run in the pool's task group: use it as `async with UpstreamPool(...) as pool:`.
    """

    def __init__(
        self,
        *,
        secrets: SecretResolver,
        tools_ttl: float = 60.0,
        negative_ttl: float = 5.0,
        max_backoff: float = 30.0,
        on_tools_changed: Callable[[str], Awaitable[None]] | None = None,
        on_resource_updated: Callable[[str, str], Awaitable[object]] | None = None,
        relay_limits: RelayLimits | None = None,
        max_client_sessions: int = MAX_CLIENT_SESSIONS,
    ) -> None:
        self._secrets = secrets
        self._tools_ttl = tools_ttl
        self._negative_ttl = negative_ttl
        self._max_backoff = max_backoff
        self._on_tools_changed = on_tools_changed
        self._on_resource_updated = on_resource_updated
        self._upstreams: dict[str, Upstream] = {}
        self._tools: dict[str, _CachedTools] = {}
        self._tool_locks: dict[str, anyio.Lock] = {}
        self._clients: dict[tuple[str, str], Upstream] = {}
        """Per-client upstream sessions by (server, gateway session id)."""
        self._relay_limits = relay_limits or RelayLimits()
        self._max_client_sessions = max_client_sessions
        self._on_event: Callable[[GatewayEvent], None] | None = None
        self._closed = False

    def listen(
        self,
        on_tools_changed: Callable[[str], Awaitable[None]] | None = None,
        on_resource_updated: Callable[[str, str], Awaitable[object]] | None = None,
        on_event: Callable[[GatewayEvent], None] | None = None,
    ) -> None:
        """Set who hears upstream notifications (the app's sessions, which are built after the pool)
        and relayed server→client requests (the app's events)."""
        if on_event is not None:
            self._on_event = on_event
        if on_tools_changed is not None:
            self._on_tools_changed = on_tools_changed
        if on_resource_updated is not None:
            self._on_resource_updated = on_resource_updated

    async def sync(self, servers: Mapping[str, ServerSpec]) -> None:
        """Make the pool serve exactly `servers` (template-instantiated specs, secret refs unresolved).

        New servers start on first use; removed ones are stopped; changed ones are stopped and start
        again, with the new spec, on first use. Their tools caches are dropped.
        """
        if self._closed:
            raise UpstreamUnavailable("the upstream pool is closed")
        stopping: list[Upstream] = []
        for name, upstream in list(self._upstreams.items()):
            if servers.get(name) != upstream.spec:
                del self._upstreams[name]
                self._forget(name)
                stopping.append(upstream)
        for key, client in list(self._clients.items()):
            if servers.get(key[0]) != client.spec:
                del self._clients[key]
                stopping.append(client)
        for name, spec in servers.items():
            if name not in self._upstreams:
                self._upstreams[name] = self._new_upstream(name, spec, None)
        # The new set is already in place, so requests arriving meanwhile never reach a stopping upstream.
        await _close_all(stopping)

    def _new_upstream(self, name: str, spec: ServerSpec, owner: GatewaySession | None) -> Upstream:
        relay = Relay(
            name, spec, owner=owner, limits=self._relay_limits, on_event=lambda event: self._event(event)
        )
        return Upstream(
            name,
            spec,
            self._secrets,
            max_backoff=self._max_backoff,
            on_notification=self._notified,
            host=lambda: self._own_tasks,
            relay=relay,
        )

    def _event(self, event: GatewayEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    async def session_closed(self, session_id: str) -> None:
        """A client session ended: cancel what it still has running upstream, stop its per-client sessions."""
        for upstream in [*self._upstreams.values(), *self._clients.values()]:
            upstream.relay.cancel_session(session_id)
        ending = [self._clients.pop(key) for key in list(self._clients) if key[1] == session_id]
        if not ending:
            return
        # In the background when the pool runs: a stop may take its grace, and the session's close must not.
        if self._own_tasks is not None:
            self._own_tasks.start_soon(_close_all, ending)
        else:
            await _close_all(ending)

    def in_flight(self, server: str) -> int:
        """Client requests running on `server`'s upstream sessions (shared and per-client) right now."""
        upstreams = [u for u in [self._upstreams.get(server)] if u is not None]
        upstreams += [u for key, u in self._clients.items() if key[0] == server]
        return sum(u.relay.in_flight for u in upstreams)

    def client_sessions(self, server: str) -> int:
        """How many per-client upstream sessions `server` has."""
        return sum(1 for key in self._clients if key[0] == server)

    def servers(self) -> list[str]:
        """Names of the configured upstreams."""
        return sorted(self._upstreams)

    async def list_tools(self, server: str, *, call: CallContext | None = None) -> list[types.Tool]:
        """The server's tools, cached for `tools_ttl` seconds (a failure for `negative_ttl`)."""
        return [tool.model_copy() for tool in await self._cached_tools(server, call)]

    async def has_tool(self, server: str, name: str, *, call: CallContext | None = None) -> bool:
        """Whether the server lists tool `name`, from the same cache as `list_tools` (no copies: hot path)."""
        return any(tool.name == name for tool in await self._cached_tools(server, call))

    async def _cached_tools(self, server: str, call: CallContext | None) -> list[types.Tool]:
        upstream = self._get(server)
        cached = self._fresh_tools(server, upstream)
        if cached is None:
            lock = self._tool_locks.setdefault(server, anyio.Lock())
            async with lock:
                cached = self._fresh_tools(server, upstream)
                if cached is None:
                    cached = await self._fetch_tools(server, upstream, call)
        if cached.error is not None:
            raise cached.error()
        assert cached.tools is not None
        return cached.tools

    def invalidate_tools(self, server: str) -> None:
        """Forget the cached tools of `server`, so the next `list_tools` asks it again."""
        self._tools.pop(server, None)

    async def call_tool(
        self, server: str, name: str, arguments: dict[str, Any] | None, *, call: CallContext | None = None
    ) -> types.CallToolResult:
        """Call a tool on the server; a tool's own failure is a result with `is_error`, not an exception."""
        upstream = self._for(server, call)
        progress = upstream.relay.progress_for(call)
        meta = _forwarded_meta(call)
        return await upstream.call_tool(name, arguments, progress=progress, meta=meta, call=call)

    async def list_prompts(self, server: str, *, call: CallContext | None = None) -> list[types.Prompt]:
        """All prompts of the server (every page)."""
        return await self._paginate(
            self._for(server, call),
            "prompts/list",
            lambda s, p: s.list_prompts(params=p),
            lambda r: r.prompts,
            call,
        )

    async def get_prompt(
        self, server: str, name: str, arguments: dict[str, str] | None, *, call: CallContext | None = None
    ) -> types.GetPromptResult:
        """One prompt rendered with `arguments`."""
        return await self._for(server, call).request(
            f"prompts/get {name}", lambda s: s.get_prompt(name, arguments), call=call
        )

    async def list_resources(self, server: str, *, call: CallContext | None = None) -> list[types.Resource]:
        """All resources of the server (every page)."""
        return await self._paginate(
            self._for(server, call),
            "resources/list",
            lambda s, p: s.list_resources(params=p),
            lambda r: r.resources,
            call,
        )

    async def list_resource_templates(
        self, server: str, *, call: CallContext | None = None
    ) -> list[types.ResourceTemplate]:
        """All resource templates of the server (every page)."""
        return await self._paginate(
            self._for(server, call),
            "resources/templates/list",
            lambda s, p: s.list_resource_templates(params=p),
            lambda r: r.resource_templates,
            call,
        )

    async def read_resource(
        self, server: str, uri: str, *, call: CallContext | None = None
    ) -> types.ReadResourceResult:
        """The contents of one resource."""
        return await self._for(server, call).request(
            f"resources/read {uri}", lambda s: s.read_resource(uri), call=call
        )

    async def subscribe_resource(self, server: str, uri: str, *, call: CallContext | None = None) -> None:
        """Ask for `notifications/resources/updated` on `uri`; they reach `on_resource_updated`."""
        request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
        # Sent as a plain request: the SDK's helper is deprecated for 2026 servers but 2025 ones need it.
        await self._get(server).request(
            f"resources/subscribe {uri}", lambda s: s.send_request(request, types.EmptyResult), call=call
        )

    async def complete(
        self,
        server: str,
        ref: types.PromptReference | types.ResourceTemplateReference,
        argument: dict[str, str],
        context_arguments: dict[str, str] | None,
        *,
        call: CallContext | None = None,
    ) -> types.Completion:
        """Completion values for a prompt or resource-template argument."""
        result = await self._for(server, call).request(
            "completion/complete", lambda s: s.complete(ref, argument, context_arguments), call=call
        )
        return result.completion

    def capabilities(self, server: str) -> types.ServerCapabilities | None:
        """What the server announced at initialize; None until it has been started."""
        return self._get(server).capabilities

    def initialize_result(self, server: str) -> types.InitializeResult | None:
        """The server's whole initialize result (server info, instructions); None until started."""
        return self._get(server).initialize_result

    def status(self) -> dict[str, UpstreamStatus]:
        """The state of every configured upstream, by name."""
        return {
            name: UpstreamStatus(u.name, u.state, u.last_error, u.restarts, u.last_ok)
            for name, u in sorted(self._upstreams.items())
        }

    async def probe(self, server: str) -> bool:
        """Call the server's `healthCheck` tool (or tools/list) within its timeout, starting it if needed."""
        upstream = self._get(server)
        check = upstream.spec.health_check
        timeout = check.timeout_seconds if check is not None else DEFAULT_PROBE_TIMEOUT
        try:
            with anyio.fail_after(timeout):
                if check is not None and check.tool is not None:
                    tool, arguments = check.tool, dict(check.arguments)
                    result = await upstream.request(
                        "health check", lambda s: s.call_tool(tool, arguments), timeout=timeout
                    )
                    if result.is_error:
                        upstream.last_error = (
                            f"upstream {server!r}: health check tool {tool!r} returned an error"
                        )
                        return False
                else:
                    await upstream.request("health check", lambda s: s.list_tools(), timeout=timeout)
        except TimeoutError:
            upstream.last_error = f"upstream {server!r}: health check timed out after {timeout:g}s"
            return False
        except UpstreamTimeout as error:
            upstream.last_error = error.detail
            return False
        except UpstreamError:
            # Start failures and missing secrets are already the upstream's last error.
            return False
        except MCPError as error:
            upstream.last_error = f"upstream {server!r}: health check failed: {error.message}"
            return False
        return True

    async def aclose(self) -> None:
        """Stop every session and wait for it; no upstream process outlives this call."""
        self._closed = True
        await _close_all([*self._upstreams.values(), *self._clients.values()])
        self._clients.clear()
        self._tools.clear()

    def _get(self, server: str) -> Upstream:
        upstream = self._upstreams.get(server)
        if upstream is None:
            if self._closed:
                raise UpstreamUnavailable("the upstream pool is closed")
            raise UnknownUpstream(f"unknown upstream server {server!r}")
        return upstream

    def _for(self, server: str, call: CallContext | None) -> Upstream:
        """The upstream session serving `call`: the shared one, or its client's own (per-client server)."""
        shared = self._get(server)
        if shared.spec.sessions != "per-client" or call is None:
            return shared
        session = call.session
        key = (server, session.id)
        upstream = self._clients.get(key)
        if upstream is None:
            if not session.is_open:
                raise UpstreamUnavailable(f"upstream {server!r}: the client session is closed")
            if self.client_sessions(server) >= self._max_client_sessions:
                raise UpstreamUnavailable(
                    f"upstream {server!r}: {self._max_client_sessions} per-client sessions are open already"
                )
            upstream = self._clients[key] = self._new_upstream(server, shared.spec, session)
        return upstream

    def _forget(self, server: str) -> None:
        self._tools.pop(server, None)
        self._tool_locks.pop(server, None)

    def _fresh_tools(self, server: str, upstream: Upstream) -> _CachedTools | None:
        cached = self._tools.get(server)
        if cached is None or cached.upstream is not upstream or cached.expires <= time.monotonic():
            return None
        return cached

    async def _fetch_tools(self, server: str, upstream: Upstream, call: CallContext | None) -> _CachedTools:
        try:
            tools = await self._paginate(
                upstream,
                "tools/list",
                lambda s, p: s.list_tools(params=p),
                lambda r: r.tools,
                call,
            )
        except UpstreamError as error:
            kind, detail = type(error), error.detail
            cached = _CachedTools(upstream, time.monotonic() + self._negative_ttl, error=lambda: kind(detail))
        except MCPError as error:
            code, message, data = error.code, error.message, error.data
            cached = _CachedTools(
                upstream, time.monotonic() + self._negative_ttl, error=lambda: MCPError(code, message, data)
            )
        else:
            cached = _CachedTools(upstream, time.monotonic() + self._tools_ttl, tools=tools)
        # A sync may have replaced the upstream while we waited; its cache must not get our answer.
        if self._upstreams.get(server) is upstream:
            self._tools[server] = cached
        return cached

    async def _paginate(
        self,
        upstream: Upstream,
        what: str,
        fetch: Callable[[ClientSession, types.PaginatedRequestParams | None], Awaitable[R]],
        items_of: Callable[[R], list[X]],
        call: CallContext | None = None,
    ) -> list[X]:
        async def every_page(session: ClientSession) -> list[X]:
            items: list[X] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                params = types.PaginatedRequestParams(cursor=cursor) if cursor is not None else None
                result = await fetch(session, params)
                items.extend(items_of(result))
                cursor = result.next_cursor
                if cursor is None:
                    break
            return items

        return await upstream.request(what, every_page, call=call)

    async def _notified(self, server: str, notification: types.ServerNotification) -> None:
        try:
            if isinstance(notification, types.ToolListChangedNotification):
                self.invalidate_tools(server)
                if self._on_tools_changed is not None:
                    await self._on_tools_changed(server)
            elif (
                isinstance(notification, types.ResourceUpdatedNotification)
                and self._on_resource_updated is not None
            ):
                await self._on_resource_updated(server, str(notification.params.uri))
        except Exception:
            logger.exception("handling %s from upstream %r failed", type(notification).__name__, server)


def _forwarded_meta(call: CallContext | None) -> types.RequestParamsMeta | None:
    """The client's `_meta` minus its progress token (the pool sends one of its own, mapped back)."""
    if call is None or not call.meta:
        return None
    meta = {key: value for key, value in call.meta.items() if key not in ("progressToken", "progress_token")}
    return cast(types.RequestParamsMeta, meta) if meta else None


async def _close_all(upstreams: list[Upstream]) -> None:
    # At once: each may take its stop grace, and they do not wait for each other.
    async with anyio.create_task_group() as group:
        for upstream in upstreams:
            group.start_soon(upstream.aclose)
