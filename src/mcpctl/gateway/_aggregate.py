"""One project's MCP server: the tools, prompts and resources of its upstreams merged behind one endpoint.

Built on the mcp 2.x low-level `Server` (handlers as constructor arguments); upstream I/O goes via the pool.
"""

from __future__ import annotations

import fnmatch
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, unquote

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from mcpctl.errors import GatewayError
from mcpctl.schemas import LINK_TARGET, PromptSpec, ToolFilter

from ._metrics import GatewayMetrics
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.aggregate")

SEPARATOR = "__"
"""Between a server's name and its tool or prompt name: `<server>__<tool>`."""
COLLISION_SCHEME = "mcpctl"
"""URIs two upstreams both list are served as `mcpctl://<server>/<quoted uri>`."""

T = TypeVar("T")
N = TypeVar("N", types.Tool, types.Prompt)
Ctx = ServerRequestContext[Any, Any]


class Upstreams(Protocol):
    """What aggregation needs from the upstream pool (`mcpctl.gateway.UpstreamPool`)."""

    async def list_tools(self, server: str) -> list[types.Tool]: ...

    async def has_tool(self, server: str, name: str) -> bool: ...

    async def call_tool(
        self, server: str, name: str, arguments: dict[str, Any] | None
    ) -> types.CallToolResult: ...

    async def list_prompts(self, server: str) -> list[types.Prompt]: ...

    async def get_prompt(
        self, server: str, name: str, arguments: dict[str, str] | None
    ) -> types.GetPromptResult: ...

    async def list_resources(self, server: str) -> list[types.Resource]: ...

    async def list_resource_templates(self, server: str) -> list[types.ResourceTemplate]: ...

    async def read_resource(self, server: str, uri: str) -> types.ReadResourceResult: ...

    async def subscribe_resource(self, server: str, uri: str) -> None: ...

    async def complete(
        self,
        server: str,
        ref: types.PromptReference | types.ResourceTemplateReference,
        argument: dict[str, str],
        context_arguments: dict[str, str] | None,
    ) -> types.Completion: ...

    def capabilities(self, server: str) -> types.ServerCapabilities | None: ...


def tool_visible(name: str, tool_filter: ToolFilter) -> bool:
    """Whether a server's tool passes its `toolFilter` (include globs, then exclude globs)."""
    if tool_filter.include and not any(fnmatch.fnmatchcase(name, p) for p in tool_filter.include):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in tool_filter.exclude)


def split_name(name: str, servers: list[str]) -> tuple[str, str] | None:
    """(`server`, `name`) for a namespaced `<server>__<name>`; the longest matching server wins."""
    matches = [s for s in servers if name.startswith(s + SEPARATOR) and len(name) > len(s) + len(SEPARATOR)]
    if not matches:
        return None
    server = max(matches, key=len)
    return server, name[len(server) + len(SEPARATOR) :]


def collision_uri(server: str, uri: str) -> str:
    """The gateway's URI for a resource whose URI another upstream also uses."""
    return f"{COLLISION_SCHEME}://{server}/{quote(uri, safe='')}"


def parse_collision_uri(uri: str) -> tuple[str, str] | None:
    """(`server`, original uri) for a URI made by `collision_uri`."""
    prefix = f"{COLLISION_SCHEME}://"
    if not uri.startswith(prefix):
        return None
    server, _, quoted = uri[len(prefix) :].partition("/")
    return (server, unquote(quoted)) if server and quoted else None


def template_prefix(uri_template: str) -> str:
    """The fixed text before a URI template's first `{`: a cheap test of which template a URI came from."""
    return uri_template.split("{", 1)[0]


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


