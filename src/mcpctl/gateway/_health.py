"""Liveness, readiness and Prometheus endpoints: `/healthz`, `/readyz`, `/metrics`.

Readiness means the store answers; upstream states are reported but a down upstream does not fail it.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from litestar import MediaType, Request, Response, Router, get

from ._runtime import runtime_of

STORE_PROBE_TIMEOUT = 5.0


def upstream_status(raw: Any) -> dict[str, Any]:
    """An `UpstreamStatus` as JSON-able data (camelCase keys, ISO timestamps)."""
    fields: dict[str, Any] = (
        asdict(raw) if is_dataclass(raw) and not isinstance(raw, type) else dict(vars(raw))
    )
    out: dict[str, Any] = {}
    for key, value in fields.items():
        head, *rest = key.split("_")
        out[head + "".join(part.title() for part in rest)] = (
            value.isoformat() if isinstance(value, datetime) else value
        )
    return out


@get("/healthz", media_type=MediaType.JSON, summary="Liveness: the process answers.", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", media_type=MediaType.JSON, summary="Readiness: the store answers; upstream states listed.")
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    runtime = runtime_of(request)
    store: dict[str, Any]
    try:
        with anyio.fail_after(STORE_PROBE_TIMEOUT):
            generation = await anyio.to_thread.run_sync(runtime.store.generation, abandon_on_cancel=True)
        store = {"reachable": True, "generation": generation}
    except Exception as error:
        store = {"reachable": False, "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    upstreams = {name: upstream_status(status) for name, status in runtime.pool.status().items()}
    ready = bool(store["reachable"])
    body = {
        "status": "ready" if ready else "not ready",
        "store": store,
        "snapshot": runtime.state.describe(),
        "upstreams": upstreams,
    }
    return Response(body, status_code=200 if ready else 503)


@get("/metrics", media_type="text/plain; version=0.0.4; charset=utf-8", summary="Prometheus metrics.")
async def metrics(request: Request[Any, Any, Any]) -> str:
    return runtime_of(request).metrics.render()


def health_router() -> Router:
    """The probe and metrics routes, mounted at the root."""
    return Router(path="/", route_handlers=[healthz, readyz, metrics], tags=["health"])
