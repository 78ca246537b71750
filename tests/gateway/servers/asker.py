"""A test upstream that talks back during its calls, on stdio or Streamable HTTP (`--transport`).

Tools: progress(steps, pause) reports progress against the caller's token, then waits `pause` seconds;
chatty(text) logs at debug, info and warning; confirm(question) elicits a yes/no answer; summarize(text)
asks the client's model (sampling); roots() lists the client's roots; wait(seconds, marker) sleeps and
writes `cancelled` to the marker file when it is cancelled; pid() answers the process id (one process
per upstream session).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import warnings
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import ServerMessageMetadata

warnings.simplefilter("ignore")  # sampling, roots and logging are deprecated in the newest protocol

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
level = {"minimum": "debug"}


def _tool(name: str, description: str, **properties: str) -> types.Tool:
    schema = {"type": "object", "properties": {key: {"type": kind} for key, kind in properties.items()}}
    return types.Tool(name=name, description=description, input_schema=schema)


TOOLS = [
    _tool(
        "progress",
        "Report `steps` progress notifications, wait `pause` seconds, then answer.",
        steps="integer",
        pause="number",
    ),
    _tool("chatty", "Log `text` at debug, info and warning, then answer.", text="string"),
    _tool("confirm", "Ask the user `question` (elicitation) and answer what they said.", question="string"),
    _tool("summarize", "Ask the client's model to summarize `text` (sampling).", text="string"),
    _tool("roots", "List the client's roots."),
    _tool(
        "wait",
        "Sleep; write `cancelled` to `marker` if cancelled.",
        seconds="number",
        marker="string",
    ),
    _tool("pid", "The server's process id."),
]


def _text(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    session = ctx.session
    related = ctx.request_id
    if params.name == "progress":
        # The SDK hands `_meta` over validated: the token under its Python name.
        token = (ctx.meta or {}).get("progress_token")
        steps = int(args.get("steps", 3))
        if token is not None:
            for step in range(1, steps + 1):
                await session.send_progress_notification(
                    token, step, total=steps, message=f"step {step}", related_request_id=related
                )
        await asyncio.sleep(float(args.get("pause", 0)))
        return _text(f"done {steps}; token {'seen' if token is not None else 'absent'}")
    if params.name == "chatty":
        for name in ("debug", "info", "warning"):
            if LEVELS.index(name) >= LEVELS.index(level["minimum"]):
                await session.send_log_message(name, f"{args.get('text')}:{name}", "asker", related)
        return _text("logged")
    if params.name == "confirm":
        answer = await session.elicit_form(
            str(args.get("question")),
            {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
            related_request_id=related,
        )
        return _text(f"{answer.action}:{answer.content}")
    if params.name == "summarize":
        message = types.SamplingMessage(
            role="user", content=types.TextContent(type="text", text=args["text"])
        )
        result = await session.create_message([message], max_tokens=50, related_request_id=related)
        content = result.content
        return _text(f"summary:{content.text if isinstance(content, types.TextContent) else content}")
    if params.name == "roots":
        roots = await session.send_request(
            types.ListRootsRequest(),
            types.ListRootsResult,
            metadata=ServerMessageMetadata(related_request_id=related),
        )
        return _text(",".join(str(root.uri) for root in roots.roots))
    if params.name == "wait":
        try:
            await anyio.sleep(float(args.get("seconds", 10)))
        except anyio.get_cancelled_exc_class():
            Path(str(args["marker"])).write_text("cancelled")
            raise
        return _text("waited")
    if params.name == "pid":
        return _text(str(os.getpid()))
    return types.CallToolResult(content=[types.TextContent(type="text", text="no such tool")], is_error=True)


async def set_level(ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
    level["minimum"] = params.level
    return types.EmptyResult()


def build() -> Server[Any]:
    return Server(
        "asker",
        version="1.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_set_logging_level=set_level,
    )


async def run_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    server = build()
    if options.transport == "stdio":
        anyio.run(run_stdio, server)
        return
    config = uvicorn.Config(
        server.streamable_http_app(), host="127.0.0.1", port=options.port, log_level="warning", lifespan="on"
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