class ProjectAggregator:
    """Answers every MCP request of one project from the current snapshot and the upstream pool."""

    def __init__(
        self, project: str, snapshot: Callable[[], Snapshot], pool: Upstreams, metrics: GatewayMetrics
    ) -> None:
        self.project = project
        self._snapshot = snapshot
        self.pool = pool
        self.metrics = metrics
        self._resource_owner: dict[str, tuple[str, str]] = {}
        self.subscriptions: dict[tuple[str, str], set[tuple[str, str]]] = {}
        """(server, upstream uri) → {(session id, gateway uri)} of `resources/subscribe` calls."""

    def build_server(self) -> GatewayServer:
        """A fresh low-level Server whose handlers delegate to this aggregator."""
        spec = self._snapshot().projects.get(self.project)
        with warnings.catch_warnings():
            # logging/setLevel is deprecated in the newest protocol; clients of older ones still send it.
            warnings.simplefilter("ignore")
            return GatewayServer(
                f"mcpctl/{self.project}",
                version="1",
                instructions=(spec.instructions or None) if spec else None,
                on_list_tools=self.on_list_tools,
                on_call_tool=self.on_call_tool,
                on_list_prompts=self.on_list_prompts,
                on_get_prompt=self.on_get_prompt,
                on_list_resources=self.on_list_resources,
                on_list_resource_templates=self.on_list_resource_templates,
                on_read_resource=self.on_read_resource,
                on_subscribe_resource=self.on_subscribe_resource,
                on_unsubscribe_resource=self.on_unsubscribe_resource,
                on_completion=self.on_completion,
                on_set_logging_level=self.on_set_logging_level,
            )

    def _servers(self) -> tuple[Snapshot, list[str]]:
        snapshot = self._snapshot()
        if self.project not in snapshot.projects:
            raise MCPError(INVALID_PARAMS, f"project {self.project} no longer exists")
        return snapshot, snapshot.project_servers(self.project)

    async def _gather(
        self, method: str, servers: list[str], fetch: Callable[[str], Awaitable[list[T]]]
    ) -> dict[str, list[T]]:
        """`fetch(server)` for every server at once; a failing server is skipped, logged and counted."""
        results: dict[str, list[T]] = {}

        async def one(server: str) -> None:
            try:
                results[server] = await fetch(server)
            except Exception as error:
                self.metrics.upstream_list_failures.inc(project=self.project, server=server, method=method)
                logger.warning(
                    "project %s: %s from %s skipped: %s", self.project, method, server, _describe(error)
                )

        async with anyio.create_task_group() as group:
            for server in servers:
                group.start_soon(one, server)
        return {server: results[server] for server in servers if server in results}

    async def _visible_tools(self) -> list[tuple[str, types.Tool]]:
        snapshot, servers = self._servers()
        found = await self._gather("tools/list", servers, self.pool.list_tools)
        return [
            (server, tool)
            for server, tools in found.items()
            for tool in tools
            if tool_visible(tool.name, snapshot.servers[server].tool_filter)
        ]

    async def on_list_tools(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = [_namespaced(server, tool) for server, tool in await self._visible_tools()]
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(self, ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        snapshot, servers = self._servers()
        target = split_name(params.name, servers)
        if target is None or not tool_visible(target[1], snapshot.servers[target[0]].tool_filter):
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}")
        server, tool = target
        started = time.perf_counter()
        outcome = "error"
        try:
            # The pool caches tools/list, so this check is cheap; it turns a typo into -32602 rather than
            # whatever the upstream answers.
            if not await self.pool.has_tool(server, tool):
                outcome = "unknown"
                raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}")
            result = await self.pool.call_tool(server, tool, params.arguments)
            outcome = "error" if result.is_error else "ok"
            return result
        except GatewayError as error:
            outcome = "unavailable"
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=f"upstream {server} failed: {error.detail}")],
                is_error=True,
            )
        finally:
            self.metrics.tool_calls.inc(project=self.project, server=server, outcome=outcome)
            self.metrics.tool_call_seconds.observe(
                time.perf_counter() - started, project=self.project, server=server
            )

    async def on_list_prompts(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        snapshot, servers = self._servers()
        prompts = [
            types.Prompt(name=name, description=spec.summary or None)
            for name, spec in sorted(snapshot.prompts.get(self.project, {}).items())
        ]
        found = await self._gather(
            "prompts/list", [s for s in servers if self._has(s, "prompts")], self.pool.list_prompts
        )
        for server, upstream in found.items():
            prompts.extend(_namespaced(server, prompt) for prompt in upstream)
        return types.ListPromptsResult(prompts=prompts)

    async def on_get_prompt(self, ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        snapshot, servers = self._servers()
        stored = snapshot.prompts.get(self.project, {}).get(params.name)
        if stored is not None:
            return await self._stored_prompt(params.name, stored)
        target = split_name(params.name, servers)
        if target is None:
            raise MCPError(INVALID_PARAMS, f"Unknown prompt: {params.name}")
        return await self._upstream(target[0], self.pool.get_prompt(target[0], target[1], params.arguments))

    async def _stored_prompt(self, name: str, spec: PromptSpec) -> types.GetPromptResult:
        if spec.content is not None:
            text = spec.content
        else:
            assert spec.link_target is not None
            match = LINK_TARGET.match(spec.link_target)
            assert match is not None
            server, uri = match["server"], match["uri"]
            result = await self._upstream(server, self.pool.read_resource(server, uri))
            text = "\n".join(c.text for c in result.contents if isinstance(c, types.TextResourceContents))
        return types.GetPromptResult(
            description=spec.summary or None,
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
        )

    async def on_list_resources(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=await self._federated_resources())

    async def _federated_resources(self) -> list[types.Resource]:
        _, servers = self._servers()
        found = await self._gather(
            "resources/list", [s for s in servers if self._has(s, "resources")], self.pool.list_resources
        )
        listed_by: dict[str, list[str]] = {}
        for server, resources in found.items():
            for resource in resources:
                listed_by.setdefault(resource.uri, []).append(server)
        owners: dict[str, tuple[str, str]] = {}
        merged: list[types.Resource] = []
        for server, resources in found.items():
            for resource in resources:
                uri = resource.uri
                if len(listed_by[uri]) > 1:
                    uri = collision_uri(server, resource.uri)
                owners[uri] = (server, resource.uri)
                merged.append(resource if uri == resource.uri else resource.model_copy(update={"uri": uri}))
        self._resource_owner = owners
        return merged

    async def on_list_resource_templates(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        found = await self._templates()
        return types.ListResourceTemplatesResult(
            resource_templates=[template for templates in found.values() for template in templates]
        )

    async def _templates(self) -> dict[str, list[types.ResourceTemplate]]:
        _, servers = self._servers()
        return await self._gather(
            "resources/templates/list",
            [s for s in servers if self._has(s, "resources")],
            self.pool.list_resource_templates,
        )

    async def _resource_target(self, uri: str) -> tuple[str, str]:
        """Which upstream serves `uri`, and under which URI: listed resources first, then templates."""
        _, servers = self._servers()
        collided = parse_collision_uri(uri)
        if collided is not None and collided[0] in servers:
            return collided
        if uri not in self._resource_owner:
            await self._federated_resources()
        owner = self._resource_owner.get(uri)
        if owner is not None:
            return owner
        for server, templates in (await self._templates()).items():
            if any(uri.startswith(template_prefix(t.uri_template)) for t in templates):
                return server, uri
        raise MCPError(INVALID_PARAMS, f"Unknown resource: {uri}")

    async def on_read_resource(
        self, ctx: Ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        server, uri = await self._resource_target(params.uri)
        result = await self._upstream(server, self.pool.read_resource(server, uri))
        if uri != params.uri:
            contents = [
                c.model_copy(update={"uri": params.uri}) if c.uri == uri else c for c in result.contents
            ]
            result = result.model_copy(update={"contents": contents})
        return result

    async def on_subscribe_resource(
        self, ctx: Ctx, params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        server, uri = await self._resource_target(params.uri)
        # Recorded first: an upstream may announce an update while still answering the subscribe.
        subscriber = (_session_id(ctx) or "", params.uri)
        subscribers = self.subscriptions.setdefault((server, uri), set())
        subscribers.add(subscriber)
        try:
            await self._upstream(server, self.pool.subscribe_resource(server, uri))
        except BaseException:
            subscribers.discard(subscriber)
            raise
        return types.EmptyResult()

    async def on_unsubscribe_resource(
        self, ctx: Ctx, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        # The upstream subscription is shared by every session of the gateway, so it is kept;
        # this session just stops hearing about it.
        server, uri = await self._resource_target(params.uri)
        self.unsubscribe(server, uri, (_session_id(ctx) or "", params.uri))
        return types.EmptyResult()

    def subscribers(self, server: str, uri: str) -> list[tuple[str, str]]:
        """(session id, URI as that session knows it) of sessions subscribed to `server`'s `uri`."""
        return sorted(self.subscriptions.get((server, uri), set()))

    def unsubscribe(self, server: str, uri: str, subscriber: tuple[str, str]) -> None:
        """Stop sending `server`'s updates of `uri` to `subscriber` (session id, gateway URI)."""
        self.subscriptions.get((server, uri), set()).discard(subscriber)

    async def on_completion(self, ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        snapshot, servers = self._servers()
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context is not None else None
        ref = params.ref
        if isinstance(ref, types.PromptReference):
            if ref.name in snapshot.prompts.get(self.project, {}):
                return types.CompleteResult(completion=types.Completion(values=[]))
            target = split_name(ref.name, servers)
            if target is None:
                raise MCPError(INVALID_PARAMS, f"Unknown prompt: {ref.name}")
            server, upstream_ref = target[0], types.PromptReference(type="ref/prompt", name=target[1])
            completion = await self._upstream(
                server, self.pool.complete(server, upstream_ref, argument, context)
            )
            return types.CompleteResult(completion=completion)
        for server, templates in (await self._templates()).items():
            if any(t.uri_template == ref.uri for t in templates):
                completion = await self._upstream(server, self.pool.complete(server, ref, argument, context))
                return types.CompleteResult(completion=completion)
        raise MCPError(INVALID_PARAMS, f"Unknown resource template: {ref.uri}")

    async def on_set_logging_level(self, ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        # The gateway sends no log notifications of its own, so the level changes nothing; it is accepted
        # so that clients which set one keep working.
        return types.EmptyResult()

    def _has(self, server: str, capability: str) -> bool:
        """False only when the started upstream lacks `capability`; not started yet counts as True."""
        capabilities = self.pool.capabilities(server)
        if capabilities is None:
            return True
        return getattr(capabilities, capability, None) is not None

    async def _upstream(self, server: str, call: Awaitable[T]) -> T:
        """Await an upstream call; gateway errors become JSON-RPC errors, upstream MCP errors pass through."""
        try:
            return await call
        except MCPError:
            raise
        except GatewayError as error:
            raise MCPError(INTERNAL_ERROR, f"upstream {server} failed: {error.detail}") from error


def _namespaced(server: str, item: N) -> N:
    """An upstream tool or prompt as the project lists it: `<server>__<name>`, described `[server] ...`."""
    description = f"[{server}] {item.description}" if item.description else f"[{server}]"
    return item.model_copy(update={"name": f"{server}{SEPARATOR}{item.name}", "description": description})


def _session_id(ctx: Ctx) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    value = headers.get("mcp-session-id") if headers is not None else None
    return str(value) if value else None


def _describe(error: BaseException) -> str:
    detail = getattr(error, "detail", None)
    return str(detail) if detail else f"{type(error).__name__}: {error}"
