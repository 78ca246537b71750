"""McpToken values: generation, the SHA-256 the store keeps and the display prefix.

A token value exists only in memory at creation; the store and every log see its hash or prefix.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "mcpctl_pat_"
"""Every token value starts with this."""


def generate_token() -> str:
    """A new token value: the prefix plus 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(value: str) -> str:
    """SHA-256 hex of a token value: what the store keeps and `Store.find_token` looks up."""
    return hashlib.sha256(value.encode()).hexdigest()


def display_prefix(value: str) -> str:
    """The first 12 characters of a value and an ellipsis, enough to tell tokens apart in listings."""
    return value[:12] + "…"
