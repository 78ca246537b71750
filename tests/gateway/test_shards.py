"""The sharded upstream HTTP transport spreads concurrent requests over its pools and counts them back."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from mcpctl.gateway._shards import ShardedTransport

from .gateway_harness import free_port, serve_asgi

pytestmark = pytest.mark.anyio


async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request after 0.3 s with the client's port, so a test can tell connections apart."""
    if scope["type"] != "http":
        return
    await anyio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(scope["client"][1]).encode()})


async def test_concurrent_requests_spread_evenly_and_reuse_their_connections() -> None:
    transport = ShardedTransport(
        shards=4, limits=httpx2.Limits(max_connections=16, max_keepalive_connections=16)
    )
    with serve_asgi(slow_app) as url:
        async with httpx2.AsyncClient(transport=transport) as client:
            peak: list[int] = []

            async def get(ports: list[str]) -> None:
                async with client.stream("GET", url) as response:
                    peak.append(max(transport._open))
                    ports.append((await response.aread()).decode())

            first: list[str] = []
            async with anyio.create_task_group() as group:
                for _ in range(16):
                    group.start_soon(get, first)
            assert transport._open == [0, 0, 0, 0]
            # 16 at once over 4 shards: no shard ever had more than its share in flight.
            assert max(peak) <= 4 and len(set(first)) == 16
            second: list[str] = []
            async with anyio.create_task_group() as group:
                for _ in range(16):
                    group.start_soon(get, second)
            assert set(second) == set(first), "the second round should reuse the first round's connections"


async def test_a_failed_request_gives_its_slot_back() -> None:
    transport = ShardedTransport(shards=2)
    async with httpx2.AsyncClient(transport=transport) as client:
        for _ in range(3):
            with pytest.raises(httpx2.ConnectError):
                await client.get(f"http://127.0.0.1:{free_port()}/")
    assert transport._open == [0, 0]
