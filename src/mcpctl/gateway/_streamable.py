"""The Streamable HTTP upstream transport: POSTs answered by JSON or SSE, one httpx2 client per session.

The SDK closes a POST's SSE response as soon as the JSON-RPC answer arrived, before the body's end (the
chunked terminator the server sends right after). httpcore then cannot reuse the connection and drops it,
so every call paid a new TCP connection on both sides. A response hook lets `aclose` read that end first,
within a small bound, so the connection goes back to the pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp.client import Transport
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client

from ._direct import DirectToolCalls, Inbox, LogFn, direct_calls_allowed
from ._shards import ShardedTransport

DRAIN_SECONDS = 1.0
"""How long closing an SSE response waits for the rest of its body; the caller already has its answer."""
DRAIN_BYTES = 64 * 1024
"""How much of a body the SDK left unread is read (and discarded) to keep the connection; more drops it."""


def streamable_http_transport(
    url: str, headers: dict[str, str], connect: float, read: float
) -> StreamableHttp:
    """Opens a session at `url`; headers (secrets resolved) ride the HTTP client, as the SDK wants them."""
    return StreamableHttp(url, headers, connect, read)


class StreamableHttp:
    """How to open one Streamable HTTP session; while it is open, its HTTP client and session id.

    Those two let `tools/call` go past the SDK's transport (`_direct`) on the same connections.
    """

    def __init__(self, url: str, headers: dict[str, str], connect: float, read: float) -> None:
        self.url = url
        self._headers = headers
        self._timeout = httpx2.Timeout(connect, read=read)
        self.http: httpx2.AsyncClient | None = None
        self.session_id: str | None = None

    def __call__(self) -> Transport:
        return self._open()

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Any]:
        hooks = {"response": [drain_sse_on_close, self._note_session_id]}
        http = httpx2.AsyncClient(
            headers=self._headers, timeout=self._timeout, transport=ShardedTransport(), event_hooks=hooks
        )
        async with (
            http as client,
            streamable_http_client(self.url, http_client=client) as streams,
        ):
            self.http = client
            try:
                yield streams
            finally:
                self.http = None

    def direct_calls(self, protocol_version: str, inbox: Inbox, on_log: LogFn) -> DirectToolCalls | None:
        """Direct `tools/call` on the open session, if its negotiated revision allows them."""
        if self.http is None or not direct_calls_allowed(protocol_version):
            return None
        return DirectToolCalls(self.http, self.url, lambda: self.session_id, protocol_version, inbox, on_log)

    async def _note_session_id(self, response: httpx2.Response) -> None:
        # The first POST is the SDK's initialize, whose answer names the session (as the SDK reads it).
        if self.session_id is None and response.request.method == "POST":
            self.session_id = response.headers.get(MCP_SESSION_ID) or None


async def drain_sse_on_close(response: httpx2.Response) -> None:
    """Response hook: a POST answered with SSE reads the rest of its body when closed early."""
    sse = response.headers.get("content-type", "").lower().startswith("text/event-stream")
    if sse and response.request.method == "POST" and isinstance(response.stream, httpx2.AsyncByteStream):
        response.stream = DrainingStream(response.stream)


class DrainingStream(httpx2.AsyncByteStream):
    """A response body that, closed before its end, first reads that end (bounded in time and bytes).

    Only POST answers are wrapped: the GET listen stream stays open for the session's life, so draining it
    would only delay shutdown.
    """

    def __init__(self, stream: httpx2.AsyncByteStream) -> None:
        self._stream = stream
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk
        self._ended = True

    async def aclose(self) -> None:
        if not self._ended:
            read = 0
            with anyio.move_on_after(DRAIN_SECONDS):
                # A second pass over the body continues where the first stopped (the bytes are the
                # connection's), and ends at the body's end. Best effort: a body that cannot be read to
                # its end (its connection already closed) only loses the connection.
                with contextlib.suppress(httpx2.TransportError, httpx2.StreamError):
                    async for chunk in self._stream:
                        read += len(chunk)
                        if read > DRAIN_BYTES:
                            break
        await self._stream.aclose()
