"""`/readyz` and `/metrics` with a probe token: without it they name no project, server or error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from gateway.gateway_harness import (
    FAST,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.gateway import ProbeConfig
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio

PROBE = "probe-secret-0123456789"


async def test_probe_token_guards_metrics_and_readiness_details(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(
        sqlite_store,
        server_doc("secret-server", toy_stdio()),
        project_doc("hidden-project", ["secret-server"]),
    )
    token = create_token(sqlite_store, "hidden-project", "t")
    with serve_gateway(sqlite_store, replace(FAST, probes=ProbeConfig(token=PROBE))) as gateway:
        async with mcp_session(gateway.url("hidden-project"), token) as session:
            await session.list_tools()
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {token}"}):
                ready = http.get("/readyz", headers=headers)
                assert ready.status_code == 200 and ready.json() == {"status": "ready"}
                metrics = http.get("/metrics", headers=headers)
                assert metrics.status_code == 401
                assert "secret-server" not in metrics.text and "hidden-project" not in metrics.text
            probe = {"Authorization": f"Bearer {PROBE}"}
            detailed = http.get("/readyz", headers=probe).json()
            assert detailed["upstreams"]["secret-server"]["state"] == "up"
            scraped = http.get("/metrics", headers=probe)
            assert (
                scraped.status_code == 200 and 'mcpctl_upstream_up{server="secret-server"} 1' in scraped.text
            )
            assert http.get("/healthz").json() == {"status": "ok"}


async def test_without_a_probe_token_readiness_details_stay_open(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store) as gateway:
        body = httpx.get(f"{gateway.base}/readyz", timeout=10).json()
        assert body["status"] == "ready" and "store" in body and "upstreams" in body
        assert httpx.get(f"{gateway.base}/metrics", timeout=10).status_code == 200
