"""The one enforcement and feature seam: an ordered chain of layers between the SDK handlers and aggregator.

Every list and every call of a project's endpoint passes `Pipeline`, outermost layer first, down to the
aggregator (the innermost step, which talks to the upstream pool). A layer may filter or extend list results,
answer a call itself, refuse it (`refuse`, answered exactly like an unknown tool), or pass it on and change
the result. The pipeline times each request, sorts its outcome and emits one `RequestFinished` event.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, NoReturn, Protocol, TypeVar

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcpctl.errors import UpstreamError, UpstreamTimeout

from ._context import CallContext, Refused, Target, UnknownTarget
from ._events import AccessDenied, Events, RequestFinished, arguments_digest, content_size
from ._session import CloseReason, GatewaySession

logger = logging.getLogger("mcpctl.gateway.pipeline")

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Listed(Generic[T]):
    """One entry of a list result with where it comes from, so layers can decide on it."""

    item: T
    """The tool, prompt, resource or template as the client sees it (namespaced name, gateway URI)."""
    server: str | None
    """The upstream it comes from; None for the gateway's own (project prompts, a layer's virtual tools)."""
    name: str
    """Its name on that server (a resource's URI, a template's URI template)."""
    source: T | None = None
    """The item exactly as its server defines it (what tool pins hash); None for the gateway's own."""


ListNext = Callable[[CallContext], Awaitable[list[Listed[T]]]]
"""The rest of the chain for a list request."""
CallNext = Callable[[CallContext, P], Awaitable[R]]
"""The rest of the chain for a call; pass `replace(call, target=...)` along when a layer re-targets it."""

ToolNext = CallNext[types.CallToolRequestParams, types.CallToolResult]
PromptNext = CallNext[types.GetPromptRequestParams, types.GetPromptResult]
ReadNext = CallNext[types.ReadResourceRequestParams, types.ReadResourceResult]
SubscribeNext = CallNext[types.SubscribeRequestParams, types.EmptyResult]
UnsubscribeNext = CallNext[types.UnsubscribeRequestParams, types.EmptyResult]
CompleteNext = CallNext[types.CompleteRequestParams, types.CompleteResult]


def refuse(call: CallContext, reason: str) -> NoReturn:
    """Refuse the call as if its target did not exist (-32602); `reason` goes to the denial event only."""
    target = call.target
    if target is None:
        raise ValueError(f"{call.method} has no target to refuse")
    raise Refused(target, reason)


class UpstreamFailed(MCPError):
    """An upstream failure answered as a JSON-RPC internal error (tools/call answers an `isError` result)."""

    def __init__(self, server: str, error: UpstreamError) -> None:
        super().__init__(types.INTERNAL_ERROR, f"upstream {server} failed: {error.detail}")


class Layer:
    """One step of the chain. Every method passes on by default; override those the feature needs.

    Layers are shared by every project and session: keep per-session values in `call.session.state` (or in
    a map of your own, dropped in `session_closed`). Methods a layer does not override cost nothing.
    """

    name: ClassVar[str] = "layer"

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        return await call_next(call)

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        return await call_next(call, params)

    async def list_prompts(
        self, call: CallContext, call_next: ListNext[types.Prompt]
    ) -> list[Listed[types.Prompt]]:
        return await call_next(call)

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams, call_next: PromptNext
    ) -> types.GetPromptResult:
        return await call_next(call, params)

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        return await call_next(call)

    async def list_resource_templates(
        self, call: CallContext, call_next: ListNext[types.ResourceTemplate]
    ) -> list[Listed[types.ResourceTemplate]]:
        return await call_next(call)

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        return await call_next(call, params)

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams, call_next: SubscribeNext
    ) -> types.EmptyResult:
        return await call_next(call, params)

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams, call_next: UnsubscribeNext
    ) -> types.EmptyResult:
        return await call_next(call, params)

    async def complete(
        self, call: CallContext, params: types.CompleteRequestParams, call_next: CompleteNext
    ) -> types.CompleteResult:
        return await call_next(call, params)

    async def session_opened(self, session: GatewaySession) -> None:
        """A session of some project opened (its id and principal are set)."""

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        """A session ended; drop whatever the layer kept for it."""


class Terminal(Protocol):
    """The innermost step (`ProjectAggregator`): answers from the upstreams and says what a call targets."""

    async def list_tools(self, call: CallContext) -> list[Listed[types.Tool]]: ...

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams
    ) -> types.CallToolResult: ...

    async def list_prompts(self, call: CallContext) -> list[Listed[types.Prompt]]: ...

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult: ...

    async def list_resources(self, call: CallContext) -> list[Listed[types.Resource]]: ...

    async def list_resource_templates(self, call: CallContext) -> list[Listed[types.ResourceTemplate]]: ...

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult: ...

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams
    ) -> types.EmptyResult: ...

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult: ...

    async def complete(
        self, call: CallContext, params: types.CompleteRequestParams
    ) -> types.CompleteResult: ...

    def tool_target(self, name: str) -> Target: ...

    def prompt_target(self, name: str) -> Target: ...

    async def resource_target(self, call: CallContext, uri: str) -> Target: ...

    async def completion_target(
        self, call: CallContext, ref: types.PromptReference | types.ResourceTemplateReference
    ) -> Target: ...

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None: ...


def _compose(layers: Sequence[Layer], method: str, innermost: Callable[..., Awaitable[Any]]) -> Any:
    step = innermost
    for layer in reversed(layers):
        # A layer that does not override the method is skipped, so it adds no call to the hot path.
        if getattr(type(layer), method) is getattr(Layer, method):
            continue
        step = functools.partial(getattr(layer, method), call_next=step)
    return step


