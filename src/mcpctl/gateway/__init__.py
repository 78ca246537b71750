"""The gateway: one MCP endpoint per project over a pool of upstream MCP servers.

The upstream pool (`UpstreamPool`) keeps one long-lived client session per upstream server.
"""

from __future__ import annotations

from ._app import create_app
from ._auth import AuthFailure, TokenAuthenticator
from ._config import AuthConfig, GatewayConfig, LiveConfig, SessionConfig, UpstreamConfig
from ._errors import InvalidUpstreamSpec, MissingSecret, UnknownUpstream, UpstreamTimeout, UpstreamUnavailable
from ._pool import UpstreamPool, UpstreamStatus, resolve_server_spec
from ._secrets import SecretResolver
from ._state import LiveState, Snapshot, load_snapshot
from ._upstream import UpstreamState
from ._webhook import WebhookConfig, webhook_app, webhook_router, webhook_signature

__all__ = [
    "AuthConfig",
    "AuthFailure",
    "GatewayConfig",
    "InvalidUpstreamSpec",
    "LiveConfig",
    "LiveState",
    "MissingSecret",
    "SecretResolver",
    "SessionConfig",
    "Snapshot",
    "TokenAuthenticator",
    "UnknownUpstream",
    "UpstreamConfig",
    "UpstreamPool",
    "UpstreamState",
    "UpstreamStatus",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "WebhookConfig",
    "create_app",
    "load_snapshot",
    "resolve_server_spec",
    "webhook_app",
    "webhook_router",
    "webhook_signature",
]
