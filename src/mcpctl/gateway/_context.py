"""Per-request context: `CallContext`, made at the top of every MCP request and passed down to the pool.

Also the ASGI scope keys under which the endpoint leaves the principal and the session for what follows.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mcp import ServerSession
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ProgressToken, RequestId, RequestParamsMeta

from mcpctl.store import new_correlation_id

from ._principal import Principal
from ._session import GatewaySession

if TYPE_CHECKING:
    import mcp_types as types

    from ._pipeline import Layer, Listed

PRINCIPAL_KEY = "mcpctl.principal"
"""ASGI scope key of the authenticated `Principal` (absent when auth is off)."""
SESSION_KEY = "mcpctl.session"
"""ASGI scope key of the request's `GatewaySession` (absent for an unknown session id, which gets 404)."""

TargetKind = Literal["tool", "prompt", "resource", "resource template"]


def principal_of(scope: MutableMapping[str, Any]) -> Principal | None:
    """The principal the endpoint authenticated for this HTTP request."""
    principal = scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def session_of(scope: MutableMapping[str, Any]) -> GatewaySession | None:
    """The gateway session this HTTP request belongs to (the one it opens, for an initialize)."""
    session = scope.get(SESSION_KEY)
    return session if isinstance(session, GatewaySession) else None


@dataclass(frozen=True, slots=True)
class Target:
    """What one intercepted request is about, as the client named it and as an upstream serves it."""

    kind: TargetKind
    exposed: str
    """The name or URI the client sent (`git__git_log`, a gateway URI)."""
    server: str | None = None
    """The upstream serving it; None for the gateway's own (a project prompt) and for what nothing serves."""
    name: str | None = None
    """Its name or URI on `server` (a project prompt's name when `server` is None); None when unknown."""

    @property
    def known(self) -> bool:
        return self.name is not None


class UnknownTarget(MCPError):
    """-32602 for a tool, prompt, resource or template this session cannot use: unknown, filtered or denied.

    One wording for all three, so a client cannot tell what exists from what it may not use.
    """

    def __init__(self, kind: TargetKind, exposed: str) -> None:
        super().__init__(INVALID_PARAMS, f"Unknown {kind}: {exposed}")
        self.kind, self.exposed = kind, exposed


class Refused(UnknownTarget):
    """A layer's refusal (policy, pins, toolFilter): answered as `UnknownTarget`, recorded as a denial."""

    def __init__(self, target: Target, reason: str) -> None:
        super().__init__(target.kind, target.exposed)
        self.target, self.reason = target, reason


class Chain(Protocol):
    """What a layer answering a call itself may ask of its pipeline (see `CallContext.chain`)."""

    async def tools_below(self, layer: Layer, call: CallContext) -> list[Listed[types.Tool]]: ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """One client request on its way through the layers into the upstream pool.

    Fan-out requests (a `tools/list` over every server) pass the same context, hence one correlation id,
    to every upstream call they cause.
    """

    session: GatewaySession
    principal: Principal | None
    """Who asked; None when the gateway runs without auth."""
    method: str
    """The JSON-RPC method (`tools/call`, `tools/list`, ...)."""
    peer: ServerSession
    """The SDK's channel for this request: progress, log lines and server→client requests tied to it
    (`peer.send_progress_notification(token, ..., related_request_id=request_id)`, `peer.elicit(...)`)."""
    request_id: RequestId | None = None
    """The client's JSON-RPC request id."""
    meta: RequestParamsMeta | None = None
    """The client's `_meta` of this request (`progressToken` among others)."""
    correlation_id: str = field(default_factory=new_correlation_id)
    """Ties the request to everything it causes (upstream calls, audit events, spans)."""
    target: Target | None = None
    """Set for requests about one thing (calls, gets, reads, subscriptions, completions), None for lists."""
    started: float = field(default_factory=time.perf_counter)
    chain: Chain | None = None
    """The project's pipeline, set for `tools/call`: a layer that answers a call itself (the gate's
    `begin_session`) lists the tools the layers inside it let through with `chain.tools_below(self, call)`."""

    @property
    def project(self) -> str:
        return self.session.project

    @property
    def progress_token(self) -> ProgressToken | None:
        """The client's progress token, to forward upstream and to answer progress against."""
        meta = self.meta
        if meta is None:
            return None
        # The SDK validates `_meta` into its Python field names (`progress_token`); raw dicts use the wire's.
        token = meta.get("progress_token", meta.get("progressToken"))
        return token if isinstance(token, str | int) and not isinstance(token, bool) else None
