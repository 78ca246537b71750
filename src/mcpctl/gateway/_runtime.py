"""The running gateway's parts wired together (store, live state, pool, sessions, auth, metrics, events).

Route handlers reach it through `runtime_of(request)`; `create_app` builds one per app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from litestar import Request

from mcpctl.content import ResultCache
from mcpctl.schemas import LiveResource
from mcpctl.store import AuditEvent, AuditQuery, AuditSession

from ._aggregate import Upstreams
from ._auth import TokenAuthenticator, TokenInfo
from ._config import GatewayConfig
from ._events import Events
from ._metrics import GatewayMetrics
from ._pool import UpstreamStatus
from ._sessions import ProjectSessions
from ._state import LiveState

if TYPE_CHECKING:  # _health imports this module for its route handlers
    from ._audit_sink import GatewayAudit
    from ._health import HealthProber


class GatewayStore(Protocol):
    """The part of `mcpctl.store.Store` the gateway uses."""

    def generation(self) -> int: ...

    def list_resources(self, kind: str | None = None, project: str | None = None) -> list[LiveResource]: ...

    def find_token(self, token_hash: str) -> TokenInfo | None: ...

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]: ...

    def audit_sessions(self, query: AuditQuery | None = None) -> list[AuditSession]: ...

    def latest_audit_id(self) -> int: ...

    def close(self) -> None: ...


class GatewayPool(Upstreams, Protocol):
    """The upstream pool as the app drives it: aggregation calls plus lifecycle and status."""

    async def sync(self, servers: Mapping[str, Any]) -> None: ...

    def status(self) -> Mapping[str, UpstreamStatus]: ...

    async def aclose(self) -> None: ...

    async def probe(self, server: str) -> bool: ...


@dataclass
class GatewayRuntime:
    """Everything a request handler may need."""

    config: GatewayConfig
    store: GatewayStore
    state: LiveState
    pool: GatewayPool
    sessions: ProjectSessions
    auth: TokenAuthenticator
    metrics: GatewayMetrics
    prober: HealthProber
    events: Events
    audit: GatewayAudit | None = None
    """The audit writer and sink; None when the audit trail is off."""
    cache: ResultCache | None = None
    """The content layer's result cache (paginated results, sections)."""


def runtime_of(request: Request[Any, Any, Any]) -> GatewayRuntime:
    """The runtime of the app serving `request`."""
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime
