"""The gateway: one MCP endpoint per project over a pool of upstream MCP servers.

Requests pass the endpoint (auth, `Principal`), a `GatewaySession`, the SDK boundary (`CallContext`), the
project's `Pipeline` of `Layer`s and the aggregator into the `UpstreamPool`; `Events` report what happened.
"""

from __future__ import annotations

from mcpctl.errors import (
    AuthFailure,
    InvalidUpstreamSpec,
    MissingSecret,
    UnknownUpstream,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

from ._app import create_app
from ._audit_sink import AuditSink, audit_event
from ._auth import TokenAuthenticator
from ._config import (
    AuditConfig,
    AuthConfig,
    ContentConfig,
    GatewayConfig,
    HttpLimits,
    ListConfig,
    LiveConfig,
    LlmSettings,
    PolicyConfig,
    ProbeConfig,
    RateLimitConfig,
    SessionConfig,
    TracingConfig,
    UpstreamConfig,
)
from ._context import CallContext, Refused, Target, UnknownTarget
from ._events import (
    AccessDenied,
    AuthFailed,
    ClientRequestRelayed,
    ConfigReloaded,
    DescriptionFlagged,
    EventSink,
    GatewayEvent,
    PromptProposed,
    RequestFinished,
    SessionClosed,
    SessionOpened,
    ToolPinMismatch,
    ToolsSelected,
)
from ._gate import GateLayer
from ._live_tools import read_live_tools
from ._matcher import Candidate, Matcher
from ._pinning import PinningLayer, live_definition
from ._pipeline import Layer, Listed, refuse
from ._policy import PolicyLayer
from ._pool import UpstreamPool, UpstreamStatus
from ._principal import Permissions, Principal
from ._prompt_resources import PROMPT_SCHEME, PromptResourcesLayer
from ._proposals import PROPOSE, REQUEST_SCHEME, ProposalLayer
from ._secrets import SecretResolver
from ._select import PromptCandidate, Selection, Selector
from ._serving import uvicorn_config
from ._session import GatewaySession
from ._state import LiveState, Snapshot, load_snapshot, resolve_server_spec
from ._upstream import UpstreamState
from ._webhook import WebhookConfig, webhook_app, webhook_router, webhook_signature

__all__ = [
    "PROMPT_SCHEME",
    "PROPOSE",
    "REQUEST_SCHEME",
    "AccessDenied",
    "AuditConfig",
    "AuditSink",
    "AuthConfig",
    "AuthFailed",
    "AuthFailure",
    "CallContext",
    "Candidate",
    "ClientRequestRelayed",
    "ConfigReloaded",
    "ContentConfig",
    "DescriptionFlagged",
    "EventSink",
    "GateLayer",
    "GatewayConfig",
    "GatewayEvent",
    "GatewaySession",
    "HttpLimits",
    "InvalidUpstreamSpec",
    "Layer",
    "ListConfig",
    "Listed",
    "LiveConfig",
    "LiveState",
    "LlmSettings",
    "Matcher",
    "MissingSecret",
    "Permissions",
    "PinningLayer",
    "PolicyConfig",
    "PolicyLayer",
    "Principal",
    "ProbeConfig",
    "PromptCandidate",
    "PromptProposed",
    "PromptResourcesLayer",
    "ProposalLayer",
    "RateLimitConfig",
    "Refused",
    "RequestFinished",
    "SecretResolver",
    "Selection",
    "Selector",
    "SessionClosed",
    "SessionConfig",
    "SessionOpened",
    "Snapshot",
    "Target",
    "TokenAuthenticator",
    "ToolPinMismatch",
    "ToolsSelected",
    "TracingConfig",
    "UnknownTarget",
    "UnknownUpstream",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamState",
    "UpstreamStatus",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "WebhookConfig",
    "audit_event",
    "create_app",
    "live_definition",
    "load_snapshot",
    "read_live_tools",
    "refuse",
    "resolve_server_spec",
    "uvicorn_config",
    "webhook_app",
    "webhook_router",
    "webhook_signature",
]
