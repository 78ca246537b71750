"""The innermost step of a project's pipeline: the tools, prompts and resources of its upstreams, merged.

Names are namespaced (`<server>__<tool>`), colliding URIs rewritten; every upstream call goes via the pool
with the request's `CallContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, unquote

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcpctl.errors import UpstreamError
from mcpctl.schemas import LINK_TARGET, PromptSpec

from ._context import CallContext, Target, UnknownTarget
from ._metrics import GatewayMetrics
from ._pipeline import Listed, UpstreamFailed
from ._session import CloseReason, GatewaySession
from ._state import Snapshot
from ._tracing import upstream_span

logger = logging.getLogger("mcpctl.gateway.aggregate")

SEPARATOR = "__"
"""Between a server's name and its tool or prompt name: `<server>__<tool>`."""
COLLISION_SCHEME = "mcpctl"
"""URIs two upstreams both list are served as `mcpctl://<server>/<quoted uri>`."""

T = TypeVar("T")
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], object]
"""Starts a background task (the sessions' task group's `start_soon`) that may outlive the request."""
N = TypeVar("N", types.Tool, types.Prompt)


class Upstreams(Protocol):
    """What aggregation needs from the upstream pool (`mcpctl.gateway.UpstreamPool`)."""

    async def list_tools(self, server: str, *, call: CallContext | None = None) -> list[types.Tool]: ...

    async def has_tool(self, server: str, name: str, *, call: CallContext | None = None) -> bool: ...

    async def call_tool(
        self, server: str, name: str, arguments: dict[str, Any] | None, *, call: CallContext | None = None
    ) -> types.CallToolResult: ...

    async def list_prompts(self, server: str, *, call: CallContext | None = None) -> list[types.Prompt]: ...

    async def get_prompt(
        self, server: str, name: str, arguments: dict[str, str] | None, *, call: CallContext | None = None
    ) -> types.GetPromptResult: ...

    async def list_resources(
        self, server: str, *, call: CallContext | None = None
    ) -> list[types.Resource]: ...

    async def list_resource_templates(
        self, server: str, *, call: CallContext | None = None
    ) -> list[types.ResourceTemplate]: ...

    async def read_resource(
        self, server: str, uri: str, *, call: CallContext | None = None
    ) -> types.ReadResourceResult: ...

    async def subscribe_resource(self, server: str, uri: str, *, call: CallContext | None = None) -> None: ...

    async def complete(
        self,
        server: str,
        ref: types.PromptReference | types.ResourceTemplateReference,
        argument: dict[str, str],
        context_arguments: dict[str, str] | None,
        *,
        call: CallContext | None = None,
    ) -> types.Completion: ...

    def capabilities(self, server: str) -> types.ServerCapabilities | None: ...

    async def session_closed(self, session_id: str) -> None: ...


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


