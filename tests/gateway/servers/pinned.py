"""A stdio MCP server for the tool-pinning tests: the description of its `lookup` tool is read from a file.

`PINNED_DESCRIPTION_FILE` names the file, read again at every tools/list, so a test can change the tool
("rug pull") under a running gateway; `PINNED_SCHEMA_FILE`, when set, holds lookup's inputSchema (JSON).
Tools: lookup, echo, announce(add) — announce sends tools/list_changed, first adding a tool `add` names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

added: list[str] = []


def tools() -> list[types.Tool]:
    description = Path(os.environ["PINNED_DESCRIPTION_FILE"]).read_text(encoding="utf-8")
    schema_file = os.environ.get("PINNED_SCHEMA_FILE")
    schema = (
        json.loads(Path(schema_file).read_text(encoding="utf-8"))
        if schema_file
        else {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}
    )
    return [
        types.Tool(name="lookup", description=description, input_schema=schema),
        types.Tool(
            name="echo",
            description="Echo the text back.",
            input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
            annotations=types.ToolAnnotations(read_only_hint=True),
        ),
        types.Tool(
            name="announce",
            description="Send tools/list_changed; with add, first add a tool of that name.",
            input_schema={"type": "object", "properties": {"add": {"type": "string"}}},
        ),
        *(types.Tool(name=name, description="Added.", input_schema={"type": "object"}) for name in added),
    ]


def text(value: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)])


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=tools())


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "lookup":
        return text(f"value of {args.get('key')}")
    if params.name == "echo":
        return text(str(args.get("text", "")))
    if params.name == "announce":
        if args.get("add"):
            added.append(str(args["add"]))
        await ctx.session.send_tool_list_changed()
        return text("announced")
    if params.name in added:
        return text(params.name)
    raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool {params.name!r}")


async def main() -> None:
    server: Server[Any] = Server("pinned", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
