"""`mcpctl serve` with `OTEL_EXPORTER_OTLP_ENDPOINT`: spans reach an OTLP/HTTP receiver the test runs, and
the batch still queued at SIGTERM is flushed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gateway.gateway_harness import (
    create_token,
    free_port,
    project_doc,
    put,
    server_doc,
    toy_spec,
    wait_healthy,
)
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")
SECRET_ARG = "sk-live-00c0ffee5eedfa11"
ARGS = json.dumps({"text": SECRET_ARG})


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/v1/traces":
            self.bodies.append(body)
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP endpoint keeping the bodies POSTed to /v1/traces."""
    bodies: list[bytes] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Receiver", (_Receiver,), {"bodies": bodies}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_serve_exports_spans_to_the_standard_otlp_endpoint(
    sqlite_database_url: str, receiver: tuple[str, list[bytes]]
) -> None:
    endpoint, bodies = receiver
    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]))
        token = create_token(store, "demo", "cli")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    serve = subprocess.Popen(
        [MCPCTL, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, serve, timeout=90)
        checked = subprocess.run(
            [MCPCTL, "test", "mcp", f"{base}/projects/demo/mcp", "--tool", "toy__echo", "--args", ARGS],
            env={**env, "MCPCTL_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        # At once: the batch exporter has not sent yet (5 s schedule); shutdown must flush it.
        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=30)
    assert "Traceback" not in stderr
    names: dict[str, Any] = {}
    for body in bodies:
        assert SECRET_ARG.encode() not in body and token.encode() not in body
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    names[span.name] = span
    assert {"mcp.session demo", "tools/list", "tools/call toy__echo", "upstream tools/call toy/echo"} <= set(
        names
    ), sorted(names)
    assert names["upstream tools/call toy/echo"].parent_span_id == names["tools/call toy__echo"].span_id
