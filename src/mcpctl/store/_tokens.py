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


DISPLAY_CHARS = 8
"""Random characters after `mcpctl_pat_` that the display prefix keeps: enough to tell tokens apart
(48 bits), far too few to guess the other 35. Tokens made before kept one; they show as they were."""


def display_prefix(value: str) -> str:
    """`mcpctl_pat_` and the next DISPLAY_CHARS characters of a value, then an ellipsis (fits the column)."""
    return value[: len(TOKEN_PREFIX) + DISPLAY_CHARS] + "…"
