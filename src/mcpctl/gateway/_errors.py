"""Errors of the gateway's upstream pool, each mapped to the HTTP status the gateway answers with.

GatewayError (mcpctl.errors)
├── UnknownUpstream       404  no server of that name is configured
├── UpstreamUnavailable   502  the server could not be started/reached, or its connection dropped
├── UpstreamTimeout       504  starting the server or a request to it took longer than its timeout
├── MissingSecret         500  a secretRef/fromEnv in the server's env or headers has no value
└── InvalidUpstreamSpec   500  the server spec cannot be used as is (unknown template, bad values)
"""

from __future__ import annotations

from mcpctl.errors import GatewayError


class UnknownUpstream(GatewayError):
    """No upstream server of this name is configured in the pool."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=404)


class UpstreamUnavailable(GatewayError):
    """The upstream could not be started or reached, or its connection dropped mid-request."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=502)


class UpstreamTimeout(GatewayError):
    """Connecting to the upstream, or one request to it, exceeded the server's timeout."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=504)


class MissingSecret(GatewayError):
    """A secret or environment reference has no value; the message names the reference, never a value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=500)


class InvalidUpstreamSpec(GatewayError):
    """A server spec the pool cannot start: an unknown template, bad template values, no command."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, status_code=500)
