"""The gateway: one MCP endpoint per project over a pool of upstream MCP servers.

The upstream pool (`UpstreamPool`) keeps one long-lived client session per upstream server.
"""

from __future__ import annotations

from ._errors import InvalidUpstreamSpec, MissingSecret, UnknownUpstream, UpstreamTimeout, UpstreamUnavailable
from ._pool import UpstreamPool, UpstreamStatus, resolve_server_spec
from ._secrets import SecretResolver
from ._upstream import UpstreamState

__all__ = [
    "InvalidUpstreamSpec",
    "MissingSecret",
    "SecretResolver",
    "UnknownUpstream",
    "UpstreamPool",
    "UpstreamState",
    "UpstreamStatus",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "resolve_server_spec",
]
