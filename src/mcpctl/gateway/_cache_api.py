"""The result cache's admin API: `GET /api/v1/cache`, `GET /api/v1/cache/stats`, `DELETE /api/v1/cache`.

Behind the admin API's token guard. A token sees and clears its own project's entries only: listing and
stats need `view` on the project, clearing needs `edit` on it. Nothing of a result's content, its tool
or its full session id ever leaves: ids, project, a session prefix, sizes and age only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Request, Router, delete, get
from litestar.exceptions import NotFoundException, PermissionDeniedException, ServiceUnavailableException
from litestar.params import FromQuery

from mcpctl.content import ResultCache

from ._admin import API_PATH, require_token
from ._runtime import runtime_of
from ._visibility import Visibility


def _cache(request: Request[Any, Any, Any]) -> ResultCache:
    cache = runtime_of(request).cache
    if cache is None:
        raise ServiceUnavailableException(detail="this gateway keeps no result cache")
    return cache


def _scope(request: Request[Any, Any, Any], project: str | None, verb: str = "view") -> str | None:
    """The project the request may act on: the asked one, the token's own, or every one (auth off)."""
    visible = Visibility.of(request.scope, runtime_of(request).state.snapshot)
    if visible.permissions is None:
        return project
    home = visible.home
    if project is not None and project != home:
        raise NotFoundException(detail=f"project {project} not found")
    if home is None or not visible.project(home):
        raise PermissionDeniedException(detail="this token may not view its project")
    if verb != "view" and not visible.permissions.allows(verb, "projects", home):
        raise PermissionDeniedException(detail=f"this token may not {verb} project {home}")
    return home


@get("/", summary="Cached results (ids, project, session prefix, sizes, age; never their content).")
async def list_cache(
    request: Request[Any, Any, Any], project: FromQuery[str | None] = None
) -> dict[str, Any]:
    scope = _scope(request, project)
    return {"entries": [asdict(info) for info in _cache(request).entries(scope)]}


@get("/stats", summary="Sizes, limits and counters of the result cache.")
async def cache_stats(
    request: Request[Any, Any, Any], project: FromQuery[str | None] = None
) -> dict[str, Any]:
    scope = _scope(request, project)
    return {"project": scope, **asdict(_cache(request).stats(scope))}


@delete("/", summary="Drop cached results (a token: its project's).", status_code=200)
async def clear_cache(
    request: Request[Any, Any, Any], project: FromQuery[str | None] = None
) -> dict[str, Any]:
    scope = _scope(request, project, verb="edit")
    return {"project": scope, "cleared": _cache(request).clear(scope)}


def cache_router() -> Router:
    """The `/api/v1/cache` routes."""
    return Router(
        path=f"{API_PATH}/cache",
        route_handlers=[list_cache, cache_stats, clear_cache],
        guards=[require_token],
        tags=["admin"],
    )
