"""An HTTP transport made of several small connection pools, each request sent on the least busy one.

Why: httpcore's pool checks every idle connection it holds, each time a request starts or ends, for
whether the server closed it (a socket poll behind a dict of socket attributes built per call). One
upstream session carries every client's calls to that server, so its pool holds as many connections as
calls were in flight at the peak; at 64 concurrent calls those checks were a fifth of the gateway's CPU.
Split into shards, each check walks one shard's connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx2

SHARDS = 8
"""Pools per upstream session; with `LIMITS` each holds up to 16 connections."""
LIMITS = httpx2.Limits(max_connections=128, max_keepalive_connections=128, keepalive_expiry=4)
"""Across the shards. One upstream session carries every client's calls to that server at once; httpx2's
default keeps only 20 idle connections, so beyond 20 concurrent calls each call closed one connection and
opened another."""


class ShardedTransport(httpx2.AsyncBaseTransport):
    """`shards` pools sharing `limits` evenly; a request goes to the pool with the fewest open responses."""

    def __init__(self, shards: int = SHARDS, limits: httpx2.Limits = LIMITS) -> None:
        def share(total: int | None) -> int | None:
            return None if total is None else max(1, total // shards)

        per_shard = httpx2.Limits(
            max_connections=share(limits.max_connections),
            max_keepalive_connections=share(limits.max_keepalive_connections),
            keepalive_expiry=limits.keepalive_expiry,
        )
        tls = httpx2.create_ssl_context()  # one for all: each costs milliseconds of CPU to build
        self._pools = [httpx2.AsyncHTTPTransport(verify=tls, limits=per_shard) for _ in range(shards)]
        self._open = [0] * shards

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        shard = min(range(len(self._pools)), key=self._open.__getitem__)
        self._open[shard] += 1
        try:
            response = await self._pools[shard].handle_async_request(request)
        except BaseException:
            self._open[shard] -= 1
            raise
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _Counted(response.stream, lambda: self._release(shard))
        return response

    def _release(self, shard: int) -> None:
        self._open[shard] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _Counted(httpx2.AsyncByteStream):
    """A response body that tells its shard, once, when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close = on_close
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The body's own iterator, not a generator around it: one less layer per chunk and per response.
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if not self._closed:
                self._closed = True
                self._on_close()
