"""The MCP endpoint `/projects/<project>/mcp`: finds the project, authenticates, hands over to its sessions.

Authentication happens here and only here: the typed `Principal` goes into the ASGI scope (`PRINCIPAL_KEY`),
where the session and every layer read it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from mcpctl.errors import AuthFailure

from ._auth import TokenAuthenticator
from ._context import PRINCIPAL_KEY
from ._events import AuthFailed, Events, client_address
from ._principal import Principal
from ._sessions import ProjectSessions

logger = logging.getLogger("mcpctl.gateway")

MCP_MOUNT = "/projects"

RateCheck = Callable[[str, Principal], Awaitable[tuple[int, str, dict[str, str]] | None]]
"""Asked with (project, principal) per request: None lets it through, else (status, message, headers)."""


async def send_json(
    send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """A whole JSON response on a raw ASGI `send`."""
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers.extend((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def rpc_error(message: str, code: int = -32600) -> dict[str, Any]:
    """A JSON-RPC error body without a request id (the request was refused before it was read)."""
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def scope_user(principal: Principal) -> AuthenticatedUser:
    """The SDK user that binds each MCP session to the token that opened it (compared on every request).

    The hash prefix stands in for the token, so the value itself never sits in the scope.
    """
    return AuthenticatedUser(
        AccessToken(token=principal.token_hash_prefix, client_id=principal.label, scopes=[])
    )


def mcp_endpoint(
    projects: Callable[[], Mapping[str, Any]],
    sessions: ProjectSessions,
    events: Events,
    auth: TokenAuthenticator | None,
    limit: RateCheck | None = None,
) -> ASGIRouteHandler:
    """The Litestar mount serving every project's MCP endpoint; `auth` None serves without tokens.

    `limit` is asked once per authenticated request; when it refuses, the request is answered 429.
    """

    @asgi(MCP_MOUNT, is_mount=True, copy_scope=True)
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        parts = [p for p in scope["path"].split("/") if p]
        if len(parts) != 2 or parts[1] != "mcp":
            await send_json(send, 404, rpc_error("not found: MCP endpoints are /projects/<project>/mcp"))
            return
        project = parts[0]
        if auth is not None:
            # Before the project lookup: without a token of it, an unknown project answers exactly as a
            # known one does (401), so project names cannot be enumerated.
            try:
                principal = await auth.authenticate(header(scope, b"authorization"), project)
            except AuthFailure as failure:
                # A client-chosen name is only passed on (to events and the log) when it is a project.
                known = project if project in projects() else None
                events.emit(
                    AuthFailed(failure.status_code, failure.reason, "mcp", known, client_address(scope))
                )
                logger.info("project %s: %s refused: %s", known, failure.status_code, failure.detail)
                await send_json(send, failure.status_code, rpc_error(failure.detail), failure.headers)
                return
            if limit is not None and (refusal := await limit(project, principal)) is not None:
                status, message, headers = refusal
                await send_json(send, status, rpc_error(message, -32000), headers)
                return
            scope_map = cast(dict[str, Any], scope)
            scope_map[PRINCIPAL_KEY] = principal
            scope_map["user"] = scope_user(principal)
        if project not in projects():
            await send_json(send, 404, rpc_error(f"project {project} not found"))
            return
        # Litestar and Starlette spell the same ASGI callables with different types.
        await sessions.handle(project, cast(Any, scope), cast(Any, receive), cast(Any, send))

    return endpoint
