"""An MCP server (stdio) serving one server's tools of `catalog.json`: `catalog.py github` lists GitHub-like
tools. Calls answer `<tool> called` with the argument names; the gate tests and benchmark use it as a
realistic 44-tool project across seven servers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

CATALOG: dict[str, list[dict[str, Any]]] = json.loads((Path(__file__).with_name("catalog.json")).read_text())


def tools_of(server: str) -> list[types.Tool]:
    return [
        types.Tool(
            name=tool["name"],
            description=tool["description"],
            input_schema={
                "type": "object",
                "properties": {
                    key: {"type": "string", "description": text} for key, text in tool["params"].items()
                },
            },
        )
        for tool in CATALOG[server]
    ]


def build(server: str) -> Server[Any]:
    tools = tools_of(server)
    names = {tool.name for tool in tools}

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name not in names:
            text, error = f"unknown tool {params.name}", True
        else:
            text, error = f"{params.name} called with {sorted(params.arguments or {})}", False
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)

    return Server(server, version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def run(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(run, build(sys.argv[1]))