class Pipeline:
    """One project's chain: `layers` (outermost first), then `terminal`; each request timed and reported."""

    def __init__(self, layers: Sequence[Layer], terminal: Terminal, events: Events) -> None:
        self.layers = list(layers)
        self.terminal = terminal
        self.events = events
        chain = functools.partial(_compose, self.layers)
        self._list_tools = chain("list_tools", terminal.list_tools)
        self._call_tool = chain("call_tool", terminal.call_tool)
        self._list_prompts = chain("list_prompts", terminal.list_prompts)
        self._get_prompt = chain("get_prompt", terminal.get_prompt)
        self._list_resources = chain("list_resources", terminal.list_resources)
        self._list_resource_templates = chain("list_resource_templates", terminal.list_resource_templates)
        self._read_resource = chain("read_resource", terminal.read_resource)
        self._subscribe_resource = chain("subscribe_resource", terminal.subscribe_resource)
        self._unsubscribe_resource = chain("unsubscribe_resource", terminal.unsubscribe_resource)
        self._complete = chain("complete", terminal.complete)
        self._tools_below = {
            id(layer): _compose(self.layers[index + 1 :], "list_tools", terminal.list_tools)
            for index, layer in enumerate(self.layers)
        }

    async def list_tools(self, call: CallContext) -> list[Listed[types.Tool]]:
        listed: list[Listed[types.Tool]] = await self._observed(call, self._list_tools(call))
        return listed

    async def tools_below(self, layer: Layer, call: CallContext) -> list[Listed[types.Tool]]:
        """`tools/list` as the layers inside `layer` (and the upstreams) answer it; not timed or reported."""
        listed: list[Listed[types.Tool]] = await self._tools_below[id(layer)](call)
        return listed

    async def call_tool(self, call: CallContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        call = replace(call, target=self.terminal.tool_target(params.name), chain=self)
        digest = arguments_digest(params.arguments)
        try:
            result: types.CallToolResult = await self._observed(
                call, self._call_tool(call, params), digest, lambda r: content_size(r.content)
            )
        except UpstreamError as error:
            # A failing upstream is a tool result the model can read, not a protocol error; the session
            # and the other servers carry on.
            server = call.target.server if call.target is not None else None
            text = f"upstream {server} failed: {error.detail}"
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        return result

    async def list_prompts(self, call: CallContext) -> list[Listed[types.Prompt]]:
        listed: list[Listed[types.Prompt]] = await self._observed(call, self._list_prompts(call))
        return listed

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        call = replace(call, target=self.terminal.prompt_target(params.name))
        digest = arguments_digest(params.arguments)
        result: types.GetPromptResult = await self._observed(
            call,
            self._get_prompt(call, params),
            digest,
            lambda r: content_size(m.content for m in r.messages),
        )
        return result

    async def list_resources(self, call: CallContext) -> list[Listed[types.Resource]]:
        listed: list[Listed[types.Resource]] = await self._observed(call, self._list_resources(call))
        return listed

    async def list_resource_templates(self, call: CallContext) -> list[Listed[types.ResourceTemplate]]:
        listed: list[Listed[types.ResourceTemplate]] = await self._observed(
            call, self._list_resource_templates(call)
        )
        return listed

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        call = replace(call, target=await self.terminal.resource_target(call, params.uri))
        result: types.ReadResourceResult = await self._observed(
            call, self._read_resource(call, params), None, lambda r: content_size(r.contents)
        )
        return result

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        call = replace(call, target=await self.terminal.resource_target(call, params.uri))
        result: types.EmptyResult = await self._observed(call, self._subscribe_resource(call, params))
        return result

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        call = replace(call, target=await self.terminal.resource_target(call, params.uri))
        result: types.EmptyResult = await self._observed(call, self._unsubscribe_resource(call, params))
        return result

    async def complete(self, call: CallContext, params: types.CompleteRequestParams) -> types.CompleteResult:
        call = replace(call, target=await self.terminal.completion_target(call, params.ref))
        result: types.CompleteResult = await self._observed(call, self._complete(call, params))
        return result

    async def session_opened(self, session: GatewaySession) -> None:
        """Tell every layer (outermost first); one that fails is logged and the others still hear it."""
        for layer in self.layers:
            try:
                await layer.session_opened(session)
            except Exception:
                logger.exception("layer %s failed on the opening of %s", layer.name, session)

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        """Tell every layer, then the aggregator; one that fails is logged and the others still hear it."""
        hooks = [layer.session_closed for layer in self.layers] + [self.terminal.session_closed]
        for hook in hooks:
            try:
                await hook(session, reason)
            except Exception:
                logger.exception("%s failed on the closing of %s", hook.__qualname__, session)

    async def _observed(
        self,
        call: CallContext,
        step: Awaitable[R],
        digest: str | None = None,
        size: Callable[[R], int] | None = None,
    ) -> R:
        outcome, result_size = "error", None
        try:
            result = await step
            outcome = "error" if getattr(result, "is_error", False) else "ok"
            result_size = size(result) if size is not None else None
            return result
        except Refused as refused:
            outcome = "denied"
            self.events.emit(AccessDenied(call, refused.reason))
            raise
        except UnknownTarget:
            outcome = "unknown"
            raise
        except (UpstreamFailed, UpstreamError) as error:
            timed_out = isinstance(error, UpstreamTimeout) or isinstance(error.__cause__, UpstreamTimeout)
            outcome = "timeout" if timed_out else "unavailable"
            raise
        finally:
            self.events.emit(
                RequestFinished(call, outcome, time.perf_counter() - call.started, digest, result_size)
            )
