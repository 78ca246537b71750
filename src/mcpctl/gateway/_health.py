"""Liveness, readiness and Prometheus endpoints: `/healthz`, `/readyz`, `/metrics`.

Readiness means the store answers; upstream states are reported but a down upstream does not fail it.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from litestar import MediaType, Request, Response, Router, get
from litestar.exceptions import NotAuthorizedException

from mcpctl.schemas import ServerSpec, mask_url

from ._pinning import PinningLayer
from ._pool import UpstreamStatus
from ._runtime import runtime_of

logger = logging.getLogger("mcpctl.gateway.health")

STORE_PROBE_TIMEOUT = 5.0
DEFAULT_PROBE_INTERVAL = 30.0


@dataclass(frozen=True)
class ProbeResult:
    """The last health probe of one upstream."""

    ok: bool
    at: datetime
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at.isoformat(), "seconds": round(self.seconds, 4)}


class HealthProber:
    """Probes upstreams on their `healthCheck.intervalSeconds` (the pool calls the tool or tools/list).

    Servers with an explicit `healthCheck` are probed from the start (which starts them); the others only
    once something has started them, every 30 s, so an unused upstream is never started just to be probed.
    """

    def __init__(
        self,
        servers: Callable[[], Mapping[str, ServerSpec]],
        probe: Callable[[str], Awaitable[bool]],
        state_of: Callable[[str], str | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._servers = servers
        self._probe = probe
        self._state_of = state_of
        self._clock = clock
        self._due: dict[str, float] = {}
        self.results: dict[str, ProbeResult] = {}

    def due(self) -> list[str]:
        """Servers whose next probe is due now."""
        now = self._clock()
        servers = self._servers()
        for gone in set(self._due) - set(servers):
            self._due.pop(gone, None)
            self.results.pop(gone, None)
        ready: list[str] = []
        for name, spec in sorted(servers.items()):
            if spec.health_check is None and self._state_of(name) in (None, "idle", "stopped"):
                continue
            if self._due.get(name, 0.0) <= now:
                interval = spec.health_check.interval_seconds if spec.health_check else DEFAULT_PROBE_INTERVAL
                self._due[name] = now + interval
                ready.append(name)
        return ready

    async def probe(self, name: str) -> None:
        started = self._clock()
        try:
            ok = await self._probe(name)
        except Exception as error:  # the pool reports failures as False; anything else is a failure too
            logger.warning("health probe of %s failed: %s", name, error)
            ok = False
        self.results[name] = ProbeResult(ok, datetime.now(UTC), self._clock() - started)

    async def run(self, tick: float = 1.0) -> None:
        """Probe due servers (each in its own task, so a hung one delays no other) until cancelled."""
        async with anyio.create_task_group() as group:
            while True:
                for name in self.due():
                    group.start_soon(self.probe, name)
                await anyio.sleep(tick)


def upstream_status(status: UpstreamStatus) -> dict[str, Any]:
    """An `UpstreamStatus` as JSON-able data (camelCase keys, ISO timestamps)."""
    return {
        "name": status.name,
        "state": status.state,
        "lastError": status.last_error,
        "restarts": status.restarts,
        "lastOk": status.last_ok.isoformat() if status.last_ok is not None else None,
    }


def probe_reader(request: Request[Any, Any, Any]) -> bool:
    """Whether the request may read names and errors: always without a probe token, else with it."""
    expected = runtime_of(request).config.probes.token
    if expected is None:
        return True
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected.encode())


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
        # A driver's error may quote the database URL, password included.
        store = {"reachable": False, "error": mask_url(f"{type(error).__name__}: {error}".splitlines()[0])}
    upstreams = {name: upstream_status(status) for name, status in runtime.pool.status().items()}
    for name, result in runtime.prober.results.items():
        if name in upstreams:
            upstreams[name]["probe"] = result.to_json()
    ready = bool(store["reachable"])
    if not probe_reader(request):
        return Response({"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503)
    body = {
        "status": "ready" if ready else "not ready",
        "store": store,
        "snapshot": runtime.state.describe(),
        "upstreams": upstreams,
    }
    # Tools served other than pinned (or hidden for it): reported, but they do not fail readiness.
    for layer in runtime.sessions.layers:
        if isinstance(layer, PinningLayer):
            body["toolPinMismatches"] = layer.readiness()
    return Response(body, status_code=200 if ready else 503)


@get("/metrics", media_type="text/plain; version=0.0.4; charset=utf-8", summary="Prometheus metrics.")
async def metrics(request: Request[Any, Any, Any]) -> str:
    if not probe_reader(request):
        raise NotAuthorizedException(
            detail="/metrics needs the probe token", headers={"WWW-Authenticate": "Bearer"}
        )
    return runtime_of(request).metrics.render()


def health_router() -> Router:
    """The probe and metrics routes, mounted at the root."""
    return Router(path="/", route_handlers=[healthz, readyz, metrics], tags=["health"])
