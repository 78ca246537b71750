"""Settings of the gateway app, one frozen dataclass per feature, gathered in `GatewayConfig`.

`create_app(config)` reads nothing else: the CLI (`mcpctl serve`) and tests build these.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._events import EventSink
from ._pipeline import Layer

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
class LiveConfig:
    """How the gateway notices changes in the store."""

    poll_interval_seconds: float = 1.0
    """Seconds between reads of the store generation."""


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
    json_response: bool = True
    """Answer POSTs with plain JSON rather than an SSE stream (measured: ~6 ms less per call at p50).

    Notifications still reach clients on their standalone GET stream."""


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
    live: LiveConfig = field(default_factory=LiveConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    sessions: SessionConfig = field(default_factory=SessionConfig)
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
