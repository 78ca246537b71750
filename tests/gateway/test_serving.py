"""The request head limits of the gateway's HTTP parser, probed with raw sockets against the app on uvicorn.

A huge header is refused before it is read whole; slow-loris connections are closed on time; neither
holds up another client's `/healthz`; requests that are merely long (a slow tool call) are not cut.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest

from gateway.gateway_harness import (
    FAST,
    RunningGateway,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from mcpctl.gateway import HttpLimits
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio

LIMITED = replace(FAST, http=HttpLimits(max_header_bytes=16 * 1024, header_timeout_seconds=1.0))


def _connect(gateway: RunningGateway) -> socket.socket:
    sock = socket.create_connection((gateway.config.host, gateway.config.port), timeout=10)
    return sock


def _read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    chunks: list[bytes] = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


@contextmanager
def _healthz_latency(gateway: RunningGateway) -> Iterator[list[float]]:
    """Times `/healthz` from another client every 50 ms while the body runs."""
    seen: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            while not stop.is_set():
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                seen.append(time.monotonic() - started)
                time.sleep(0.05)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:  # the other client is up before the attack starts
        time.sleep(0.01)
    first = len(seen)
    try:
        yield seen
    finally:
        stop.set()
        thread.join(15)
        del seen[:first]  # only the answers given while the attack ran


def test_an_oversized_header_is_refused_at_once(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store, LIMITED) as gateway:
        with _connect(gateway) as sock:
            head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n".encode()
            sock.sendall(head + b"Authorization: Bearer " + b"a" * 20_000 + b"\r\n\r\n")
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]

        # A 100 MB header is not read whole: the connection is closed after a few of its bytes, quickly,
        # and another client is answered meanwhile.
        with _healthz_latency(gateway) as latencies, _connect(gateway) as sock:
            sent = 0
            started = time.monotonic()
            chunk = b"a" * 65536
            with pytest.raises((BrokenPipeError, ConnectionResetError)):
                sock.sendall(head + b"Authorization: Bearer ")
                while sent < 100 * 1024 * 1024:
                    sock.sendall(chunk)
                    sent += len(chunk)
            elapsed = time.monotonic() - started
            time.sleep(1.0)  # the other client keeps asking a while after the cut
        assert sent < 16 * 1024 * 1024, f"{sent} bytes were accepted"
        assert elapsed < 5
        assert latencies and max(latencies) < 1.0, latencies


def test_slow_loris_connections_are_closed_after_the_header_timeout(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store, LIMITED) as gateway:
        head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n".encode()
        trickling = [_connect(gateway) for _ in range(100)]
        silent = [_connect(gateway) for _ in range(100)]
        started = time.monotonic()
        closed_at: dict[int, float] = {}
        with _healthz_latency(gateway) as latencies:
            for sock in trickling:
                sock.sendall(head)
                sock.setblocking(False)
            for sock in silent:
                sock.setblocking(False)
            # One more header line every 0.2 s: never a complete head.
            while len(closed_at) < len(trickling) + len(silent) and time.monotonic() - started < 6:
                for index, sock in enumerate([*trickling, *silent]):
                    if index in closed_at:
                        continue
                    try:
                        if sock in trickling:
                            sock.send(b"X-Slow: 1\r\n")
                        data = sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except (BrokenPipeError, ConnectionResetError):
                        data = b""
                    if data == b"" or data.startswith(b"HTTP/1.1 408"):
                        closed_at[index] = time.monotonic() - started
                time.sleep(0.2)
        for sock in [*trickling, *silent]:
            sock.close()
        assert len(closed_at) == 200, f"{200 - len(closed_at)} connections still open after 6 s"
        assert min(closed_at.values()) > 0.9 and max(closed_at.values()) < 3.0
        assert latencies and max(latencies) < 1.0, latencies


def test_a_partial_head_gets_408_and_a_complete_one_is_served(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store, LIMITED) as gateway:
        with _connect(gateway) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            started = time.monotonic()
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408") and 0.9 < time.monotonic() - started < 3
        # Keep-alive: a second request on the same connection after a pause is still served.
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            first = http.get("/healthz")
            time.sleep(0.5)
            second = http.get("/healthz")
        assert first.status_code == second.status_code == 200
        assert "server" not in first.headers  # no server software or version disclosed


async def test_a_request_longer_than_the_header_timeout_is_not_cut(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "t")
    with serve_gateway(sqlite_store, LIMITED) as gateway:
        async with mcp_session(gateway.url("demo"), token) as session:
            result = await session.call_tool("toy__slow", {"seconds": 2.5})
            assert not result.is_error
            # The session's standalone GET stream outlived the header timeout too.
            assert not (await session.call_tool("toy__echo", {"text": "still here"})).is_error


def test_a_head_of_many_small_fields_is_cut_once_over_the_size(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store, LIMITED) as gateway, _connect(gateway) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n".encode())
        started, sent = time.monotonic(), 0
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while sent < 1024 * 1024:  # short, complete header lines; the head itself never ends
                sock.sendall(b"X-Filler: 0123456789\r\n" * 50)
                sent += 22 * 50
                time.sleep(0.001)
        answer = _read_all(sock)
        assert time.monotonic() - started < 0.9  # the size stopped it, not the 1 s head timeout
        assert sent < 64 * 1024, f"{sent} bytes were accepted"
        assert answer.startswith(b"HTTP/1.1 431") and b"request headers over 16384 bytes" in answer


def test_pipelined_requests_are_each_answered(sqlite_store: Store) -> None:
    with serve_gateway(sqlite_store, LIMITED) as gateway, _connect(gateway) as sock:
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{gateway.config.port}\r\n\r\n".encode()
        last = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        sock.sendall(request * 2 + last)
        answer = _read_all(sock)
    assert answer.count(b"HTTP/1.1 200") == 3, answer
