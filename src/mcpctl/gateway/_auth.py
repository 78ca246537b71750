"""Bearer-token auth of MCP clients: `Authorization: Bearer mcpctl_pat_...` checked against the store.

Only a token's SHA-256 is looked up, cached or logged (a short prefix of the hash, never the value).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import anyio.to_thread

from mcpctl.errors import GatewayError
from mcpctl.store import hash_token

TOKEN_PREFIX = "mcpctl_pat_"
WWW_AUTHENTICATE = 'Bearer realm="mcpctl"'


class TokenInfo(Protocol):
    """The fields of a stored token (`mcpctl.store.TokenRecord`) that auth reads."""

    @property
    def project(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def revoked(self) -> bool: ...

    @property
    def expires_at(self) -> datetime | None: ...


class TokenSource(Protocol):
    """The part of `mcpctl.store.Store` that auth reads."""

    def find_token(self, token_hash: str) -> TokenInfo | None: ...


class AuthFailure(GatewayError):
    """A request refused by token auth: 401 (no valid token) or 403 (a valid token, wrong project)."""

    def __init__(self, detail: str, status_code: int, reason: str) -> None:
        super().__init__(detail, status_code)
        self.reason = reason

    @property
    def headers(self) -> dict[str, str]:
        if self.status_code == 401:
            error = "invalid_request" if self.reason in ("missing", "malformed") else "invalid_token"
            return {"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="{error}"'}
        return {"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="insufficient_scope"'}


@dataclass(frozen=True)
class Principal:
    """Who made a request: a token of a project."""

    project: str
    token_name: str
    token_hash_prefix: str

    @property
    def label(self) -> str:
        """How logs name the caller: `token <project>/<name>`, never the token value."""
        return f"token {self.project}/{self.token_name}"


def bearer_value(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer ...` header; AuthFailure (401) when missing or malformed."""
    if not authorization:
        raise AuthFailure("missing bearer token", 401, "missing")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise AuthFailure("malformed Authorization header: expected 'Bearer <token>'", 401, "malformed")
    if (
        not value.startswith(TOKEN_PREFIX)
        or len(value) <= len(TOKEN_PREFIX)
        or any(c.isspace() for c in value)
    ):
        raise AuthFailure(f"malformed token: mcpctl tokens start with {TOKEN_PREFIX}", 401, "malformed")
    return value


class TokenAuthenticator:
    """Checks bearer tokens with a bounded TTL cache in front of `store.find_token`.

    The cache holds lookups (hits and misses) for `ttl` seconds, so a revoked or newly created token is
    seen after at most `ttl` seconds; expiry is checked at every request against the cached record.
    """

    def __init__(
        self,
        store: TokenSource,
        *,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, TokenInfo | None]] = OrderedDict()
        self.lookups = 0

    async def lookup(self, digest: str) -> TokenInfo | None:
        """The stored token with this hash, from the cache when fresh."""
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = await anyio.to_thread.run_sync(self.store.find_token, digest)
        self.lookups += 1
        self._cache[digest] = (now + self.ttl, record)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return record

    async def authenticate(self, authorization: str | None, project: str | None) -> Principal:
        """The principal behind an Authorization header, allowed on `project` (any project when None).

        Raises AuthFailure: 401 missing/malformed/unknown/revoked/expired, 403 a token of another project.
        """
        value = bearer_value(authorization)
        digest = hash_token(value)
        record = await self.lookup(digest)
        if record is None:
            raise AuthFailure("unknown token", 401, "unknown")
        principal = Principal(record.project, record.name, digest[:12])
        if record.revoked:
            raise AuthFailure(f"token {record.project}/{record.name} is revoked", 401, "revoked")
        if record.expires_at is not None and _aware(record.expires_at) <= datetime.now(UTC):
            raise AuthFailure(f"token {record.project}/{record.name} has expired", 401, "expired")
        if project is not None and record.project != project:
            raise AuthFailure(
                f"token {record.project}/{record.name} is not valid for project {project}",
                403,
                "wrong-project",
            )
        return principal


def _aware(moment: datetime) -> datetime:
    # Stores may hand back naive UTC timestamps (SQLite); compare them as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
