"""Hostile clients against a real `mcpctl serve`: the figures of the hardening issue, measured again.

Prints, as JSON: a 100 MB `Authorization` header (bytes the gateway accepted, seconds until it cut the
connection, its RSS before and after, the slowest `/healthz` of another client meanwhile); N slow-loris
sockets (how many the gateway closed, and when); `/metrics` size before and after 3,000 requests with
invented method names; `tools/list` latency with one hung upstream (first list and the next).
Usage: python benchmarks/hostile_bench.py [--slow-loris 1000] [--header-timeout 10] [--list-deadline 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _net import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "gateway")]  # the harness imports tests/_samples
from gateway_harness import (  # noqa: E402  (the tests' store helpers)
    INITIALIZE,
    TOY,
    create_token,
    project_doc,
    put,
    server_doc,
)

from mcpctl.schemas import ServerSpec  # noqa: E402
from mcpctl.store import Store  # noqa: E402

MCPCTL = str(Path(sys.executable).parent / "mcpctl")
ACCEPT = {"Accept": "application/json, text/event-stream"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def healthz_watch(base: str) -> Iterator[list[float]]:
    seen: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                started = time.monotonic()
                http.get("/healthz")
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
        thread.join(30)
        del seen[:first]  # only the answers given while the attack ran


def huge_header(port: int, pid: int, base: str) -> dict[str, Any]:
    before = rss_mb(pid)
    sent = 0
    with healthz_watch(base) as latencies, socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        chunk = b"a" * 65536
        try:
            sock.sendall(
                f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer ".encode()
            )
            while sent < 100 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        seconds = time.monotonic() - started
        time.sleep(2.0)  # keep probing a little after the cut
    return {
        "accepted_bytes": sent,
        "cut_after_s": round(seconds, 3),
        "rss_mb_before": round(before, 1),
        "rss_mb_after": round(rss_mb(pid), 1),
        "healthz_max_s": round(max(latencies), 3) if latencies else None,
    }


def slow_loris(port: int, count: int, timeout: float) -> dict[str, Any]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: 1\r\n")
        sock.setblocking(False)
        socks.append(sock)
    started = time.monotonic()
    closed: dict[int, float] = {}
    while len(closed) < count and time.monotonic() - started < timeout + 10:
        for index, sock in enumerate(socks):
            if index in closed:
                continue
            try:
                sock.send(b"X-Slow: 1\r\n")
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data == b"" or data.startswith(b"HTTP/1.1 408"):
                closed[index] = time.monotonic() - started
        time.sleep(0.5)
    for sock in socks:
        sock.close()
    times = sorted(closed.values())
    return {
        "sockets": count,
        "closed_by_gateway": len(closed),
        "first_closed_s": round(times[0], 2) if times else None,
        "last_closed_s": round(times[-1], 2) if times else None,
    }


def invented_methods(url: str, base: str, token: str, count: int = 3000) -> dict[str, Any]:
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as http:
        opened = http.post(url, headers=headers, json=INITIALIZE)
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        before = len(http.get(f"{base}/metrics").content)
        for i in range(count):
            http.post(
                url, headers=headers, json={"jsonrpc": "2.0", "id": i + 2, "method": f"x/{i}-" + "y" * 20000}
            )
        after = len(http.get(f"{base}/metrics").content)
        http.delete(url, headers=headers)
    return {"requests": count, "metrics_bytes_before": before, "metrics_bytes_after": after}


def hung_list(url: str, token: str) -> dict[str, Any]:
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=60) as http:
        opened = http.post(url, headers=headers, json=INITIALIZE)
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        # Start alpha (a tools/call lists only its own server), so only the hung one is slow.
        call = {"name": "alpha__echo", "arguments": {"text": "warm"}}
        http.post(
            url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
        )
        timings = []
        for request_id in (2, 3):
            started = time.monotonic()
            listed = http.post(
                url, headers=headers, json={"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}
            )
            timings.append(time.monotonic() - started)
            answer = listed.json()
            if "result" not in answer:
                raise SystemExit(f"tools/list failed: HTTP {listed.status_code} {answer.get('error')}")
            names = [t["name"] for t in answer["result"]["tools"]]
        http.delete(url, headers=headers)
    return {
        "first_list_s": round(timings[0], 3),
        "next_list_s": round(timings[1], 3),
        "hung_server_listed": any(n.startswith("hung__") for n in names),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow-loris", type=int, default=1000)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--list-deadline", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        toy = {"transport": "stdio", "command": sys.executable, "args": [str(TOY)]}
        hung = {**toy, "env": {"TOY_LIST_SECONDS": "60"}, "timeouts": {"callSeconds": 90}}
        with Store.open(database) as store:
            put(
                store,
                server_doc("alpha", ServerSpec.model_validate(toy)),
                server_doc("hung", ServerSpec.model_validate(hung)),
                project_doc("demo", ["alpha", "hung"]),
            )
            token = create_token(store, "demo", "bench")
        port = free_port()
        command = [
            MCPCTL, "serve", "--port", str(port), "--database-url", database, "--log-level", "error",
            "--header-timeout", str(args.header_timeout), "--list-deadline", str(args.list_deadline),
            "--max-sessions-per-token", "10000",
            # 3,000 invented methods pass the default 2,000 requests a minute: the limit is measured apart.
            "--rate-limit-per-token", "0",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port, process)
            base = f"http://127.0.0.1:{port}"
            url = f"{base}/projects/demo/mcp"
            results = {
                "huge_header": huge_header(port, process.pid, base),
                "slow_loris": slow_loris(port, args.slow_loris, args.header_timeout),
                "invented_methods": invented_methods(url, base, token),
                "hung_upstream_list": hung_list(url, token),
            }
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
