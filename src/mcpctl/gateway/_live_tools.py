"""Read upstreams' tool lists outside a running gateway, through the gateway's own upstream pool.

`mcpctl pin` uses it, so a pin is taken from exactly the definitions the gateway would see and hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError

from mcpctl.errors import UpstreamError
from mcpctl.schemas import ServerSpec

from ._pinning import live_definition
from ._pool import UpstreamPool
from ._secrets import SecretResolver


async def read_live_tools(
    servers: Mapping[str, ServerSpec], secrets: SecretResolver | None = None
) -> dict[str, list[dict[str, Any]] | str]:
    """Each server's tools (their pinned fields as JSON), or the reason it could not be read.

    `servers` are template-instantiated specs; every upstream is started, listed and stopped again.
    """
    results: dict[str, list[dict[str, Any]] | str] = {}
    async with UpstreamPool(secrets=secrets or SecretResolver()) as pool:
        await pool.sync(servers)

        async def one(name: str) -> None:
            try:
                results[name] = [live_definition(tool) for tool in await pool.list_tools(name)]
            except UpstreamError as error:
                results[name] = error.detail
            except MCPError as error:
                results[name] = f"upstream {name!r} answered tools/list with an error: {error.message}"

        async with anyio.create_task_group() as group:
            for name in servers:
                group.start_soon(one, name)
    return {name: results[name] for name in servers}
