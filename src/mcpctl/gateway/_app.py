"""The gateway's Litestar app factory: `create_app(config)` wires store, pool, sessions, layers, auth, routes.

Wiring only: each part is built by its own module. MCP endpoints at `/projects/<project>/mcp`; probes,
metrics and the admin API beside them; OpenAPI at /schema.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, cast

import anyio
import anyio.to_thread
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp
from mcp.server.transport_security import TransportSecuritySettings

from mcpctl import __version__
from mcpctl.content import DiskCache, ResultCache, default_cache_dir
from mcpctl.errors import UsageError
from mcpctl.llm import LlmProviders, load_providers
from mcpctl.schemas import project_stages

from ._admin import admin_router
from ._audit_api import audit_router
from ._audit_sink import GatewayAudit
from ._auth import TokenAuthenticator
from ._cache_api import cache_router
from ._config import ContentConfig, GatewayConfig, is_loopback
from ._content import ContentLayer
from ._endpoint import MCP_MOUNT, mcp_endpoint
from ._events import ConfigReloaded, Events
from ._gate import GateLayer
from ._health import HealthProber, health_router
from ._limits import limits_middleware
from ._metrics import GatewayMetrics, Gauge
from ._metrics_sink import MetricsSink
from ._pinning import PinningLayer
from ._pipeline import Layer
from ._policy import PolicyLayer, token_permissions
from ._pool import UpstreamPool
from ._prompt_resources import PromptResourcesLayer
from ._proposals import proposal_layer
from ._ratelimit import RateLimiter, rate_check
from ._relay import RelayLimits
from ._runtime import GatewayPool, GatewayRuntime, GatewayStore
from ._secrets import SecretResolver
from ._select import Selector
from ._sessions import ProjectSessions
from ._state import ChangeSource, LiveState, Snapshot
from ._toolfilter import ToolFilterLayer

logger = logging.getLogger("mcpctl.gateway")


def _open_store(config: GatewayConfig) -> GatewayStore:
    from mcpctl.store import Store

    store: GatewayStore = Store.open(config.database_url)
    return store


def _change_feed(store: GatewayStore, config: GatewayConfig) -> ChangeSource | None:
    """The store's LISTEN/NOTIFY feed (PostgreSQL), unless turned off; None for SQLite or other stores."""
    from mcpctl.store import Store

    if not config.live.listen or not isinstance(store, Store):
        return None
    return store.change_feed()


def _make_pool(config: GatewayConfig) -> UpstreamPool:
    settings = config.upstream
    return UpstreamPool(
        secrets=SecretResolver(settings.secrets_dir),
        tools_ttl=settings.tools_ttl_seconds,
        negative_ttl=settings.negative_ttl_seconds,
        max_backoff=settings.max_backoff_seconds,
        max_client_sessions=settings.max_client_sessions,
        relay_limits=RelayLimits(max_pending=settings.max_pending_client_requests),
    )


def _audit(config: GatewayConfig, store: GatewayStore) -> GatewayAudit | None:
    if not config.audit.enabled:
        return None
    from mcpctl.store import Store

    if not isinstance(store, Store):
        raise UsageError("the audit trail needs an mcpctl store; turn it off (AuditConfig(enabled=False))")
    return GatewayAudit(store, config.audit)


def _make_tracing(config: GatewayConfig) -> tuple[Any, Layer | None]:
    """The SDK tracer provider and the tracing layer; (None, None), importing nothing, when tracing is off."""
    if not config.tracing.enabled:
        return None, None
    from ._tracing import TRACER_NAME, TracingLayer, tracer_provider

    provider = tracer_provider(config.tracing)
    return provider, TracingLayer(provider.get_tracer(TRACER_NAME, __version__))


def _layers(
    config: GatewayConfig,
    state: LiveState,
    policy: PolicyLayer | None,
    gate: GateLayer,
    pool: GatewayPool,
    events: Events,
    tracing: Layer | None = None,
    proposals: Layer | None = None,
    content: ContentLayer | None = None,
) -> list[Layer]:
    """The layers of every project's pipeline, outermost first: a new feature's layer is registered here."""
    return [
        *([tracing] if tracing is not None else []),
        *config.layers,
        *([policy] if policy is not None else []),
        # Outside the gate, so a gated session may propose before `begin_session` unlocks anything.
        *([proposals] if proposals is not None else []),
        gate,
        PromptResourcesLayer(lambda: state.snapshot, pool),
        PinningLayer(lambda: state.snapshot, pool, events),
        ToolFilterLayer(lambda: state.snapshot),
        # Innermost: a page fetch is a call of its tool for every layer above, and nothing refused is cached.
        *([content] if content is not None else []),
    ]


