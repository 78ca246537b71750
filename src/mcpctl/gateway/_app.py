"""The gateway's Litestar app factory: `create_app(config)` wires store, pool, sessions, auth and routes.

MCP endpoints at `/projects/<project>/mcp`; probes, metrics and the admin API beside them; OpenAPI at /schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import anyio.to_thread
from litestar import Litestar, asgi
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings

from mcpctl import __version__
from mcpctl.errors import UsageError

from ._admin import admin_router
from ._auth import AuthFailure, TokenAuthenticator
from ._config import GatewayConfig, is_loopback
from ._health import HealthProber, health_router
from ._metrics import GatewayMetrics, Gauge
from ._runtime import GatewayPool, GatewayRuntime, GatewayStore
from ._sessions import ProjectSessions
from ._state import LiveState, Snapshot

logger = logging.getLogger("mcpctl.gateway")

MCP_MOUNT = "/projects"


def _open_store(config: GatewayConfig) -> GatewayStore:
    from mcpctl.store import Store

    store: GatewayStore = Store.open(config.database_url)
    return store


def _make_pool(
    config: GatewayConfig,
    on_tools_changed: Callable[[str], Any],
    on_resource_updated: Callable[[str, str], Any],
) -> GatewayPool:
    from ._pool import UpstreamPool
    from ._secrets import SecretResolver

    settings = config.upstream
    pool: GatewayPool = UpstreamPool(
        secrets=SecretResolver(settings.secrets_dir),
        tools_ttl=settings.tools_ttl_seconds,
        negative_ttl=settings.negative_ttl_seconds,
        max_backoff=settings.max_backoff_seconds,
        on_tools_changed=on_tools_changed,
        on_resource_updated=on_resource_updated,
    )
    return pool


async def _send_json(
    send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers.extend((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _rpc_error(message: str, code: int = -32600) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _route_family(path: str) -> str:
    if path.startswith(MCP_MOUNT + "/"):
        return "mcp"
    for prefix in ("/api/v1", "/schema", "/healthz", "/readyz", "/metrics"):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix.strip("/").split("/")[0]
    return "other"


def _counting_middleware(metrics: GatewayMetrics) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware counting every HTTP response by route family and status."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            # Routing rewrites `path` for mounted apps; `raw_path` is what the client asked for.
            raw_path = scope.get("raw_path")
            route = _route_family(raw_path.decode("latin-1") if raw_path else scope["path"])

            async def counting_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    metrics.http_requests.inc(route=route, status=str(message["status"]))
                await send(message)

            await app(scope, receive, counting_send)

        return middleware

    return factory


def _gauges(runtime: GatewayRuntime) -> Iterable[Gauge]:
    def upstream_up() -> Iterable[tuple[dict[str, str], float]]:
        for name, status in runtime.pool.status().items():
            yield {"server": name}, 1.0 if status.state == "up" else 0.0

    def upstream_restarts() -> Iterable[tuple[dict[str, str], float]]:
        for name, status in runtime.pool.status().items():
            yield {"server": name}, float(status.restarts)

    def open_sessions() -> Iterable[tuple[dict[str, str], float]]:
        for project in sorted(runtime.state.snapshot.projects):
            yield {"project": project}, float(runtime.sessions.open_sessions(project))

    def generation() -> Iterable[tuple[dict[str, str], float]]:
        yield {}, float(runtime.state.snapshot.generation)

    def probe_ok() -> Iterable[tuple[dict[str, str], float]]:
        for name, result in sorted(runtime.prober.results.items()):
            yield {"server": name}, 1.0 if result.ok else 0.0

    yield Gauge("mcpctl_upstream_up", "1 when the upstream's session is up, else 0.", upstream_up)
    yield Gauge("mcpctl_upstream_restarts", "Times the pool restarted the upstream.", upstream_restarts)
    yield Gauge("mcpctl_upstream_probe_ok", "1 when the last health probe of the upstream passed.", probe_ok)
    yield Gauge("mcpctl_open_sessions", "Open MCP sessions by project.", open_sessions)
    yield Gauge("mcpctl_store_generation", "Store generation the gateway serves.", generation)


def create_app(
    config: GatewayConfig | None = None,
    *,
    store: GatewayStore | None = None,
    pool: GatewayPool | None = None,
) -> Litestar:
    """The gateway app. `store`/`pool` are built from `config` unless given (the app then leaves them open).

    Raises UsageError when auth is off on a non-loopback host; store errors when the store cannot be opened.
    """
    config = config or GatewayConfig()
    if not config.auth.enabled and not is_loopback(config.host):
        raise UsageError(f"auth may only be turned off on a loopback host, not {config.host}")
    owns_store, owns_pool = store is None, pool is None
    metrics = GatewayMetrics()
    the_store = store if store is not None else _open_store(config)
    state = LiveState(the_store, poll_interval=config.live.poll_interval_seconds)
    runtime_box: list[GatewayRuntime] = []

    async def tools_changed(server: str) -> None:
        # An upstream announced new tools: every project using it tells its sessions.
        snapshot = state.snapshot
        for project, spec in snapshot.projects.items():
            if server in spec.servers and runtime_box:
                await runtime_box[0].sessions.notify(project)

    async def resource_updated(server: str, uri: str) -> None:
        if runtime_box:
            await runtime_box[0].sessions.resource_updated(server, uri)

    the_pool = pool if pool is not None else _make_pool(config, tools_changed, resource_updated)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=config.allowed_hosts(),
        allowed_origins=config.allowed_origins(),
    )
    sessions = ProjectSessions(lambda: state.snapshot, the_pool, metrics, security, config.sessions)
    auth = TokenAuthenticator(
        the_store, ttl=config.auth.cache_ttl_seconds, max_entries=config.auth.cache_size
    )
    prober = HealthProber(
        lambda: state.snapshot.servers,
        the_pool.probe,
        lambda name: status.state if (status := the_pool.status().get(name)) is not None else None,
    )
    runtime = GatewayRuntime(config, the_store, state, the_pool, sessions, auth, metrics, prober)
    runtime_box.append(runtime)
    for gauge in _gauges(runtime):
        metrics.add_gauge(gauge)
    for name, help_text, collect in config.extra_gauges:
        metrics.add_gauge(Gauge(name, help_text, collect))

    async def on_change(old: Snapshot, new: Snapshot, changed: set[str]) -> None:
        metrics.store_reloads.inc()
        await the_pool.sync(new.servers)
        await sessions.apply(new, changed)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        snapshot = await state.load()
        await the_pool.sync(snapshot.servers)
        logger.info(
            "serving %d project(s) over %d server(s) at store generation %d",
            len(snapshot.projects),
            len(snapshot.servers),
            snapshot.generation,
        )
        for name, spec in sorted(snapshot.projects.items()):
            if spec.proxy_model != "default":
                # Said loudly: an operator who asked for gated sessions must not assume they get them.
                logger.warning(
                    "project %s: proxyModel %r is not applied by this gateway version; every tool is exposed",
                    name,
                    spec.proxy_model,
                )
        try:
            async with sessions.run(), anyio.create_task_group() as group:
                group.start_soon(state.run, on_change)
                group.start_soon(prober.run)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if owns_pool:
                    await the_pool.aclose()
                if owns_store:
                    await anyio.to_thread.run_sync(the_store.close)

    @asgi(MCP_MOUNT, is_mount=True, copy_scope=True)
    async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        parts = [p for p in scope["path"].split("/") if p]
        if len(parts) != 2 or parts[1] != "mcp":
            await _send_json(send, 404, _rpc_error("not found: MCP endpoints are /projects/<project>/mcp"))
            return
        project = parts[0]
        if project not in state.snapshot.projects:
            await _send_json(send, 404, _rpc_error(f"project {project} not found"))
            return
        if config.auth.enabled:
            try:
                principal = await auth.authenticate(_header(scope, b"authorization"), project)
            except AuthFailure as failure:
                metrics.auth_failures.inc(status=str(failure.status_code), reason=failure.reason)
                logger.info("project %s: %s refused: %s", project, failure.status_code, failure.detail)
                await _send_json(send, failure.status_code, _rpc_error(failure.detail), failure.headers)
                return
            # Binds each MCP session to the token that opened it (the SDK compares this on every request);
            # the hash stands in for the token so the value itself never sits in the scope.
            scope["user"] = AuthenticatedUser(
                AccessToken(token=principal.token_hash_prefix, client_id=principal.label, scopes=[])
            )
        # Litestar and Starlette spell the same ASGI callables with different types.
        await sessions.handle(project, cast(Any, scope), cast(Any, receive), cast(Any, send))

    return Litestar(
        route_handlers=[mcp_endpoint, health_router(), admin_router(), *config.extra_routers],
        lifespan=[lifespan],
        middleware=[_counting_middleware(metrics)],
        openapi_config=OpenAPIConfig(title="mcpctl gateway", version=__version__, path="/schema"),
        state=State({"runtime": runtime}),
        logging_config=None,
    )
