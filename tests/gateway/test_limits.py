"""The per-request limits middleware over real HTTP: header count and size, body size and read time, and the
DNS-rebinding check of the admin API, with auth on and off."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest

from gateway.gateway_harness import (
    FAST,
    INITIALIZE,
    create_token,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.gateway import AuthConfig, HttpLimits
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

LIMITED = replace(FAST, http=HttpLimits(max_headers=30, max_body_bytes=64 * 1024, body_timeout_seconds=1.0))
ACCEPT = {"Accept": "application/json, text/event-stream"}


def _demo(store: Store, toy_stdio: Callable[..., ServerSpec]) -> str:
    put(store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    return create_token(store, "demo", "t")


def test_too_many_or_too_large_headers_are_431(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = _demo(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store, LIMITED) as gateway, httpx.Client(base_url=gateway.base) as http:
        many = {f"X-Filler-{i}": "1" for i in range(40)}
        assert http.get("/healthz", headers=many).status_code == 431
        refused = http.post(
            "/projects/demo/mcp", headers={**many, "Authorization": f"Bearer {token}"}, json=INITIALIZE
        )
        assert refused.status_code == 431
        assert refused.json()["error"]["message"] == "too many header fields (at most 30)"
        assert http.get("/healthz", headers={f"X-Filler-{i}": "1" for i in range(20)}).status_code == 200
        assert http.get("/healthz", headers={"X-Big": "b" * 20_000}).status_code == 431


def test_bodies_over_the_limit_are_413_by_length_and_as_read(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = _demo(sqlite_store, toy_stdio)
    headers = {**ACCEPT, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with serve_gateway(sqlite_store, LIMITED) as gateway, httpx.Client(base_url=gateway.base) as http:
        big = json.dumps({**INITIALIZE, "pad": "x" * 100_000}).encode()
        assert http.post("/projects/demo/mcp", headers=headers, content=big).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            for _ in range(10):
                yield b" " * 10_000

        chunked = http.post("/projects/demo/mcp", headers=headers, content=chunks())
        assert chunked.status_code == 413
        assert "request body over 65536 bytes" in chunked.text
        api = http.post("/api/v1/tokens/introspect", headers=headers, content=big)
        assert api.status_code == 413
        # Under the limit the endpoint works as before.
        assert http.post("/projects/demo/mcp", headers=headers, json=INITIALIZE).status_code == 200


def test_a_slow_body_gets_408_and_the_connection_is_closed(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    token = _demo(sqlite_store, toy_stdio)
    with serve_gateway(sqlite_store, LIMITED) as gateway:
        body = json.dumps(INITIALIZE).encode()
        head = (
            f"POST /projects/demo/mcp HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", gateway.config.port), timeout=10) as sock:
            sock.sendall(head + body[:10])
            started = time.monotonic()
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        assert b"no request body data for 1 s" in answer
        assert 0.9 < elapsed < 4
        # The session the slow request would have opened is not left holding a slot.
        deadline = time.monotonic() + 5
        while gateway.runtime.sessions.open_sessions("demo") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gateway.runtime.sessions.open_sessions("demo") == 0


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "no-auth"])
def test_the_admin_api_checks_host_and_origin(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec], auth: bool
) -> None:
    token = _demo(sqlite_store, toy_stdio)
    config = replace(LIMITED, auth=AuthConfig(enabled=auth, cache_ttl_seconds=0.5))
    bearer = {"Authorization": f"Bearer {token}"}
    with serve_gateway(sqlite_store, config) as gateway, httpx.Client(base_url=gateway.base) as http:
        assert http.get("/api/v1/projects", headers=bearer).status_code == 200
        rebound = http.get("/api/v1/projects", headers={**bearer, "Host": "attacker.example"})
        assert rebound.status_code == 421
        from_page = http.get("/api/v1/projects", headers={**bearer, "Origin": "http://attacker.example"})
        assert from_page.status_code == 403
        same_origin = {**bearer, "Origin": f"http://127.0.0.1:{gateway.config.port}"}
        assert http.get("/api/v1/projects", headers=same_origin).status_code == 200
        # The signed webhook path is not Host-checked (404 here: no reconciler mounted, but not 421).
        assert http.post("/api/v1/reconcile", headers={"Host": "forge.example"}).status_code == 404
        # Probes stay reachable under any Host (a kubelet sends the pod's address).
        assert http.get("/healthz", headers={"Host": "10.1.2.3:8080"}).status_code == 200
