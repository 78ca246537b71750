"""The Streamable HTTP upstream transport keeps its TCP connections: no new connection per tools/call.

A counting TCP relay sits between the gateway's upstream session and the real toy server (the Python SDK's
server, which answers POSTs with SSE), so the test sees every connection the client opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.abc
import pytest

from mcpctl.gateway import SecretResolver
from mcpctl.gateway._upstream import Upstream
from mcpctl.schemas import ServerSpec

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def counting_relay(target_port: int) -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP relay to 127.0.0.1:`target_port`: yields (its port, a one-item list counting connections)."""
    accepted = [0]
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def pipe(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        try:
            async for chunk in source:
                await sink.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            await sink.aclose()

    async def serve(client: anyio.abc.SocketStream) -> None:
        accepted[0] += 1
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", target_port) as server,
            anyio.create_task_group() as pipes,
        ):
            pipes.start_soon(pipe, client, server)
            pipes.start_soon(pipe, server, client)

    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield port, accepted
        finally:
            group.cancel_scope.cancel()


@pytest.mark.parametrize("via", ["sdk", "direct"])
async def test_calls_reuse_connections(toy_http: Callable[..., str], tmp_path: Path, via: str) -> None:
    url = urlsplit(toy_http("streamable-http"))
    assert url.port is not None
    async with counting_relay(url.port) as (port, accepted):
        spec = ServerSpec.model_validate(
            {"transport": "streamable-http", "url": f"http://127.0.0.1:{port}{url.path}"}
        )
        async with Upstream("toy", spec, SecretResolver(secrets_dir=tmp_path, environ={})) as upstream:

            async def echo(text: str) -> None:
                if via == "direct":  # past the SDK's transport, on the same HTTP client (`_direct`)
                    result = await upstream.call_tool("echo", {"text": text})
                else:
                    result = await upstream.request("echo", lambda s: s.call_tool("echo", {"text": text}))
                assert not result.is_error

            await echo("warm")  # initialize, the GET listen stream and the first POST
            opened = accepted[0]
            # One after another: each SSE answer is read to its end, so one connection serves them all.
            for n in range(20):
                await echo(f"one {n}")
            assert accepted[0] - opened <= 1
            # 48 at once (httpx's default keeps only 20 idle connections, which churned beyond 20 calls).
            opened = accepted[0]

            async def caller(n: int) -> None:
                for k in range(5):
                    await echo(f"{n}.{k}")

            async with anyio.create_task_group() as group:
                for n in range(48):
                    group.start_soon(caller, n)
            # 240 calls: at most one connection per concurrent caller, whatever order they ran in.
            assert accepted[0] - opened <= 48
