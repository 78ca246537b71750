"""McpToken values: generation, the SHA-256 the store keeps, the display prefix and the expiry time.

A token value exists only in memory at creation; the store and every log see its hash or prefix.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from mcpctl.errors import StoreError

TOKEN_PREFIX = "mcpctl_pat_"
"""Every token value starts with this."""

_DURATION = re.compile(r"^(\d+)([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def generate_token() -> str:
    """A new token value: the prefix plus 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(value: str) -> str:
    """SHA-256 hex of a token value: what the store keeps and `Store.find_token` looks up."""
    return hashlib.sha256(value.encode()).hexdigest()


def display_prefix(value: str) -> str:
    """The first 12 characters of a value and an ellipsis, enough to tell tokens apart in listings."""
    return value[:12] + "…"


def expiry(expires: str, created_at: datetime) -> datetime | None:
    """When a token made at `created_at` with `spec.expires` stops working; None for `never`."""
    if expires == "never":
        return None
    duration = _DURATION.match(expires)
    if duration:
        return created_at + int(duration.group(1)) * _UNITS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(expires)
    except ValueError:
        raise StoreError(f"token expiry {expires!r} is neither never, a duration nor an ISO date") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
