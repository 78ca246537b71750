"""A small MCP server of our own for gateway tests, on stdio, SSE or Streamable HTTP (`--transport`).

Tools: echo, add, slow(seconds), crash (exits mid-call), big(n), fail, env(name), header(name), pid,
grow(notify) (adds a tool), stats; prompt `greet`; resources (two pages), a template, subscribe, completion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

import anyio
import uvicorn
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.sse import SseServerTransport
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

NAME = os.environ.get("TOY_NAME", "toy")
TOOLS = [
    types.Tool(
        name="echo",
        description="Echo the text back.",
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
    types.Tool(
        name="add",
        description="Add two numbers.",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    ),
    types.Tool(
        name="slow",
        description="Sleep for the given seconds, then answer.",
        input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
    ),
    types.Tool(
        name="crash", description="Exit the server process mid-call.", input_schema={"type": "object"}
    ),
    types.Tool(
        name="big",
        description="Answer with n characters.",
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
    ),
    types.Tool(
        name="fail", description="A tool that reports an error result.", input_schema={"type": "object"}
    ),
    types.Tool(
        name="env",
        description="The value of an environment variable of the server process.",
        input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
    ),
    types.Tool(
        name="header",
        description="The value of an HTTP request header (HTTP transports).",
        input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
    ),
    types.Tool(name="pid", description="The server's process id.", input_schema={"type": "object"}),
    types.Tool(
        name="grow",
        description="Add a tool; announce it with tools/list_changed unless notify is false.",
        input_schema={"type": "object", "properties": {"notify": {"type": "boolean"}}},
    ),
    types.Tool(
        name="stats", description="How many tools/list requests were served.", input_schema={"type": "object"}
    ),
]
extra_tools: list[types.Tool] = []
subscriptions: set[str] = set()
served = {"tools/list": 0}


def text(value: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)], is_error=error)


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    served["tools/list"] += 1
    # A hung upstream for list-deadline tests: every tools/list takes this long.
    await anyio.sleep(float(os.environ.get("TOY_LIST_SECONDS", "0")))
    return types.ListToolsResult(tools=TOOLS + extra_tools)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    match params.name:
        case "echo":
            return text(str(args.get("text", "")))
        case "add":
            return text(str(args["a"] + args["b"]))
        case "slow":
            await anyio.sleep(float(args.get("seconds", 1)))
            return text("slept")
        case "crash":
            sys.stderr.flush()
            os._exit(3)
        case "big":
            return text("x" * int(args.get("n", 100_000)))
        case "fail":
            return text("this tool always fails", error=True)
        case "env":
            return text(os.environ.get(str(args.get("name")), ""))
        case "header":
            request = ctx.request
            return text(request.headers.get(str(args.get("name")), "") if request is not None else "")
        case "pid":
            return text(str(os.getpid()))
        case "grow":
            extra_tools.append(
                types.Tool(
                    name=f"extra{len(extra_tools)}", description="Added.", input_schema={"type": "object"}
                )
            )
            if args.get("notify", True):
                await ctx.session.send_tool_list_changed()
            return text(f"{len(TOOLS) + len(extra_tools)} tools")
        case "stats":
            return text(str(served["tools/list"]))
        case name if any(tool.name == name for tool in extra_tools):
            return text(name)
    raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool {params.name!r}")


async def list_prompts(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    argument = types.PromptArgument(name="name", description="Who to greet.", required=True)
    return types.ListPromptsResult(
        prompts=[types.Prompt(name="greet", description="Greet someone.", arguments=[argument])]
    )


async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
    if params.name != "greet":
        raise MCPError(code=types.INVALID_PARAMS, message=f"unknown prompt {params.name!r}")
    who = (params.arguments or {}).get("name", "world")
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=f"Hello, {who}!"))
    return types.GetPromptResult(description="A greeting.", messages=[message])


async def list_resources(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    # Two pages, so clients that follow cursors are exercised.
    if params is None or params.cursor is None:
        first = types.Resource(uri="toy://readme", name="readme", mime_type="text/plain")
        return types.ListResourcesResult(resources=[first], next_cursor="2")
    return types.ListResourcesResult(resources=[types.Resource(uri="toy://data", name="data")])


async def list_templates(
    ctx: Any, params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    template = types.ResourceTemplate(uri_template="toy://items/{id}", name="item")
    return types.ListResourceTemplatesResult(resource_templates=[template])


async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    uri = str(params.uri)
    if uri == "toy://readme":
        body = f"{NAME} readme"
    elif uri == "toy://data":
        body = "data"
    elif uri.startswith("toy://items/"):
        body = f"item {uri.rsplit('/', 1)[1]}"
    else:
        raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource {uri}")
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, text=body, mime_type="text/plain")]
    )


async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
    subscriptions.add(str(params.uri))
    await ctx.session.send_resource_updated(str(params.uri))
    return types.EmptyResult()


async def complete(ctx: Any, params: types.CompleteRequestParams) -> types.CompleteResult:
    names = ["alice", "albert", "bob"]
    found = [n for n in names if n.startswith(params.argument.value)]
    return types.CompleteResult(completion=types.Completion(values=found, total=len(found), has_more=False))


def build() -> Server[Any]:
    return Server(
        NAME,
        version="1.0",
        instructions="A toy server for tests.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_completion=complete,
    )


async def run_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def sse_app(server: Server[Any]) -> Starlette:
    sse = SseServerTransport("/messages/")

    async def handle_sse(request: Request) -> Response:
        async with sse.connect_sse(request.scope, request.receive, request._send) as (read, write):
            await server.run(read, write, server.create_initialization_options())
        return Response()

    return Starlette(
        routes=[Route("/sse", handle_sse, methods=["GET"]), Mount("/messages/", app=sse.handle_post_message)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    server = build()
    if options.transport == "stdio":
        anyio.run(run_stdio, server)
        return
    app = server.streamable_http_app() if options.transport == "streamable-http" else sse_app(server)
    config = uvicorn.Config(app, host="127.0.0.1", port=options.port, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