def _result_cache(settings: ContentConfig) -> ResultCache:
    disk = None
    if settings.disk:
        disk = DiskCache(settings.disk_dir or default_cache_dir(), settings.disk_max_bytes)
    return ResultCache(
        max_bytes=settings.cache_max_bytes,
        ttl_seconds=settings.cache_ttl_seconds,
        max_per_session=settings.max_results_per_session,
        disk=disk,
    )


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

    def token_lookups() -> Iterable[tuple[dict[str, str], float]]:
        yield {}, float(runtime.auth.lookups)

    yield Gauge(
        "mcpctl_token_lookups_total",
        "Bearer tokens looked up in the store: auth cache misses, one per token at a time.",
        token_lookups,
        kind="counter",
    )

    def cache_bytes() -> Iterable[tuple[dict[str, str], float]]:
        yield {"tier": "memory"}, float(runtime.cache.bytes) if runtime.cache is not None else 0.0
        disk = runtime.cache.disk if runtime.cache is not None else None
        yield {"tier": "disk"}, float(disk.bytes) if disk is not None else 0.0

    yield Gauge("mcpctl_result_cache_bytes", "Bytes the paginated-result cache holds.", cache_bytes)


def _warn_unapplied(snapshot: Snapshot, llm: LlmProviders) -> None:
    for name, spec in sorted(snapshot.projects.items()):
        if spec.proxy_model == "gate":
            named = spec.llm.provider
            if not len(llm):
                logger.info("project %s is gated; no LLM is configured, the matcher selects its tools", name)
            elif named is not None and named not in {p.name for p in llm.providers}:
                logger.warning(
                    "project %s names LLM provider %r, which this gateway does not configure; "
                    "the matcher selects its tools",
                    name,
                    named,
                )
        elif project_stages(spec, snapshot.proxy_models) is None:
            # Said loudly: an operator who asked for a content pipeline must not assume they get one.
            logger.warning(
                "project %s: proxyModel %r is not in the store; its results are only paginated",
                name,
                spec.proxy_model,
            )


