"""Plain records the store returns besides resources: apply history and token lookups.

They carry no SQL types, so the gateway and the CLI can use them without knowing the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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
    """Display prefix of the value, e.g. `mcpctl_pat_Ab3dE9xQ…`."""
    spec: McpTokenSpec
    """Bindings, RBAC mode, owner, revocation."""
    created_at: datetime
    """When the value was generated (UTC)."""
    expires_at: datetime | None
    """When it stops working (UTC), or None for never."""
    revoked: bool
    """Revoked tokens are refused."""
    last_used_at: datetime | None = None
    """When the gateway last accepted it (to the minute), or None if never."""
    token_hash: str = ""
    """SHA-256 hex of the value (what backups keep so that restored tokens still work)."""

    def is_valid(self, now: datetime | None = None) -> bool:
        """True unless revoked or expired at `now` (default: the current time)."""
        if self.revoked:
            return False
        if self.expires_at is None:
            return True
        return (now or datetime.now(UTC)) < self.expires_at
