"""Traces (`serve --otlp-endpoint`): a real gateway, real upstreams and the SDK client, spans collected by the
OpenTelemetry SDK's in-memory exporter and, end to end, by an OTLP/HTTP receiver of the test's own."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import RequestParamsMeta
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.gateway_harness import (
    create_token,
    free_port,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
    wait_for_port,
)
from mcpctl.gateway import TracingConfig
from mcpctl.gateway._events import arguments_digest
from mcpctl.gateway._tracing import traces_url
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio

TRACED = Path(__file__).parent / "servers" / "traced.py"
SECRET_ARG = "sk-live-7e1b0c0ffeeba5eba11"
"""Planted in tool arguments: no span may carry it."""
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def traced_http() -> Iterator[str]:
    """The `traced` upstream on Streamable HTTP; its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(TRACED), "--port", str(port)])
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def _store(store: Store, traced_url: str) -> str:
    put(
        store,
        server_doc("toy", toy_spec()),
        server_doc("traced", ServerSpec.model_validate({"transport": "streamable-http", "url": traced_url})),
        project_doc("demo", ["toy", "traced"]),
    )
    return create_token(store, "demo", "ci-bot")


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = _named(spans, name)
    assert len(found) == 1, (name, sorted(span.name for span in spans))
    return found[0]


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _everything(span: ReadableSpan) -> str:
    """All a span says, as text: its name, attributes, events, links and status."""
    return json.dumps(
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "events": [(e.name, dict(e.attributes or {})) for e in span.events],
            "links": [dict(link.attributes or {}) for link in span.links],
            "status": span.status.description,
            "resource": dict(span.resource.attributes),
        },
        default=str,
    )


async def test_sessions_calls_and_upstream_calls_are_spans(sqlite_store: Store, traced_http: str) -> None:
    token = _store(sqlite_store, traced_http)
    exporter = InMemorySpanExporter()
    with serve_gateway(sqlite_store, tracing=TracingConfig(exporter=exporter)) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            listed = await session.list_tools()
            assert {"toy__echo", "traced__meta"} <= {tool.name for tool in listed.tools}
            echoed = await session.call_tool("toy__echo", {"text": SECRET_ARG})
            assert echoed.content[0].text == SECRET_ARG  # type: ignore[union-attr]
            failed = await session.call_tool("toy__fail", {"why": SECRET_ARG})
            assert failed.is_error
            with pytest.raises(MCPError):
                await session.call_tool("toy__nothing", {"x": SECRET_ARG})
            meta = await session.call_tool("traced__meta", {})
            seen = json.loads(meta.content[0].text)  # type: ignore[union-attr]
            # RequestParamsMeta is an open TypedDict (PEP 728 extra_items), which mypy does not read yet.
            traceparent: RequestParamsMeta = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"}  # type: ignore[typeddict-unknown-key]
            joined = await session.call_tool("toy__echo", {"text": "x"}, meta=traceparent)
            assert not joined.is_error
    spans = list(exporter.get_finished_spans())

    sessions = _named(spans, "mcp.session demo")
    assert len(sessions) == 1
    opened = sessions[0]
    assert opened.kind is SpanKind.SERVER
    assert opened.attributes is not None
    assert opened.attributes["mcpctl.project"] == "demo"
    assert opened.attributes["mcpctl.token.name"] == "ci-bot"
    assert opened.attributes["mcpctl.close_reason"] == "client"
    session_id = opened.attributes["mcpctl.session_id"]
    assert isinstance(session_id, str) and session_id

    # Without a client trace, each call is a child of its session's span, in the session's trace.
    echo = _named(spans, "tools/call toy__echo")
    assert len(echo) == 2
    plain = next(s for s in echo if s.context.trace_id == opened.context.trace_id)
    assert plain.parent is not None and plain.parent.span_id == opened.context.span_id
    assert plain.attributes is not None
    assert plain.attributes["mcpctl.outcome"] == "ok"
    assert plain.attributes["mcpctl.server"] == "toy"
    assert plain.attributes["mcpctl.session_id"] == session_id
    assert plain.attributes["mcpctl.arguments.digest"] == arguments_digest({"text": SECRET_ARG})
    correlation = plain.attributes["mcpctl.correlation_id"]
    assert isinstance(correlation, str) and len(correlation) == 32
    (upstream,) = _children(spans, plain)
    assert upstream.name == "upstream tools/call toy/echo"
    assert upstream.kind is SpanKind.CLIENT
    assert upstream.attributes is not None
    assert upstream.attributes["mcpctl.correlation_id"] == correlation
    assert upstream.attributes["mcpctl.upstream.name"] == "echo"
    assert plain.start_time is not None and upstream.start_time is not None
    assert plain.end_time is not None and upstream.end_time is not None
    assert plain.start_time <= upstream.start_time <= upstream.end_time <= plain.end_time

    # A `traceparent` in the client's `_meta` puts the call in the client's trace, linked to the session.
    joined_span = next(s for s in echo if s is not plain)
    assert format(joined_span.context.trace_id, "032x") == CLIENT_TRACE
    assert joined_span.parent is not None and format(joined_span.parent.span_id, "016x") == CLIENT_SPAN
    assert [link.context.span_id for link in joined_span.links] == [opened.context.span_id]

    fail = _one(spans, "tools/call toy__fail")
    assert fail.attributes is not None and fail.attributes["mcpctl.outcome"] == "error"
    assert fail.status.status_code is StatusCode.ERROR
    unknown = _one(spans, "tools/call toy__nothing")
    assert unknown.attributes is not None and unknown.attributes["mcpctl.outcome"] == "unknown"

    # The HTTP upstream was sent the upstream span's W3C trace context in the request's `_meta`.
    meta_call = _one(spans, "tools/call traced__meta")
    (meta_upstream,) = _children(spans, meta_call)
    trace_id = format(meta_upstream.context.trace_id, "032x")
    span_id = format(meta_upstream.context.span_id, "016x")
    version, sent_trace, sent_span, flags = seen["traceparent"].split("-")
    assert (version, sent_trace, sent_span) == ("00", trace_id, span_id)
    assert int(flags, 16) & 1, "sampled"

    # A fan-out list: one upstream child per server, all with the list's correlation id.
    listing = _one(spans, "tools/list")
    assert listing.attributes is not None
    fetches = _children(spans, listing)
    assert sorted(s.name for s in fetches) == ["upstream tools/list toy", "upstream tools/list traced"]
    assert {s.attributes["mcpctl.correlation_id"] for s in fetches if s.attributes} == {
        listing.attributes["mcpctl.correlation_id"]
    }

    for span in spans:
        text = _everything(span)
        assert SECRET_ARG not in text, span.name
        assert token not in text and token[:12] not in text, span.name


async def test_no_tracing_layer_and_no_traceparent_when_off(sqlite_store: Store, traced_http: str) -> None:
    token = _store(sqlite_store, traced_http)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            meta = await session.call_tool("traced__meta", {})
        assert not any(layer.name == "tracing" for layer in gateway.runtime.sessions.layers)
    # The SDK client's own span is a no-op without a tracer provider: nothing is propagated either.
    assert "traceparent" not in json.loads(meta.content[0].text)  # type: ignore[union-attr]


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint: keeps each POST /v1/traces body and answers 200 with an empty response."""

    bodies: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.bodies.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    bodies: list[tuple[str, str, bytes]] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def test_spans_reach_an_otlp_http_endpoint(
    sqlite_store: Store, traced_http: str, receiver: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    endpoint, bodies = receiver
    token = _store(sqlite_store, traced_http)
    with serve_gateway(sqlite_store, tracing=TracingConfig(endpoint=endpoint)) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            await session.call_tool("toy__echo", {"text": SECRET_ARG})
    # The batch is flushed when the gateway stops.
    assert bodies, "nothing was exported"
    spans: dict[str, Any] = {}
    for path, content_type, body in bodies:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        assert SECRET_ARG.encode() not in body and token.encode() not in body
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert service["service.name"] == "mcpctl-gateway"
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans[span.name] = span
    session, call, upstream = (
        spans["mcp.session demo"],
        spans["tools/call toy__echo"],
        spans["upstream tools/call toy/echo"],
    )
    assert call.parent_span_id == session.span_id and upstream.parent_span_id == call.span_id
    assert session.trace_id == call.trace_id == upstream.trace_id
    attributes = {a.key: a.value.string_value for a in call.attributes}
    upstream_attributes = {a.key: a.value.string_value for a in upstream.attributes}
    assert len(attributes["mcpctl.correlation_id"]) == 32
    assert upstream_attributes["mcpctl.correlation_id"] == attributes["mcpctl.correlation_id"]


def test_the_endpoint_is_a_base_url_as_the_standard_variable() -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces"
    assert not TracingConfig().enabled
    assert TracingConfig(endpoint="http://collector:4318").enabled


def test_a_gateway_without_tracing_does_not_load_the_sdk(sqlite_database_url: str) -> None:
    script = (
        "import sys\n"
        "from mcpctl.gateway import GatewayConfig, TracingConfig, create_app\n"
        f"create_app(GatewayConfig(database_url={sqlite_database_url!r}))\n"
        "assert 'opentelemetry.sdk.trace' not in sys.modules, 'loaded without tracing'\n"
        "create_app(GatewayConfig(database_url={url!r}, tracing=TracingConfig(endpoint='http://127.0.0.1:9')))\n"
        "assert 'opentelemetry.sdk.trace' in sys.modules\n"
    ).replace("{url!r}", repr(sqlite_database_url))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
