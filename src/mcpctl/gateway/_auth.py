"""Bearer-token auth of MCP clients: `Authorization: Bearer mcpctl_pat_...` checked against the store.

Only a token's SHA-256 is looked up, cached or logged (a short prefix of the hash, never the value).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import anyio
import anyio.to_thread

from mcpctl.errors import AuthFailure
from mcpctl.schemas import McpTokenSpec
from mcpctl.store import TOKEN_PREFIX, hash_token

from ._principal import Permissions, Principal


class TokenInfo(Protocol):
    """The fields of a stored token (`mcpctl.store.TokenRecord`) that auth reads."""

    @property
    def project(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def spec(self) -> McpTokenSpec: ...

    @property
    def revoked(self) -> bool: ...

    @property
    def expires_at(self) -> datetime | None: ...


class TokenSource(Protocol):
    """The part of `mcpctl.store.Store` that auth reads."""

    def find_token(self, token_hash: str) -> TokenInfo | None: ...


PermissionsOf = Callable[[TokenInfo], Permissions | None]
"""Computes a token's effective permissions when it authenticates (the policy evaluator plugs in here)."""
TokenUsed = Callable[[str], None]
"""Told the SHA-256 hex of every token that authenticates (LAST USED); must only record or enqueue."""


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


def is_expired(record: TokenInfo, now: datetime | None = None) -> bool:
    """Whether the token's expiry has passed (the store returns aware UTC timestamps)."""
    return record.expires_at is not None and record.expires_at <= (now or datetime.now(UTC))


class TokenAuthenticator:
    """Checks bearer tokens with a bounded TTL cache in front of `store.find_token`.

    The cache holds lookups (hits and misses) for `ttl` seconds, so a revoked or newly created token is
    seen after at most `ttl` seconds; expiry is checked at every request against the cached record. The
    app also `clear()`s it on every store reload, so on PostgreSQL a revocation counts from its NOTIFY.

    Concurrent requests with the same token share one lookup: when an entry expired under load, every
    request arriving before the store answered started its own (each a worker thread and, past the
    connection pool's size, a new database connection).
    """

    def __init__(
        self,
        store: TokenSource,
        *,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        permissions_of: PermissionsOf | None = None,
        used: TokenUsed | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._permissions_of = permissions_of
        self.used = used
        self._cache: OrderedDict[str, tuple[float, TokenInfo | None]] = OrderedDict()
        self._in_flight: dict[str, _Lookup] = {}
        self._generation = 0
        """Counts `clear()`s: a lookup that started before one must not fill the cache after it."""
        self.lookups = 0

    async def lookup(self, digest: str) -> TokenInfo | None:
        """The stored token with this hash: cached while fresh, else read from the store (once at a time)."""
        while True:
            cached = self._cache.get(digest)
            if cached is not None and cached[0] > self._clock():
                return cached[1]
            shared = self._in_flight.get(digest)
            if shared is None:
                return await self._lookup(digest)
            await shared.done.wait()
            if shared.error is not None:
                raise shared.error  # as a future does: every waiter gets the store's failure
            if shared.answered:
                return shared.record
            # The request that looked up was cancelled before the store answered: look up anew.

    async def _lookup(self, digest: str) -> TokenInfo | None:
        shared = self._in_flight[digest] = _Lookup()
        generation, started = self._generation, self._clock()
        try:
            try:
                record = await anyio.to_thread.run_sync(self.store.find_token, digest)
            except Exception as error:
                shared.error = error
                raise
            self.lookups += 1
            shared.record, shared.answered = record, True
            if generation == self._generation:
                self._cache[digest] = (started + self.ttl, record)
                self._cache.move_to_end(digest)
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
            return record
        finally:
            if self._in_flight.get(digest) is shared:
                del self._in_flight[digest]
            shared.done.set()

    def clear(self) -> None:
        """Forget every cached lookup: the store changed (a token revoked, created or rebound).

        Lookups in flight are forgotten too: a request arriving from now on asks the store anew rather
        than share an answer that may predate the change, and that answer is not cached."""
        self._cache.clear()
        self._in_flight.clear()
        self._generation += 1

    async def authenticate(self, authorization: str | None, project: str | None) -> Principal:
        """The principal behind an Authorization header, allowed on `project` (any project when None).

        Raises AuthFailure: 401 missing/malformed/unknown/revoked/expired, 403 a token of another project.
        """
        value = bearer_value(authorization)
        digest = hash_token(value)
        record = await self.lookup(digest)
        if record is None:
            raise AuthFailure("unknown token", 401, "unknown")
        if record.revoked:
            raise AuthFailure(f"token {record.project}/{record.name} is revoked", 401, "revoked")
        if is_expired(record):
            raise AuthFailure(f"token {record.project}/{record.name} has expired", 401, "expired")
        if project is not None and record.project != project:
            raise AuthFailure(
                f"token {record.project}/{record.name} is not valid for project {project}",
                403,
                "wrong-project",
            )
        permissions = self._permissions_of(record) if self._permissions_of is not None else None
        if self.used is not None:
            self.used(digest)
        return Principal(
            project=record.project,
            token_name=record.name,
            token_prefix=record.prefix,
            token_hash_prefix=digest[:12],
            owner=record.spec.owner,
            permissions=permissions,
            requests_per_minute=(
                record.spec.rate_limit.requests_per_minute if record.spec.rate_limit is not None else None
            ),
        )


@dataclass(eq=False, slots=True)
class _Lookup:
    """One store lookup in flight, which requests with the same token wait for instead of starting theirs."""

    done: anyio.Event = field(default_factory=anyio.Event)
    answered: bool = False
    record: TokenInfo | None = None
    error: Exception | None = None
