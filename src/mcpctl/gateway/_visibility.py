"""What a caller of the admin API may see: its token's own project, and only what the token may `view`.

Asked of the same live `PolicySet` the policy layer enforces. Without auth (loopback only) everything
is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcpctl.policy import KIND_RESOURCES, PermissionSet
from mcpctl.schemas import LiveResource

from ._context import principal_of
from ._policy import token_permissions
from ._state import Snapshot


@dataclass(frozen=True, slots=True)
class Visibility:
    """One request's view of the estate: `permissions` None sees everything."""

    snapshot: Snapshot
    permissions: PermissionSet | None

    @classmethod
    def of(cls, scope: Any, snapshot: Snapshot) -> Visibility:
        """The visibility of the principal the guard put in the ASGI scope (none: auth is off)."""
        principal = principal_of(scope)
        if principal is None:
            return cls(snapshot, None)
        return cls(snapshot, token_permissions(snapshot, principal.project, principal.token_name))

    @property
    def home(self) -> str | None:
        """The one project the caller's token acts in (None: every project)."""
        return self.permissions.home if self.permissions is not None else None

    def permits(self, resource: str, name: str) -> bool:
        """Whether the caller may view `resource/name` (a policy resource type: `prompts`, ...)."""
        return self._view(resource, name)

    def _view(self, resource: str, name: str) -> bool:
        return self.permissions is None or self.permissions.allows("view", resource, name)

    def project(self, name: str) -> bool:
        """Whether the project is shown; every other project is answered 404, as if it did not exist."""
        return self.permissions is None or (name == self.home and self._view("projects", name))

    def server(self, name: str) -> bool:
        """Whether a server is shown: one of the caller's project, which it may view."""
        if self.permissions is None:
            return True
        spec = self.snapshot.projects.get(self.home or "")
        return spec is not None and name in spec.servers and self._view("servers", name)

    def kind(self, kind: str) -> bool:
        """Whether the caller may view resources of this kind at all (some name of it, or every one)."""
        if self.permissions is None:
            return True
        resource = KIND_RESOURCES.get(kind, "*")
        return any(
            grant.verb == "view" and grant.resource in (resource, "*") and grant.holds_in(self.home)
            for grant in self.permissions.grants
        )

    def resource(self, live: LiveResource) -> bool:
        """Whether one stored resource is shown: of the caller's project (or global), and viewable."""
        if self.permissions is None:
            return True
        kind, project, name = live.resource.identity
        if project is not None and project != self.home:
            return False
        if kind == "Project":
            return self.project(name)
        if kind == "Server":
            return self.server(name)
        # Kinds without a resource type of their own (ProxyModel) need `view` on `*`.
        return self._view(KIND_RESOURCES.get(kind, "*"), name)
