"""Read-only admin API under `/api/v1`: projects, servers, resources by kind, upstreams, token introspection.

With auth on, every route but introspection needs a valid token, and shows only what it may see
(`Visibility`): its own project (others are 404) and the resources it may `view`. Token hashes never leave
the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery

from mcpctl.errors import AuthFailure
from mcpctl.schemas import LiveResource, TemplateSpec, masked, resolve_kind, sensitive_paths
from mcpctl.store import hash_token

from ._auth import bearer_value, is_expired
from ._context import PRINCIPAL_KEY
from ._events import AuthFailed
from ._health import upstream_status
from ._runtime import GatewayRuntime, runtime_of
from ._state import stored_templates
from ._visibility import Visibility

API_PATH = "/api/v1"


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a valid bearer token (of any project) unless the gateway runs with auth off."""
    runtime: GatewayRuntime = connection.app.state.runtime
    if not runtime.config.auth.enabled:
        return
    try:
        principal = await runtime.auth.authenticate(connection.headers.get("authorization"), None)
    except AuthFailure as failure:
        client = f"{connection.client.host}:{connection.client.port}" if connection.client else None
        runtime.events.emit(AuthFailed(failure.status_code, failure.reason, "api", None, client))
        raise NotAuthorizedException(detail=failure.detail, headers=failure.headers) from None
    connection.scope[PRINCIPAL_KEY] = principal  # type: ignore[literal-required]


def _document(live: LiveResource, templates: Mapping[str, TemplateSpec]) -> dict[str, Any]:
    # Literal env/header values that look secret are `(sensitive)` here, as in `mcpctl describe`.
    full = live.resource.to_document()
    doc = masked(full, sensitive_paths(full, templates))
    doc["status"] = {
        "managedBy": live.managed_by,
        "sourceRevision": live.source_revision,
        "createdAt": live.created_at.isoformat() if live.created_at else None,
        "updatedAt": live.updated_at.isoformat() if live.updated_at else None,
        "preventDestroy": live.prevent_destroy,
    }
    return doc


def _visibility(request: Request[Any, Any, Any]) -> Visibility:
    return Visibility.of(request.scope, runtime_of(request).state.snapshot)


def _project_view(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    runtime = runtime_of(request)
    snapshot = runtime.state.snapshot
    spec = snapshot.projects[name]
    visible = _visibility(request)
    return {
        "name": name,
        "endpoint": f"/projects/{name}/mcp",
        "servers": list(spec.servers),
        "missingServers": [s for s in spec.servers if s not in snapshot.servers],
        "proxyModel": spec.proxy_model,
        "instructions": spec.instructions,
        "prompts": sorted(p for p in snapshot.prompts.get(name, {}) if visible.permits("prompts", p)),
        "openSessions": runtime.sessions.open_sessions(name),
    }


@get("/projects", summary="Projects served, with their servers and open sessions.")
async def list_projects(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    snapshot = runtime_of(request).state.snapshot
    visible = _visibility(request)
    return [_project_view(request, name) for name in sorted(snapshot.projects) if visible.project(name)]


@get("/projects/{name:str}", summary="One project.")
async def get_project(request: Request[Any, Any, Any], name: FromPath[str]) -> dict[str, Any]:
    if name not in runtime_of(request).state.snapshot.projects or not _visibility(request).project(name):
        raise NotFoundException(detail=f"project {name} not found")
    return _project_view(request, name)


@get("/servers", summary="Upstream servers with their (template-instantiated) transport and pool state.")
async def list_servers(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    snapshot = runtime.state.snapshot
    states = runtime.pool.status()
    visible = _visibility(request)
    out: list[dict[str, Any]] = []
    for name in sorted(set(snapshot.servers) | set(snapshot.server_errors)):
        if not visible.server(name):
            continue
        spec = snapshot.servers.get(name)
        entry: dict[str, Any] = {
            "name": name,
            "transport": spec.transport if spec else None,
            "projects": sorted(
                p for p, s in snapshot.projects.items() if name in s.servers and visible.project(p)
            ),
            "error": snapshot.server_errors.get(name),
            "upstream": upstream_status(states[name]) if name in states else None,
        }
        out.append(entry)
    return out


@get("/resources/{kind:str}", summary="Stored resources of one kind (any CLI spelling: servers, srv, ...).")
async def list_resources(
    request: Request[Any, Any, Any], kind: FromPath[str], project: FromQuery[str | None] = None
) -> list[Any]:
    resolved = resolve_kind(kind)
    if resolved is None:
        raise ValidationException(detail=f"unknown kind {kind!r}")
    visible = _visibility(request)
    if project is not None and project != visible.home and visible.home is not None:
        raise NotFoundException(detail=f"project {project} not found")
    if not visible.kind(resolved):
        raise PermissionDeniedException(detail=f"this token may not view {resolved} resources")
    store = runtime_of(request).store
    found = await anyio.to_thread.run_sync(lambda: store.list_resources(kind=resolved, project=project))
    found = [live for live in found if visible.resource(live)]
    templates: dict[str, TemplateSpec] = {}
    if resolved in ("Server", "Template"):
        templates = await anyio.to_thread.run_sync(stored_templates, store)
    return [_document(live, templates) for live in found]


@get("/upstreams", summary="State of every upstream in the pool.")
async def list_upstreams(request: Request[Any, Any, Any]) -> dict[str, Any]:
    visible = _visibility(request)
    states = runtime_of(request).pool.status()
    return {name: upstream_status(s) for name, s in states.items() if visible.server(name)}


@post(
    "/tokens/introspect", summary="Describe the token presented in the Authorization header (RFC 7662 style)."
)
async def introspect(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    runtime = runtime_of(request)
    try:
        value = bearer_value(request.headers.get("authorization"))
    except AuthFailure as failure:
        return Response({"active": False, "reason": failure.reason}, status_code=200)
    record = await runtime.auth.lookup(hash_token(value))
    if record is None:
        return Response({"active": False, "reason": "unknown"}, status_code=200)
    expires = record.expires_at
    expired = is_expired(record)
    body = {
        "active": not record.revoked and not expired,
        "reason": "revoked" if record.revoked else "expired" if expired else None,
        "project": record.project,
        "name": record.name,
        "expiresAt": expires.isoformat() if expires else None,
        "revoked": record.revoked,
    }
    return Response(body, status_code=200)


def admin_router() -> Router:
    """The `/api/v1` routes."""
    guarded = Router(
        path="/",
        route_handlers=[list_projects, get_project, list_servers, list_resources, list_upstreams],
        guards=[require_token],
    )
    return Router(path=API_PATH, route_handlers=[guarded, introspect], tags=["admin"])
