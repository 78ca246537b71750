"""Who is calling: the typed principal that auth builds and every layer of a request reads.

The endpoint authenticates once per HTTP request and puts the principal in the ASGI scope; nothing after
it looks at the Authorization header again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Permissions(Protocol):
    """What a principal may do, as the policy package computes it; the gateway only asks.

    `verb` is a role (`view`, `run`, ...) or an operation (`audit`, with no resource), `resource` a
    resource family (`servers`, `prompts`, ...), `name` one resource of it and `tool` one tool of a
    server (for `run` on `servers`).
    """

    def allows(
        self, verb: str, resource: str | None, name: str | None = None, *, tool: str | None = None
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """A token of a project, as authenticated: never the token value, only its name and prefixes."""

    project: str
    """The project the token belongs to."""
    token_name: str
    """The McpToken's name in that project."""
    token_prefix: str
    """The value's display prefix as the store keeps it (`mcpctl_pat_A…`)."""
    token_hash_prefix: str
    """The first 12 hex digits of the value's SHA-256: binds sessions to the token, names it in logs."""
    owner: str | None = None
    """The User the token acts for (`spec.owner`), or None."""
    permissions: Permissions | None = None
    """Effective permissions, when a policy evaluator computed them at authentication."""
    requests_per_minute: int | None = None
    """The token's own rate limit (`spec.rateLimit.requestsPerMinute`); None: the gateway's default."""

    @property
    def label(self) -> str:
        """How logs name the caller: `token <project>/<name>`, never the token value."""
        return f"token {self.project}/{self.token_name}"
