"""The Streamable HTTP upstream transport: POSTs answered by JSON or SSE, one httpx2 client per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp.client import Transport
from mcp.client.streamable_http import streamable_http_client


def streamable_http_transport(
    url: str, headers: dict[str, str], connect: float, read: float
) -> Callable[[], Transport]:
    """Opens a session at `url`; headers (secrets resolved) ride the HTTP client, as the SDK wants them."""
    return lambda: _open(url, headers, connect, read)


@asynccontextmanager
async def _open(url: str, headers: dict[str, str], connect: float, read: float) -> AsyncIterator[Any]:
    timeout = httpx2.Timeout(connect, read=read)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams
