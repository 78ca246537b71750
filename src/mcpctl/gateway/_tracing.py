"""OpenTelemetry traces (`serve --otlp-endpoint`): a span per session, per call and per upstream call.

`TracingLayer` is the outermost layer when tracing is on. A call's span is the child of the client's trace
when the request's `_meta` carries a W3C `traceparent` (the SDK's server middleware makes it current), else
of its session's span; the aggregator opens the upstream span inside it with `upstream_span`, and the SDK's
client puts that span's `traceparent` into the upstream request's `_meta` (MCP's SEP-414 convention).

Spans carry names, ids, outcomes and digests only: never argument, result, token or secret values. Only the
OpenTelemetry API (a dependency of the MCP SDK) is imported here; the SDK and exporter only by
`tracer_provider`, so a gateway without tracing loads neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import mcp_types as types
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer

from mcpctl.errors import UpstreamError, UpstreamTimeout

from ._context import CallContext, Refused, UnknownTarget
from ._events import arguments_digest
from ._pipeline import (
    CompleteNext,
    Layer,
    Listed,
    ListNext,
    PromptNext,
    ReadNext,
    SubscribeNext,
    ToolNext,
    UnsubscribeNext,
    UpstreamFailed,
)
from ._session import CloseReason, GatewaySession

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from ._config import TracingConfig

R = TypeVar("R")
TRACER_NAME = "mcpctl.gateway"

_current: ContextVar[Tracer | None] = ContextVar("mcpctl_tracer", default=None)
"""The tracer of the call being served, so the aggregator's `upstream_span` needs no wiring of its own."""


def tracer_provider(config: TracingConfig) -> TracerProvider:
    """The SDK provider exporting to `config.exporter` (synchronously) or over OTLP/HTTP in batches."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    if config.exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(config.exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert config.endpoint is not None
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(config.endpoint)))
        )
    return provider


def traces_url(endpoint: str) -> str:
    """The traces URL of an OTLP/HTTP base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` is read (+ /v1/traces)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def upstream_span(call: CallContext, server: str, name: str | None = None) -> Any:
    """A context manager around one upstream call of `call` (a no-op when tracing is off)."""
    tracer = _current.get()
    if tracer is None:
        return nullcontext()
    return _upstream(tracer, call, server, name)


@contextmanager
def _upstream(tracer: Tracer, call: CallContext, server: str, name: str | None) -> Iterator[Span]:
    attributes: dict[str, str] = {
        "mcp.method.name": call.method,
        "mcpctl.server": server,
        "mcpctl.correlation_id": call.correlation_id,
    }
    if name is not None:
        attributes["mcpctl.upstream.name"] = name
    title = f"upstream {call.method} {server}" + (f"/{name}" if name else "")
    with tracer.start_as_current_span(
        title,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            _failed(span, error)
            raise


def _outcome(error: BaseException) -> str:
    if isinstance(error, Refused):
        return "denied"
    if isinstance(error, UnknownTarget):
        return "unknown"
    if isinstance(error, UpstreamFailed | UpstreamError):
        timed_out = isinstance(error, UpstreamTimeout) or isinstance(error.__cause__, UpstreamTimeout)
        return "timeout" if timed_out else "unavailable"
    return "error"


def _failed(span: Span, error: BaseException) -> None:
    # The exception's type only: messages may quote what the client or the upstream sent.
    outcome = _outcome(error)
    span.set_attribute("mcpctl.outcome", outcome)
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(StatusCode.ERROR, outcome)


class TracingLayer(Layer):
    """Spans for sessions and for every request of them (registered outermost, so it times the others)."""

    name: ClassVar[str] = "tracing"

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._sessions: dict[int, Span] = {}

    async def session_opened(self, session: GatewaySession) -> None:
        attributes = {"mcpctl.project": session.project, "mcpctl.session_id": session.id}
        if session.principal is not None:
            attributes["mcpctl.token.name"] = session.principal.token_name
        # Not made current: the session outlives this request; calls name it as their parent (or link it).
        self._sessions[id(session)] = self.tracer.start_span(
            f"mcp.session {session.project}", kind=SpanKind.SERVER, attributes=attributes
        )

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        span = self._sessions.pop(id(session), None)
        if span is not None:
            span.set_attribute("mcpctl.close_reason", reason)
            span.end()

    async def _traced(
        self, call: CallContext, step: Callable[[], Awaitable[R]], digest: str | None = None
    ) -> R:
        session_span = self._sessions.get(id(call.session))
        parent = otel_context.get_current()
        links = []
        if not trace.get_current_span(parent).get_span_context().is_valid:
            if session_span is not None:
                parent = trace.set_span_in_context(session_span, parent)
        elif session_span is not None:
            # The client's own trace is the parent; the session is still one click away.
            links.append(Link(session_span.get_span_context()))
        attributes = {
            "mcp.method.name": call.method,
            "mcpctl.project": call.project,
            "mcpctl.session_id": call.session.id,
            "mcpctl.correlation_id": call.correlation_id,
        }
        if call.principal is not None:
            attributes["mcpctl.token.name"] = call.principal.token_name
        target = call.target
        if target is not None:
            attributes["mcpctl.target.kind"] = target.kind
            attributes["mcpctl.target"] = target.exposed
            if target.server is not None:
                attributes["mcpctl.server"] = target.server
        if digest is not None:
            attributes["mcpctl.arguments.digest"] = digest
        title = call.method if target is None else f"{call.method} {target.exposed}"
        with self.tracer.start_as_current_span(
            title,
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            token = _current.set(self.tracer)
            try:
                result = await step()
            except BaseException as error:
                _failed(span, error)
                raise
            finally:
                _current.reset(token)
            if getattr(result, "is_error", False):
                span.set_attribute("mcpctl.outcome", "error")
                span.set_status(StatusCode.ERROR, "error")
            else:
                span.set_attribute("mcpctl.outcome", "ok")
            return result

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        return await self._traced(call, lambda: call_next(call))

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        return await self._traced(call, lambda: call_next(call, params), arguments_digest(params.arguments))

    async def list_prompts(
        self, call: CallContext, call_next: ListNext[types.Prompt]
    ) -> list[Listed[types.Prompt]]:
        return await self._traced(call, lambda: call_next(call))

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams, call_next: PromptNext
    ) -> types.GetPromptResult:
        return await self._traced(call, lambda: call_next(call, params), arguments_digest(params.arguments))

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        return await self._traced(call, lambda: call_next(call))

    async def list_resource_templates(
        self, call: CallContext, call_next: ListNext[types.ResourceTemplate]
    ) -> list[Listed[types.ResourceTemplate]]:
        return await self._traced(call, lambda: call_next(call))

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        return await self._traced(call, lambda: call_next(call, params))

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams, call_next: SubscribeNext
    ) -> types.EmptyResult:
        return await self._traced(call, lambda: call_next(call, params))

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams, call_next: UnsubscribeNext
    ) -> types.EmptyResult:
        return await self._traced(call, lambda: call_next(call, params))

    async def complete(
        self, call: CallContext, params: types.CompleteRequestParams, call_next: CompleteNext
    ) -> types.CompleteResult:
        return await self._traced(call, lambda: call_next(call, params))
