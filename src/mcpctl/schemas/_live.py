"""A resource as the live store holds it: the resource plus who manages it and from which revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ._base import Identity, ResourceModel
from ._rbac import McpToken, McpTokenSpec
from ._time import as_utc

CLI_MANAGER = "cli"
"""`managed_by` of resources created with `mcpctl create`."""


def gitops_manager(source: str) -> str:
    """`managed_by` of resources applied from `source` (a path or repository URL)."""
    return f"gitops:{source}"


@dataclass(frozen=True, slots=True)
class LiveResource:
    """A stored resource with the bookkeeping the reconciler needs (no SQL types here)."""

    resource: ResourceModel
    """The resource as last applied."""
    managed_by: str
    """`gitops:<source>` or `cli`."""
    source_revision: str | None = None
    """Commit (or other revision) that last wrote it."""
    created_at: datetime | None = None
    """When it was first stored."""
    updated_at: datetime | None = None
    """When it was last changed."""
    prevent_destroy: bool = False
    """Stored prevent-destroy mark; it outlives the YAML that set it."""

    @property
    def identity(self) -> Identity:
        """The (kind, project, name) key."""
        return self.resource.identity


def token_expiry(expires: str, created_at: datetime | None) -> datetime | None:
    """When a token stops working: None for `never`; durations count from its creation (or now)."""
    start = as_utc(created_at) if created_at is not None else datetime.now(UTC)
    return McpTokenSpec(expires=expires).expiry(start)


def token_status(token: LiveResource, now: datetime) -> str:
    """`revoked`, `expired` or `active`."""
    resource = token.resource
    assert isinstance(resource, McpToken)
    if resource.spec.revoked:
        return "revoked"
    expiry = token_expiry(resource.spec.expires, token.created_at)
    if expiry is not None and expiry <= as_utc(now):
        return "expired"
    return "active"
