"""`mcpctl mcp -p PROJECT`: a stdio MCP server that relays every message to the gateway's HTTP endpoint.

For clients that only start stdio servers: JSON-RPC passes through unchanged in both directions.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import click

from ._main import cli
from ._options import gateway_url_option, token_option


def project_endpoint(base_url: str, project: str) -> str:
    """The MCP endpoint of `project` on the gateway at `base_url`."""
    return f"{base_url.rstrip('/')}/projects/{project}/mcp"


async def relay(source: Any, sink: Any, label: str) -> None:
    """Copy messages from one stream to the other until the source ends; transport errors go to stderr."""
    async with sink:
        async for item in source:
            if isinstance(item, Exception):
                print(f"mcpctl mcp: {label}: {type(item).__name__}: {item}", file=sys.stderr)
                continue
            await sink.send(item)


async def run_bridge(url: str, token: str | None) -> None:
    """Serve MCP on this process's stdin/stdout, forwarding to the Streamable HTTP endpoint at `url`."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.stdio import stdio_server

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # No read timeout: a long tool call or an idle notification stream is normal on this connection.
    timeout = httpx2.Timeout(30.0, read=None)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (http_read, http_write),
        stdio_server() as (stdio_read, stdio_write),
        anyio.create_task_group() as group,
    ):

        async def client_to_gateway() -> None:
            await relay(stdio_read, http_write, "stdin")
            # The client closed stdin: the conversation is over.
            group.cancel_scope.cancel()

        group.start_soon(client_to_gateway)
        group.start_soon(relay, http_read, stdio_write, "gateway")


@cli.command("mcp")
@click.option("-p", "--project", required=True, help="Project whose endpoint to bridge.")
@gateway_url_option
@token_option
def mcp_bridge(project: str, url: str, token: str | None) -> None:
    """Bridge stdio to the gateway: run this as a stdio MCP server in clients that cannot speak HTTP."""
    anyio.run(run_bridge, project_endpoint(url, project), token)
