"""The SSE upstream transport (the 2024 HTTP transport): a GET event stream plus POSTed messages."""

from __future__ import annotations

from collections.abc import Callable

from mcp.client import Transport
from mcp.client.sse import sse_client


def sse_transport(url: str, headers: dict[str, str], connect: float, read: float) -> Callable[[], Transport]:
    """Opens the event stream at `url` with `headers` (secrets resolved); `read` bounds a silent stream."""
    return lambda: sse_client(url, headers=headers, timeout=connect, sse_read_timeout=read)
