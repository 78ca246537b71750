"""Settings of the gateway app, one frozen dataclass per feature, gathered in `GatewayConfig`.

`create_app(config)` reads nothing else: the CLI (`mcpctl serve`) and tests build these.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._events import EventSink
from ._pipeline import Layer

if TYPE_CHECKING:
    from mcpctl.llm import LlmProviders

GaugeFamily = tuple[str, str, Callable[[], Iterable[tuple[dict[str, str], float]]]]


def is_loopback(host: str) -> bool:
    """True when `host` (a name or an address) only accepts connections from this machine."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AuthConfig:
    """Bearer-token checks on the MCP endpoints and the token-introspection API."""

    enabled: bool = True
    """`False` serves every project without a token (only allowed on a loopback host)."""
    cache_ttl_seconds: float = 1.0
    """How long a token lookup is reused: the upper bound of the revocation lag (beyond one poll)."""
    cache_size: int = 10_000
    """Most token lookups kept; the oldest go first."""


@dataclass(frozen=True)
class PolicyConfig:
    """RBAC enforcement on the MCP endpoints (see docs/policy.md)."""

    enforce: bool = True
    """`False` leaves out the policy layer, so every valid token uses everything of its project. Only for
    measuring the layer's cost (benchmarks/policy_bench.py); `mcpctl serve` always enforces."""


@dataclass(frozen=True)
class LiveConfig:
    """How the gateway notices changes in the store."""

    poll_interval_seconds: float = 1.0
    """Seconds between reads of the store generation (on PostgreSQL the fallback of the change feed)."""
    listen: bool = True
    """On PostgreSQL, reload as soon as a change commits (LISTEN/NOTIFY on the store's channel)."""


@dataclass(frozen=True)
class UpstreamConfig:
    """Settings handed to the upstream pool."""

    secrets_dir: Path | None = None
    """Where secret references are read (`name/key` files); `$MCPCTL_SECRETS_DIR` when unset."""
    tools_ttl_seconds: float = 60.0
    """How long a server's `tools/list` answer is reused."""
    negative_ttl_seconds: float = 5.0
    """How long a failed `tools/list` is remembered before the server is asked again."""
    max_backoff_seconds: float = 30.0
    """Longest wait between restarts of a crashing upstream."""
    max_client_sessions: int = 64
    """Per-client upstream sessions (`spec.sessions: per-client`) one server may have open at once."""
    max_pending_client_requests: int = 16
    """Elicitation/sampling/roots requests of one upstream session waiting for a client at once."""


@dataclass(frozen=True)
class SessionConfig:
    """Limits of the MCP Streamable HTTP sessions served to clients."""

    idle_timeout_seconds: float = 1800.0
    """A session without traffic for this long is closed."""
    max_sessions: int = 10_000
    """Open sessions per project beyond which new ones are refused (503)."""
    max_sessions_per_token: int = 100
    """Open (or opening) sessions one token may hold in its project; the next is refused (429), so one
    token cannot use up the project's `max_sessions` for every other token."""
    max_requests_per_session: int = 64
    """HTTP requests one session may have in flight at once (its GET stream counts); the next is 429."""
    json_response: bool = True
    """Answer POSTs with plain JSON rather than an SSE stream (`serve --sse-responses` turns it off).

    Measured with an instant upstream, 16 sessions: 0.7-1.0 ms of gateway CPU per call against
    1.9-2.6 ms with SSE. Notifications then reach clients on their standalone GET stream, a
    connection apart from the answer's, so a progress notification sent just before the answer can
    reach the client after it (and the SDK client drops progress for a finished request)."""


@dataclass(frozen=True)
class RateLimitConfig:
    """Per-token request limits on the MCP endpoints (probes, metrics and the admin API are exempt)."""

    requests_per_minute: int = 2000
    """Requests each token may make per minute (a burst of this many, then an even rate); 0: no limit."""
    redis_url: str | None = None
    """`redis://...`: the counters are shared by every replica using it; None: each process counts alone."""
    redis_timeout_seconds: float = 2.0
    """Longest wait for Redis (connect or answer) on a request; beyond it the request is counted in
    process. Generous, since it also covers the gateway's own event-loop lag under load (measured on a
    busy 2-core machine: 0.25 s and 1 s both tripped with 50 requests in flight per replica)."""
    redis_retry_seconds: float = 5.0
    """After a Redis failure, how long requests are counted in process before Redis is asked again."""


@dataclass(frozen=True)
class AuditConfig:
    """The audit trail the gateway writes (docs/audit.md)."""

    enabled: bool = True
    """Write sessions, calls, denials, auth failures and reloads to the store's `audit_events`."""
    retention: timedelta | None = None
    """Delete events older than this, in the background (hourly); None keeps every event."""
    queue_size: int = 10_000
    """Events held in memory while the writer catches up; beyond it the oldest are dropped (counted)."""
    retention_interval_seconds: float = 3600.0
    """Seconds between pruning passes when `retention` is set."""
    touch_interval_seconds: float = 60.0
    """A token's LAST USED is queued at most this often per token."""


@dataclass(frozen=True)
class LlmSettings:
    """The LLM providers gated sessions choose tools with (see docs/llm.md)."""

    config_file: Path | None = None
    """Providers YAML (`serve --llm-config`); else `$MCPCTL_LLM_URL` + `$MCPCTL_LLM_MODEL`; else none."""
    providers: LlmProviders | None = None
    """A provider set to use as it is (tests, embedding): the app neither enters nor closes it."""


