"""The one exception tree of mcpctl; every error a user can see derives from `McpctlError`.

    McpctlError(detail)                 base; `detail` is the one-line message shown to users
    ├── UsageError                      bad flags or arguments (exit code 2)
    │   └── UnknownSubject              a policy question about a user, group or token not defined
    ├── ValidationFailed(problems)      desired state has problems (exit code 1)
    ├── StoreError                      the live store is unreachable or inconsistent
    │   ├── LockTimeout                 another apply holds the store lock
    │   └── StalePlan                   a saved plan no longer matches the store generation
    ├── ResourceNotFound                a named resource is not in the live store
    ├── AlreadyExists                   a resource to be created is already in the live store
    ├── PlanRefused                     a plan that must not be applied (prevent-destroy, errors)
    ├── SourceError                     a git or file source could not be read
    └── GatewayError(status_code)       maps onto an HTTP status in the gateway

This module imports nothing of ours, so every subpackage may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class McpctlError(Exception):
    """Base of all mcpctl errors; `detail` is what the user reads, `exit_code` what the CLI returns."""

    exit_code: int = 1

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UsageError(McpctlError):
    """The command line asked for something that cannot be done as asked."""

    exit_code = 2


class UnknownSubject(UsageError):
    """A permission question names a subject the policy does not know (a typo must not read as "no")."""


class ValidationFailed(McpctlError):
    """Desired state failed validation; `problems` holds every problem found (objects with `__str__`)."""

    def __init__(self, problems: Sequence[Any]) -> None:
        super().__init__(f"{len(problems)} problem(s) found")
        self.problems = list(problems)


class StoreError(McpctlError):
    """The live store could not be read or written."""


class LockTimeout(StoreError):
    """Another apply held the store lock for longer than the lock timeout."""


class StalePlan(StoreError):
    """A saved plan was made against a store generation that has since moved."""


class ResourceNotFound(McpctlError):
    """A named resource is not in the live store."""


class AlreadyExists(McpctlError):
    """A resource to be created is already in the live store."""


class PlanRefused(McpctlError):
    """A plan that must not be applied, such as one destroying a prevent-destroy resource."""


class SourceError(McpctlError):
    """A source of desired state (files, a git repository) could not be read."""


class GatewayError(McpctlError):
    """An error the gateway answers with an HTTP status."""

    def __init__(self, detail: str, status_code: int = 500) -> None:
        super().__init__(detail)
        self.status_code = status_code
