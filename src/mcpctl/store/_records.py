"""Plain records the store returns besides resources: apply history, token lookups, audit events.

They carry no SQL types, so the gateway and the CLI can use them without knowing the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mcpctl.schemas import McpTokenSpec


@dataclass(frozen=True, slots=True)
class Revision:
    """One apply as `mcpctl history` lists it."""

    id: int
    """Sequence number of the apply."""
    generation: int
    """Store generation after the apply."""
    source: str
    """Where the desired state came from (a path or repository URL)."""
    revision: str | None
    """Commit or other revision of the source, when known."""
    plan_digest: str
    """Digest of the plan that was applied."""
    counts: dict[str, int]
    """Changes by action, e.g. `{"create": 3, "update": 1, "delete": 0}`."""
    actor: str | None
    """Who applied it."""
    applied_at: datetime
    """When it was committed (UTC)."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the gateway needs to authenticate a bearer token (never the token value)."""

    project: str
    """Project the token belongs to."""
    name: str
    """Token name."""
    prefix: str
    """Display prefix of the value, e.g. `mcpctl_pat_A…`."""
    spec: McpTokenSpec
    """Bindings, RBAC mode, owner, revocation."""
    created_at: datetime
    """When the value was generated (UTC)."""
    expires_at: datetime | None
    """When it stops working (UTC), or None for never."""
    revoked: bool
    """Revoked tokens are refused."""

    def is_valid(self, now: datetime | None = None) -> bool:
        """True unless revoked or expired at `now` (default: the current time)."""
        if self.revoked:
            return False
        if self.expires_at is None:
            return True
        return (now or datetime.now(UTC)) < self.expires_at


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited gateway event; `detail` never holds tool arguments or secrets."""

    ts: datetime
    """When it happened (UTC)."""
    correlation_id: str
    """Ties together the events of one request or session."""
    event_type: str
    """E.g. `session.start`, `tool.call`, `auth.failure`, `rbac.decision`."""
    project: str | None = None
    """Project whose endpoint was used."""
    token_name: str | None = None
    """Name of the token used, if any."""
    user: str | None = None
    """User behind the token, if known."""
    server: str | None = None
    """Upstream server involved."""
    tool: str | None = None
    """Tool called."""
    outcome: str = "ok"
    """E.g. `ok`, `error`, `denied`, `timeout`."""
    duration_ms: float | None = None
    """How long it took."""
    detail: dict[str, Any] = field(default_factory=dict)
    """Extra facts (argument digest, error class, ...)."""
