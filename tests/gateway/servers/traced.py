"""A Streamable HTTP MCP server for the tracing tests: its one tool answers with the `_meta` it was sent.

`python traced.py --port N`; tool `meta` returns the request's `_meta` as JSON (the gateway puts the W3C
`traceparent` of its upstream span there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import uvicorn
from mcp import types
from mcp.server.lowlevel import Server

TOOLS = [
    types.Tool(name="meta", description="Answer with the request's _meta.", input_schema={"type": "object"}),
]


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    meta = dict(params.meta) if params.meta else {}
    text = json.dumps(meta, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    server = Server("traced", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)
    app = server.streamable_http_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=options.port, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