@dataclass(frozen=True)
class HttpLimits:
    """What one HTTP client may cost the gateway before it is answered with an error and disconnected."""

    max_header_bytes: int = 16 * 1024
    """Size of a request line and its headers together; more is answered 400 at once (not read whole)."""
    max_headers: int = 100
    """Header fields in one request; more is answered 431."""
    header_timeout_seconds: float = 10.0
    """Time to send a whole request head, from the connection opening (or the previous response ending);
    a client still sending headers then is answered 408 and disconnected (slow-loris)."""
    body_timeout_seconds: float = 30.0
    """Longest wait for the next chunk of a request body; then 408 and the connection is closed."""
    max_body_bytes: int = 4 * 1024 * 1024
    """Size of one request body (by Content-Length or as read); more is answered 413."""
    max_connections: int | None = None
    """Open connections (and requests in flight) beyond which uvicorn answers 503; None for no limit."""


@dataclass(frozen=True)
class ListConfig:
    """Aggregated lists (tools, prompts, resources): how long one slow upstream may hold them up."""

    deadline_seconds: float = 5.0
    """A list answers within this time, without the upstreams that have not answered yet (each counted and
    logged); their fetch goes on in the background, and they are left out at once until it ends."""


@dataclass(frozen=True)
class ProbeConfig:
    """Who may read the operational endpoints that name projects, servers and their last errors."""

    token: str | None = None
    """When set, `/metrics` and the details of `/readyz` need `Authorization: Bearer <token>`; without it
    `/readyz` only says ready or not. None leaves both open (bind to loopback or a private network)."""


@dataclass(frozen=True)
class TracingConfig:
    """OpenTelemetry spans of sessions, calls and upstream calls (docs/audit.md, "Traces"); off by default."""

    endpoint: str | None = None
    """OTLP/HTTP base URL (`serve --otlp-endpoint`, as `OTEL_EXPORTER_OTLP_ENDPOINT`: `/v1/traces` is added);
    None with no `exporter`: no tracing, and the OpenTelemetry SDK is not loaded."""
    service_name: str = "mcpctl-gateway"
    """The `service.name` resource attribute of every span."""
    exporter: Any = None
    """An OpenTelemetry `SpanExporter` to hand each span to as it ends, instead of OTLP (tests, embedding)."""

    @property
    def enabled(self) -> bool:
        return self.endpoint is not None or self.exporter is not None


@dataclass(frozen=True)
class ContentConfig:
    """The result cache behind paginated results and sections (`mcpctl cache` shows it)."""

    cache_max_bytes: int = 256 * 1024 * 1024
    """Memory the cached results may hold; the least recently used leave first."""
    cache_ttl_seconds: float = 3600.0
    """How long a result can be fetched after it was produced."""
    max_results_per_session: int = 64
    """Results one session may hold; its oldest leave first."""
    disk: bool = False
    """Spill results pushed out of memory to files under `disk_dir` (0600, removed on shutdown)."""
    disk_dir: Path | None = None
    """Where (a directory of its own per process is made inside); default `~/.cache/mcpctl/results`."""
    disk_max_bytes: int = 1024 * 1024 * 1024
    """Bytes the spilled files may take; the oldest go first."""
    llm_timeout_seconds: float = 5.0
    """How long page titles may take before `Page N` is used instead."""
    summary_timeout_seconds: float = 30.0
    """How long a `summarize` stage waits for the LLM before it answers a head-and-tail excerpt."""


@dataclass(frozen=True)
class GatewayConfig:
    """Everything `create_app` needs: where the store is, where the app listens, and per-feature settings."""

    database_url: str | None = None
    """Store URL; `$MCPCTL_DATABASE_URL` or the default SQLite file when unset."""
    host: str = "127.0.0.1"
    """Bind host, also used for the DNS-rebinding allow-list."""
    port: int = 8080
    """Bind port, also used for the DNS-rebinding allow-list."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    sessions: SessionConfig = field(default_factory=SessionConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    llm: LlmSettings = field(default_factory=LlmSettings)
    http: HttpLimits = field(default_factory=HttpLimits)
    lists: ListConfig = field(default_factory=ListConfig)
    probes: ProbeConfig = field(default_factory=ProbeConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    extra_hosts: Sequence[str] = ()
    """More `Host` header values to accept (e.g. a public name behind a proxy), as `host` or `host:port`."""
    extra_origins: Sequence[str] = ()
    """More `Origin` header values to accept from browsers."""
    extra_routers: Sequence[Any] = ()
    """Litestar routers mounted beside the built-in ones (the reconcile webhook uses this)."""
    layers: Sequence[Layer] = ()
    """More pipeline layers, placed outside (before) the built-in ones, outermost first."""
    event_sinks: Sequence[EventSink] = ()
    """More receivers of the gateway's events (sessions, requests, denials, auth failures)."""
    extra_gauges: Sequence[GaugeFamily] = ()
    """More `/metrics` gauges as `(name, help, collect)`; `collect()` yields `(labels, value)` pairs when
    scraped. The CLI passes the reconciler's status gauges, so the gateway need not import the reconciler."""

    def allowed_hosts(self) -> list[str]:
        """`Host` header values the MCP endpoints accept: the bind address, its loopback aliases, extras."""
        names = {self.host}
        if is_loopback(self.host) or self.host in ("0.0.0.0", "::"):
            names.update(("localhost", "127.0.0.1", "[::1]"))
        hosts = sorted(f"{name}:{self.port}" for name in names)
        if self.port in (80, 443):
            hosts.extend(sorted(names))
        hosts.extend(self.extra_hosts)
        return hosts

    def allowed_origins(self) -> list[str]:
        """`Origin` header values accepted (browsers only send one); clients without one always pass."""
        origins = [f"http://{host}" for host in self.allowed_hosts()]
        origins.extend(self.extra_origins)
        return origins
