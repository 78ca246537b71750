"""The one exception tree of mcpctl; every error a user can see derives from `McpctlError`.

    McpctlError(detail)                 base; `detail` is the one-line message shown to users
    ├── UsageError                      bad flags or arguments (exit code 2)
    │   └── UnknownSubject              a policy question about a user, group or token not defined
    ├── ValidationFailed(problems)      desired state has problems (exit code 1)
    ├── StoreError                      the live store is unreachable or inconsistent
    │   ├── StoreMissing                there is no store there yet (read-only commands never make one)
    │   ├── LockTimeout                 another apply holds the store lock
    │   └── StalePlan                   a saved plan no longer matches the store generation
    ├── ResourceNotFound                a named resource is not in the live store
    ├── AlreadyExists                   a resource to be created is already in the live store
    ├── PlanRefused                     a plan that must not be applied (prevent-destroy, errors)
    ├── StaleFiles                      committed generated files (JSON Schemas, reference) are stale
    ├── SourceError                     a git or file source could not be read
    ├── GatewayError                    the gateway could not serve a request
    │   ├── AuthFailure(status_code, reason)  token auth refused it: 401 or 403, with `WWW-Authenticate`
    │   └── UpstreamError               an upstream server failed; a JSON-RPC error or an `isError` result
    │       ├── UnknownUpstream         no server of that name is configured
    │       ├── UpstreamUnavailable     the server could not be started/reached, or its connection dropped
    │       ├── UpstreamTimeout         starting the server or a request to it took longer than its timeout
    │       ├── MissingSecret           a secretRef/fromEnv in the server's env or headers has no value
    │       └── InvalidUpstreamSpec     the server spec cannot be used as is (unknown template, bad values)
    └── LlmError                        the LLM layer (`mcpctl.llm`) could not answer or is misconfigured
        ├── LlmConfigError(problems)    the LLM configuration is invalid (also a ValidationFailed)
        ├── UnknownProvider             a provider name the configuration does not define
        ├── NoProviderAvailable         every provider of the fallback chain failed (`failures`)
        └── ProviderError(provider)     one provider failed; the chain moves on to the next
            ├── ProviderUnavailable     no connection, HTTP 5xx/408/429 (down or overloaded), not ready yet
            ├── ProviderTimeout         no answer within the call's time budget
            ├── ProviderRejected(status)  the server refused the request (4xx, e.g. a bad API key)
            ├── ModelNotServed          the server does not serve the model asked for
            └── InvalidAnswer           the answer is not JSON, or does not match the schema

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


class StoreMissing(StoreError):
    """The URL names no store yet: a SQLite file that does not exist, or a database without the schema."""


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


class StaleFiles(McpctlError):
    """Committed generated files differ from what the models generate (`schema export --check`)."""


class SourceError(McpctlError):
    """A source of desired state (files, a git repository) could not be read."""


class GatewayError(McpctlError):
    """The gateway could not serve a request."""


class AuthFailure(GatewayError):
    """A request refused by token auth: 401 (no valid token) or 403 (a valid token, wrong project).

    `reason` is a short keyword for metrics and audit (missing, malformed, unknown, revoked, expired,
    wrong-project); `detail` never holds the presented value.
    """

    def __init__(self, detail: str, status_code: int, reason: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.reason = reason

    @property
    def headers(self) -> dict[str, str]:
        """The `WWW-Authenticate` header of the refusal (RFC 6750 error codes)."""
        realm = 'Bearer realm="mcpctl"'
        if self.status_code == 401:
            error = "invalid_request" if self.reason in ("missing", "malformed") else "invalid_token"
            return {"WWW-Authenticate": f'{realm}, error="{error}"'}
        return {"WWW-Authenticate": f'{realm}, error="insufficient_scope"'}


class UpstreamError(GatewayError):
    """An upstream server could not serve a request; clients see it as a JSON-RPC error or `isError`."""


class UnknownUpstream(UpstreamError):
    """No upstream server of this name is configured in the pool."""


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be started or reached, or its connection dropped mid-request."""


class UpstreamTimeout(UpstreamError):
    """Connecting to the upstream, or one request to it, exceeded the server's timeout."""


class MissingSecret(UpstreamError):
    """A secret or environment reference has no value; the message names the reference, never a value."""


class InvalidUpstreamSpec(UpstreamError):
    """A server spec the pool cannot start: an unknown template, bad template values, no command."""


class LlmError(McpctlError):
    """The LLM layer could not answer, or its configuration is wrong."""


class LlmConfigError(LlmError, ValidationFailed):
    """The LLM configuration (file or env vars) has problems; `problems` lists each at file:line: field."""

    def __init__(self, problems: Sequence[Any], source: str) -> None:
        ValidationFailed.__init__(self, problems)
        self.detail = f"invalid LLM configuration {source}: {len(self.problems)} problem(s)"
        self.args = (self.detail,)


class UnknownProvider(LlmError):
    """A provider was asked for by name but the LLM configuration does not define it."""


class NoProviderAvailable(LlmError):
    """No provider of the fallback chain answered; `failures` says why each one failed, in order."""

    def __init__(self, detail: str, failures: Sequence[ProviderError] = ()) -> None:
        super().__init__(detail)
        self.failures = tuple(failures)


class ProviderError(LlmError):
    """One provider failed to answer; `provider` names it."""

    def __init__(self, detail: str, provider: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, answered 5xx, 408 or 429 (down, overloaded), or is not ready yet."""


class ProviderTimeout(ProviderError):
    """The provider did not answer within the time budget of the call."""


class ProviderRejected(ProviderError):
    """The provider refused the request (HTTP 4xx other than an unknown model)."""

    def __init__(self, detail: str, provider: str, status_code: int) -> None:
        super().__init__(detail, provider)
        self.status_code = status_code


class ModelNotServed(ProviderError):
    """The provider does not serve the model that was asked for."""


class InvalidAnswer(ProviderError):
    """The provider answered, but not with JSON matching the schema asked for."""