class ProjectAggregator:
    """Answers every request of one project from the current snapshot and the upstream pool (`Terminal`)."""

    def __init__(
        self,
        project: str,
        snapshot: Callable[[], Snapshot],
        pool: Upstreams,
        metrics: GatewayMetrics,
        *,
        list_deadline: float = 5.0,
        spawn: Spawn | None = None,
        on_late: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.project = project
        self.list_deadline = list_deadline
        self._spawn = spawn
        self._on_late = on_late
        self._pending: set[tuple[str, str]] = set()
        """(method, server) of list fetches that missed a deadline and are still running in the background."""
        self._snapshot = snapshot
        self.pool = pool
        self.metrics = metrics
        self._resource_owner: dict[str, tuple[str, str]] = {}
        self.subscriptions: dict[tuple[str, str], set[tuple[str, str]]] = {}
        """(server, upstream uri) → {(session id, gateway uri)} of `resources/subscribe` calls."""

    def _servers(self) -> tuple[Snapshot, list[str]]:
        snapshot = self._snapshot()
        if self.project not in snapshot.projects:
            raise MCPError(INVALID_PARAMS, f"project {self.project} no longer exists")
        return snapshot, snapshot.project_servers(self.project)

    async def _gather(
        self,
        call: CallContext,
        method: str,
        servers: list[str],
        fetch: Callable[[str], Awaitable[list[T]]],
    ) -> dict[str, list[T]]:
        """`fetch(server)` for every server at once, for at most `list_deadline` seconds.

        A failing server is skipped, logged and counted. A server that has not answered by the deadline is
        left out (logged and counted as slow); its fetch goes on in the background (where the pool caches
        what it gets), and until it ends the next lists leave that server out at once rather than wait again.
        """
        results: dict[str, list[T]] = {}

        def failed(server: str, error: Exception) -> None:
            self.metrics.upstream_list_failures.inc(project=self.project, server=server, method=method)
            logger.warning(
                "project %s: %s from %s skipped: %s", self.project, method, server, _describe(error)
            )

        def slow(server: str, why: str) -> None:
            self.metrics.upstream_list_slow.inc(project=self.project, server=server, method=method)
            logger.warning("project %s: %s from %s left out: %s", self.project, method, server, why)

        async def one(server: str) -> None:
            key = (method, server)
            if key in self._pending:
                slow(server, "an earlier list is still waiting for it")
                return
            done = anyio.Event()
            outcome: list[list[T] | Exception] = []
            late = False

            async def run() -> None:
                try:
                    with upstream_span(call, server):
                        outcome.append(await fetch(server))
                except Exception as error:
                    outcome.append(error)
                finally:
                    self._pending.discard(key)
                    done.set()
                if late and self._on_late is not None and not isinstance(outcome[0], Exception):
                    # The list went out without this server: its clients are told to list again.
                    logger.info("project %s: %s from %s answered late", self.project, method, server)
                    try:
                        await self._on_late()
                    except Exception as error:  # a background task must not end the sessions' task group
                        logger.warning("project %s: list_changed failed: %s", self.project, _describe(error))

            if self._spawn is None:
                with anyio.move_on_after(self.list_deadline):
                    await run()
            else:
                self._pending.add(key)
                self._spawn(run)
                with anyio.move_on_after(self.list_deadline):
                    await done.wait()
                late = not done.is_set()
            if not outcome:
                slow(server, f"no answer within the list deadline ({self.list_deadline:g} s)")
            elif isinstance(outcome[0], Exception):
                failed(server, outcome[0])
            else:
                results[server] = outcome[0]

        async with anyio.create_task_group() as group:
            for server in servers:
                group.start_soon(one, server)
        return {server: results[server] for server in servers if server in results}

    def tool_target(self, name: str) -> Target:
        _, servers = self._servers()
        found = split_name(name, servers)
        return Target("tool", name, *found) if found is not None else Target("tool", name)

    def prompt_target(self, name: str) -> Target:
        snapshot, servers = self._servers()
        if name in snapshot.prompts.get(self.project, {}):
            return Target("prompt", name, None, name)
        found = split_name(name, servers)
        return Target("prompt", name, *found) if found is not None else Target("prompt", name)

    async def resource_target(self, call: CallContext, uri: str) -> Target:
        """Which upstream serves `uri`, and under which URI: listed resources first, then templates."""
        _, servers = self._servers()
        collided = parse_collision_uri(uri)
        if collided is not None and collided[0] in servers:
            return Target("resource", uri, *collided)
        if uri not in self._resource_owner:
            await self._federated_resources(call)
        owner = self._resource_owner.get(uri)
        if owner is not None:
            return Target("resource", uri, *owner)
        for server, templates in (await self._templates(call)).items():
            if any(uri.startswith(template_prefix(t.uri_template)) for t in templates):
                return Target("resource", uri, server, uri)
        return Target("resource", uri)

    async def completion_target(
        self, call: CallContext, ref: types.PromptReference | types.ResourceTemplateReference
    ) -> Target:
        if isinstance(ref, types.PromptReference):
            return self.prompt_target(ref.name)
        for server, templates in (await self._templates(call)).items():
            if any(t.uri_template == ref.uri for t in templates):
                return Target("resource template", ref.uri, server, ref.uri)
        return Target("resource template", ref.uri)

    async def list_tools(self, call: CallContext) -> list[Listed[types.Tool]]:
        _, servers = self._servers()
        found = await self._gather(call, "tools/list", servers, lambda s: self.pool.list_tools(s, call=call))
        return [
            Listed(_namespaced(server, tool), server, tool.name, tool)
            for server, tools in found.items()
            for tool in tools
        ]

    async def call_tool(self, call: CallContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        server, tool = _known(call)
        # The pool caches tools/list, so this check is cheap; it turns a typo into -32602 rather than
        # whatever the upstream answers.
        if not await self.pool.has_tool(server, tool, call=call):
            raise UnknownTarget("tool", params.name)
        with upstream_span(call, server, tool):
            return await self.pool.call_tool(server, tool, params.arguments, call=call)

    async def list_prompts(self, call: CallContext) -> list[Listed[types.Prompt]]:
        snapshot, servers = self._servers()
        prompts = [
            Listed(types.Prompt(name=name, description=spec.summary or None), None, name)
            for name, spec in sorted(snapshot.prompts.get(self.project, {}).items())
        ]
        found = await self._gather(
            call,
            "prompts/list",
            [s for s in servers if self._has(s, "prompts")],
            lambda s: self.pool.list_prompts(s, call=call),
        )
        for server, upstream in found.items():
            prompts.extend(
                Listed(_namespaced(server, prompt), server, prompt.name, prompt) for prompt in upstream
            )
        return prompts

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        target = call.target
        if target is not None and target.known and target.server is None:
            stored = self._snapshot().prompts.get(self.project, {}).get(params.name)
            if stored is not None:
                return await self._stored_prompt(call, stored)
        server, name = _known(call)
        return await self._upstream(
            server, self.pool.get_prompt(server, name, params.arguments, call=call), call, name
        )

    async def _stored_prompt(self, call: CallContext, spec: PromptSpec) -> types.GetPromptResult:
        if spec.content is not None:
            text = spec.content
        else:
            assert spec.link_target is not None
            match = LINK_TARGET.match(spec.link_target)
            assert match is not None
            server, uri = match["server"], match["uri"]
            result = await self._upstream(server, self.pool.read_resource(server, uri, call=call), call, uri)
            text = "\n".join(c.text for c in result.contents if isinstance(c, types.TextResourceContents))
        return types.GetPromptResult(
            description=spec.summary or None,
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
        )

    async def list_resources(self, call: CallContext) -> list[Listed[types.Resource]]:
        return await self._federated_resources(call)

    async def _federated_resources(self, call: CallContext) -> list[Listed[types.Resource]]:
        _, servers = self._servers()
        found = await self._gather(
            call,
            "resources/list",
            [s for s in servers if self._has(s, "resources")],
            lambda s: self.pool.list_resources(s, call=call),
        )
        listed_by: dict[str, list[str]] = {}
        for server, resources in found.items():
            for resource in resources:
                listed_by.setdefault(resource.uri, []).append(server)
        owners: dict[str, tuple[str, str]] = {}
        merged: list[Listed[types.Resource]] = []
        for server, resources in found.items():
            for resource in resources:
                uri = resource.uri
                if len(listed_by[uri]) > 1:
                    uri = collision_uri(server, resource.uri)
                owners[uri] = (server, resource.uri)
                item = resource if uri == resource.uri else resource.model_copy(update={"uri": uri})
                merged.append(Listed(item, server, resource.uri, resource))
        self._resource_owner = owners
        return merged

    async def list_resource_templates(self, call: CallContext) -> list[Listed[types.ResourceTemplate]]:
        found = await self._templates(call)
        return [
            Listed(template, server, template.uri_template, template)
            for server, templates in found.items()
            for template in templates
        ]

    async def _templates(self, call: CallContext) -> dict[str, list[types.ResourceTemplate]]:
        _, servers = self._servers()
        return await self._gather(
            call,
            "resources/templates/list",
            [s for s in servers if self._has(s, "resources")],
            lambda s: self.pool.list_resource_templates(s, call=call),
        )

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        server, uri = _known(call)
        result = await self._upstream(server, self.pool.read_resource(server, uri, call=call), call, uri)
        if uri != params.uri:
            contents = [
                c.model_copy(update={"uri": params.uri}) if c.uri == uri else c for c in result.contents
            ]
            result = result.model_copy(update={"contents": contents})
        return result

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        server, uri = _known(call)
        # Recorded first: an upstream may announce an update while still answering the subscribe.
        subscriber = (call.session.id, params.uri)
        subscribers = self.subscriptions.setdefault((server, uri), set())
        subscribers.add(subscriber)
        try:
            await self._upstream(server, self.pool.subscribe_resource(server, uri, call=call), call, uri)
        except BaseException:
            subscribers.discard(subscriber)
            raise
        return types.EmptyResult()

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        # The upstream subscription is shared by every session of the gateway, so it is kept;
        # this session just stops hearing about it.
        server, uri = _known(call)
        self.unsubscribe(server, uri, (call.session.id, params.uri))
        return types.EmptyResult()

    def subscribers(self, server: str, uri: str) -> list[tuple[str, str]]:
        """(session id, URI as that session knows it) of sessions subscribed to `server`'s `uri`."""
        return sorted(self.subscriptions.get((server, uri), set()))

    def unsubscribe(self, server: str, uri: str, subscriber: tuple[str, str]) -> None:
        """Stop sending `server`'s updates of `uri` to `subscriber` (session id, gateway URI)."""
        self.subscriptions.get((server, uri), set()).discard(subscriber)

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        for subscribers in self.subscriptions.values():
            for subscriber in [s for s in subscribers if s[0] == session.id]:
                subscribers.discard(subscriber)
        # Its per-client upstream sessions end with it; anything it still had running upstream is cancelled.
        await self.pool.session_closed(session.id)

    async def complete(self, call: CallContext, params: types.CompleteRequestParams) -> types.CompleteResult:
        target = call.target
        if target is not None and target.known and target.server is None:
            return types.CompleteResult(completion=types.Completion(values=[]))
        server, name = _known(call)
        ref = params.ref
        if isinstance(ref, types.PromptReference):
            ref = types.PromptReference(type="ref/prompt", name=name)
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context is not None else None
        completion = await self._upstream(
            server, self.pool.complete(server, ref, argument, context, call=call), call, name
        )
        return types.CompleteResult(completion=completion)

    def _has(self, server: str, capability: str) -> bool:
        """False only when the started upstream lacks `capability`; not started yet counts as True."""
        capabilities = self.pool.capabilities(server)
        if capabilities is None:
            return True
        return getattr(capabilities, capability, None) is not None

    async def _upstream(self, server: str, call: Awaitable[T], request: CallContext, name: str) -> T:
        """Await an upstream call; gateway errors become JSON-RPC errors, upstream MCP errors pass through."""
        try:
            with upstream_span(request, server, name):
                return await call
        except UpstreamError as error:
            raise UpstreamFailed(server, error) from error


def _known(call: CallContext) -> tuple[str, str]:
    """(server, name there) of the call's target; UnknownTarget when no upstream serves it."""
    target = call.target
    assert target is not None, f"{call.method} reached the aggregator without a target"
    if target.server is None or target.name is None:
        raise UnknownTarget(target.kind, target.exposed)
    return target.server, target.name


def _namespaced(server: str, item: N) -> N:
    """An upstream tool or prompt as the project lists it: `<server>__<name>`, described `[server] ...`."""
    description = f"[{server}] {item.description}" if item.description else f"[{server}]"
    return item.model_copy(update={"name": f"{server}{SEPARATOR}{item.name}", "description": description})


def _describe(error: BaseException) -> str:
    detail = getattr(error, "detail", None)
    return str(detail) if detail else f"{type(error).__name__}: {error}"
