"""The audit API: `GET /api/v1/audit/events`, `/api/v1/audit/sessions` and `/api/v1/auth/me`.

The audit routes take the filters of `mcpctl audit` and need the `audit` operation (the policy
package's permissions of the token); a token reads the trail of its own project only. With auth off
(loopback only) they are open. The JSON shapes are documented in docs/audit.md.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery

from mcpctl.store import AuditQuery, parse_time

from ._admin import API_PATH, require_token
from ._context import principal_of
from ._principal import Principal
from ._runtime import runtime_of

AUDIT_OPERATION = "audit"


def may_audit(principal: Principal) -> bool:
    """Whether the principal holds the `audit` operation; no computed permissions means no."""
    permissions = principal.permissions
    return permissions is not None and permissions.allows(AUDIT_OPERATION, None)


async def require_audit(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a valid token holding the `audit` operation (anyone when the gateway runs without auth)."""
    await require_token(connection, handler)
    principal = principal_of(connection.scope)  # type: ignore[arg-type]
    if principal is not None and not may_audit(principal):
        raise PermissionDeniedException(detail=f"{principal.label} does not hold the audit operation")


def _time(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise ValidationException(detail=f"{name}: {error}") from None


def _query(request: Request[Any, Any, Any], **filters: Any) -> AuditQuery:
    """The AuditQuery of the request's filters; a token's own project unless it names that one."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    if principal is not None:
        asked = filters.get("project")
        if asked is not None and asked != principal.project:
            raise PermissionDeniedException(
                detail=f"{principal.label} may read the audit trail of project {principal.project} only"
            )
        filters["project"] = principal.project
    filters["since"] = _time("since", filters.get("since"))
    filters["until"] = _time("until", filters.get("until"))
    try:
        return AuditQuery(**filters)
    except (ValueError, TypeError) as error:
        raise ValidationException(detail=str(error)) from None


@get(
    "/events",
    summary="Audit events, newest first; with `after`, the events stored after that id, oldest first.",
    guards=[require_audit],
)
async def audit_events(
    request: Request[Any, Any, Any],
    project: FromQuery[str | None] = None,
    token: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    server: FromQuery[str | None] = None,
    tool: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    outcome: FromQuery[str | None] = None,
    session: FromQuery[str | None] = None,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    after: FromQuery[int | None] = None,
    limit: FromQuery[int] = 100,
) -> dict[str, Any]:
    query = _query(
        request,
        project=project,
        token=token,
        user=user,
        server=server,
        tool=tool,
        kind=kind,
        outcome=outcome,
        session_id=session,
        since=since,
        until=until,
        after_id=after,
        limit=limit,
    )
    store = runtime_of(request).store

    def read() -> tuple[int, list[Any]]:
        # The latest id first: a follower that starts from it misses nothing stored after the read.
        latest = store.latest_audit_id()
        return latest, store.query_audit(query)

    latest, events = await anyio.to_thread.run_sync(read)
    return {"events": [event.to_document() for event in events], "latest_id": latest}


@get(
    "/sessions",
    summary="MCP sessions among the selected events, latest activity first.",
    guards=[require_audit],
)
async def audit_sessions(
    request: Request[Any, Any, Any],
    project: FromQuery[str | None] = None,
    token: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    server: FromQuery[str | None] = None,
    tool: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    outcome: FromQuery[str | None] = None,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
) -> dict[str, Any]:
    # The event filters select the events a session is made of, as `Store.audit_sessions` takes them.
    query = _query(
        request,
        project=project,
        token=token,
        user=user,
        server=server,
        tool=tool,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
    )
    store = runtime_of(request).store
    found = await anyio.to_thread.run_sync(store.audit_sessions, query)
    return {"sessions": [session.to_document() for session in found]}


@get("/auth/me", summary="Who the presented token is: project, name, owner and what it may do.")
async def auth_me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    runtime = runtime_of(request)
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    if principal is None:
        return {"authenticated": False, "auth_enabled": runtime.config.auth.enabled, "audit": True}
    operations = getattr(principal.permissions, "operations", None)
    return {
        "authenticated": True,
        "auth_enabled": True,
        "project": principal.project,
        "token": principal.token_name,
        "token_prefix": principal.token_prefix,
        "user": principal.owner,
        "permissions_known": principal.permissions is not None,
        "operations": list(operations()) if callable(operations) else [],
        "audit": may_audit(principal),
    }


def audit_router() -> Router:
    """`/api/v1/audit/*` and `/api/v1/auth/me`, mounted beside the admin router."""
    audit = Router(path="/audit", route_handlers=[audit_events, audit_sessions])
    me = Router(path="/", route_handlers=[auth_me], guards=[require_token])
    return Router(path=API_PATH, route_handlers=[audit, me], tags=["audit"])