def create_app(
    config: GatewayConfig | None = None,
    *,
    store: GatewayStore | None = None,
    pool: GatewayPool | None = None,
) -> Litestar:
    """The gateway app. `store`/`pool` are built from `config` unless given (the app then leaves them open;
    a given pool must already run, as `async with UpstreamPool(...)`).

    Raises UsageError when auth is off on a non-loopback host; store errors when the store cannot be opened.
    """
    config = config or GatewayConfig()
    if not config.auth.enabled and not is_loopback(config.host):
        raise UsageError(f"auth may only be turned off on a loopback host, not {config.host}")
    owns_store = store is None
    metrics = GatewayMetrics()
    events = Events([MetricsSink(metrics), *config.event_sinks])
    the_store = store if store is not None else _open_store(config)
    audit = _audit(config, the_store)
    if audit is not None:
        events.add(audit.sink)
    state = LiveState(
        the_store, poll_interval=config.live.poll_interval_seconds, changes=_change_feed(the_store, config)
    )
    owns_llm = config.llm.providers is None
    llm = config.llm.providers if config.llm.providers is not None else load_providers(config.llm.config_file)
    gate = GateLayer(lambda: state.snapshot, Selector(llm), events)
    cache = _result_cache(config.content)
    content = ContentLayer(
        lambda: state.snapshot,
        cache,
        llm,
        llm_timeout=config.content.llm_timeout_seconds,
        summary_timeout=config.content.summary_timeout_seconds,
    )
    made_pool = _make_pool(config) if pool is None else None
    the_pool: GatewayPool = made_pool if made_pool is not None else cast(GatewayPool, pool)
    policy = PolicyLayer(lambda: state.snapshot) if config.policy.enforce else None
    provider, tracing = _make_tracing(config)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=config.allowed_hosts(),
        allowed_origins=config.allowed_origins(),
    )
    sessions = ProjectSessions(
        lambda: state.snapshot,
        the_pool,
        metrics,
        security,
        config.sessions,
        layers=_layers(
            config,
            state,
            policy,
            gate,
            the_pool,
            events,
            tracing,
            proposal_layer(the_store, events),
            content,
        ),
        events=events,
        list_deadline=config.lists.deadline_seconds,
    )
    if made_pool is not None:
        made_pool.listen(sessions.upstream_tools_changed, sessions.resource_updated, on_event=events.emit)
    auth = TokenAuthenticator(
        the_store,
        ttl=config.auth.cache_ttl_seconds,
        max_entries=config.auth.cache_size,
        # From the live snapshot at every request, so the auth cache never holds permissions.
        permissions_of=lambda record: token_permissions(state.snapshot, record.project, record.name),
        used=audit.sink.token_used if audit is not None else None,
    )
    prober = HealthProber(
        lambda: state.snapshot.servers,
        the_pool.probe,
        lambda name: status.state if (status := the_pool.status().get(name)) is not None else None,
    )
    # Limits are per token: without auth there is none to count by. A default of 0 still lets a token's
    # own `spec.rateLimit` apply.
    limiter = RateLimiter(config.rate_limit) if config.auth.enabled else None
    runtime = GatewayRuntime(
        config, the_store, state, the_pool, sessions, auth, metrics, prober, events, audit=audit, cache=cache
    )
    for gauge in [*_gauges(runtime), *(audit.gauges() if audit is not None else [])]:
        metrics.add_gauge(gauge)
    for name, help_text, collect in config.extra_gauges:
        metrics.add_gauge(Gauge(name, help_text, collect))

    async def on_change(old: Snapshot, new: Snapshot, changed: set[str]) -> None:
        metrics.store_reloads.inc()
        auth.clear()  # tokens are not in the snapshot; a revocation must not wait for the cache TTL
        await the_pool.sync(new.servers)
        await sessions.apply(new, changed)
        if policy is not None:
            await policy.policy_changed(old, new)
        events.emit(ConfigReloaded(new.generation, old.generation, frozenset(changed)))

    async def close_store() -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(the_store.close)

    async def close_tracing() -> None:
        # After the sessions, whose spans end as they close: shutdown exports what is still batched.
        if provider is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(provider.shutdown)

    async def close_audit() -> None:
        # After the sessions (their close events are queued), before the store the writer writes to.
        if audit is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(audit.close)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as owned:
            # Closed in reverse: sessions first, then the pool (and its processes), then the store.
            if owns_store:
                owned.push_async_callback(close_store)
            owned.callback(cache.close)
            if limiter is not None:
                owned.push_async_callback(limiter.aclose)
                await limiter.start()
            owned.push_async_callback(close_audit)
            owned.push_async_callback(close_tracing)
            if audit is not None:
                audit.start()
            if made_pool is not None:
                await owned.enter_async_context(made_pool)
            if owns_llm:
                # Starts managed vLLMs without waiting for them: until ready, the matcher selects.
                await owned.enter_async_context(llm)
            snapshot = await state.load()
            await the_pool.sync(snapshot.servers)
            logger.info(
                "serving %d project(s) over %d server(s) at store generation %d",
                len(snapshot.projects),
                len(snapshot.servers),
                snapshot.generation,
            )
            _warn_unapplied(snapshot, llm)
            async with sessions.run(), anyio.create_task_group() as group:
                group.start_soon(state.run, on_change)
                group.start_soon(prober.run)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()

    endpoint = mcp_endpoint(
        lambda: state.snapshot.projects,
        sessions,
        events,
        auth if config.auth.enabled else None,
        rate_check(limiter, metrics) if limiter is not None else None,
    )
    return Litestar(
        route_handlers=[
            endpoint,
            health_router(),
            admin_router(),
            audit_router(),
            cache_router(),
            *config.extra_routers,
        ],
        lifespan=[lifespan],
        middleware=[
            _counting_middleware(metrics),
            limits_middleware(config.http, config.allowed_hosts(), config.allowed_origins()),
        ],
        request_max_body_size=config.http.max_body_bytes,
        openapi_config=OpenAPIConfig(title="mcpctl gateway", version=__version__, path="/schema"),
        state=State({"runtime": runtime}),
        logging_config=None,
    )
