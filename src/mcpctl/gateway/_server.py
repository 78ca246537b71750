"""The SDK boundary: one low-level MCP `Server` per project whose handlers only hand requests to the pipeline.

Its middleware makes the request's `CallContext` at the top of every request; the handlers pass it down.
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from typing import Any

import mcp_types as types
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from opentelemetry import trace
from starlette.requests import Request

from ._context import CallContext, principal_of, session_of
from ._metrics import MCP_METHODS, GatewayMetrics, bounded
from ._pipeline import Pipeline

Ctx = ServerRequestContext[Any, Any]

_current_call: ContextVar[CallContext | None] = ContextVar("mcpctl_gateway_call", default=None)
"""The request's context from the middleware to its handler: the SDK's handler signature has no slot for
it, and a middleware can only pass its own `ServerRequestContext` on."""


class GatewayServer(Server[Any]):
    """A low-level Server advertising list-changed notifications, which the gateway sends on live changes."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        options = notification_options or NotificationOptions(
            prompts_changed=True, resources_changed=True, tools_changed=True
        )
        return super().create_initialization_options(options, experimental_capabilities, extensions)


def _call(ctx: Ctx) -> CallContext:
    call = _current_call.get()
    if call is None:
        # Only a request outside any gateway session gets here, which the endpoint never lets through.
        raise MCPError(types.INVALID_REQUEST, "no gateway session for this request")
    return call


def _entry(project: str, metrics: GatewayMetrics) -> ServerMiddleware[Any]:
    async def entry(ctx: Ctx, call_next: CallNext) -> HandlerResult:
        if ctx.request_id is not None:
            metrics.mcp_requests.inc(project=project, method=bounded(ctx.method, MCP_METHODS))
        request = ctx.request
        session = session_of(request.scope) if isinstance(request, Request) else None
        if session is None:
            return await call_next(ctx)
        session.attach(ctx.session)
        if ctx.request_id is None:
            return await call_next(ctx)
        call = CallContext(
            session,
            principal_of(request.scope) if isinstance(request, Request) else None,
            ctx.method,
            ctx.session,
            ctx.request_id,
            ctx.meta,
        )
        token = _current_call.set(call)
        try:
            return await call_next(ctx)
        finally:
            _current_call.reset(token)

    return entry


def build_server(
    project: str,
    instructions: str | None,
    pipeline: Pipeline,
    metrics: GatewayMetrics,
    *,
    traced: bool = False,
) -> GatewayServer:
    """A fresh low-level Server for `project` whose handlers delegate to `pipeline`.

    `traced`: the gateway's tracing is on, which needs the SDK's span middleware (it makes a client's
    `traceparent` current)."""

    async def on_list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[listed.item for listed in await pipeline.list_tools(_call(ctx))])

    async def on_call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await pipeline.call_tool(_call(ctx), params)

    async def on_list_prompts(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[listed.item for listed in await pipeline.list_prompts(_call(ctx))]
        )

    async def on_get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        return await pipeline.get_prompt(_call(ctx), params)

    async def on_list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        listed = await pipeline.list_resources(_call(ctx))
        return types.ListResourcesResult(resources=[entry.item for entry in listed])

    async def on_list_resource_templates(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        listed = await pipeline.list_resource_templates(_call(ctx))
        return types.ListResourceTemplatesResult(resource_templates=[entry.item for entry in listed])

    async def on_read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        return await pipeline.read_resource(_call(ctx), params)

    async def on_subscribe_resource(ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
        return await pipeline.subscribe_resource(_call(ctx), params)

    async def on_unsubscribe_resource(ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        return await pipeline.unsubscribe_resource(_call(ctx), params)

    async def on_completion(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        return await pipeline.complete(_call(ctx), params)

    async def on_set_logging_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        # Per client session: upstream sessions may be shared, so the level filters what the gateway relays
        # to this client rather than being forwarded to the upstreams.
        _call(ctx).session.log_level = params.level
        return types.EmptyResult()

    with warnings.catch_warnings():
        # logging/setLevel is deprecated in the newest protocol; clients of older ones still send it.
        warnings.simplefilter("ignore")
        server = GatewayServer(
            f"mcpctl/{project}",
            version="1",
            instructions=instructions,
            on_list_tools=on_list_tools,
            on_call_tool=on_call_tool,
            on_list_prompts=on_list_prompts,
            on_get_prompt=on_get_prompt,
            on_list_resources=on_list_resources,
            on_list_resource_templates=on_list_resource_templates,
            on_read_resource=on_read_resource,
            on_subscribe_resource=on_subscribe_resource,
            on_unsubscribe_resource=on_unsubscribe_resource,
            on_completion=on_completion,
            on_set_logging_level=on_set_logging_level,
        )
    if not traced and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # With no tracer provider anywhere the SDK's span per message records nothing, yet it took ~8 % of
        # the gateway's samples in a profile of tools/call (py-spy, in-memory upstream).
        server.middleware = [m for m in server.middleware if not isinstance(m, OpenTelemetryMiddleware)]
    server.middleware.append(_entry(project, metrics))
    return server
