"""Replicas: tools/call through one and through two `mcpctl serve` processes on one PostgreSQL and one Redis.

Prints, for one replica and for two (sessions spread evenly): calls/s, p50/p99 latency and errors of
`--sessions` concurrent MCP sessions calling a stdio upstream back to back for `--duration` seconds, with
the per-token rate limit on and shared through Redis (a limit high enough never to refuse, so every call
pays the Redis round trip); the memory each open session costs a replica (RSS growth / sessions); and the
notify-to-reload latency: from an apply's commit to `tools/list_changed` reaching a session on each
replica, with polling every 30 s so only NOTIFY can be that fast.
Usage: python benchmarks/scale_bench.py [--sessions 200] [--duration 60] [--changes 10]
       (PostgreSQL: $MCPCTL_TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/test; Redis on
       127.0.0.1:6379)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gateway_bench
import httpx
from _net import free_port

POSTGRES_URL = os.environ.get("MCPCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = "redis://127.0.0.1:6379/0"
TOOL, ARGUMENTS = "up__echo", {"text": "ping"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def prepare(url: str) -> str:
    """Server `up` (the toy server on stdio), project `bench`, and a token; returns the token."""
    from mcpctl.schemas import McpToken, parse_resource
    from mcpctl.store import Store

    docs = [
        {
            "kind": "Server",
            "metadata": {"name": "up"},
            "spec": {"transport": "stdio", "command": sys.executable, "args": [str(gateway_bench.TOY)]},
        },
        {"kind": "Project", "metadata": {"name": "bench"}, "spec": {"servers": ["up"]}},
    ]
    with Store.open(url) as store, store.transaction(actor="bench") as tx:
        for doc in docs:
            tx.put(parse_resource({"apiVersion": "mcpctl.dev/v1", **doc}), managed_by="cli")
        token = parse_resource(
            {
                "apiVersion": "mcpctl.dev/v1",
                "kind": "McpToken",
                "metadata": {"name": "b", "project": "bench"},
                "spec": {"bindings": [{"role": "run", "resource": "servers"}]},
            }
        )
        assert isinstance(token, McpToken)
        return tx.create_token(token, managed_by="cli")


def apply_change(url: str, n: int) -> float:
    """Change the project (its instructions): every open session is told; returns the commit time."""
    from mcpctl.schemas import parse_resource
    from mcpctl.store import Store

    doc = {
        "kind": "Project",
        "metadata": {"name": "bench"},
        "spec": {"servers": ["up"], "instructions": str(n)},
    }
    with Store.open(url) as store:
        with store.transaction(actor="bench") as tx:
            tx.put(parse_resource({"apiVersion": "mcpctl.dev/v1", **doc}), managed_by="cli")
        return time.perf_counter()


async def load(urls: list[str], token: str, sessions: int, duration: float) -> dict[str, Any]:
    """`sessions` MCP sessions, spread round-robin over `urls`, calling the echo tool for `duration` s."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    latencies: list[float] = []
    errors = 0
    failed_sessions = 0
    barrier = asyncio.Barrier(sessions + 1)
    go = asyncio.Event()
    stop_at = [0.0]

    async def one(url: str) -> None:
        nonlocal errors, failed_sessions
        joined = False
        try:
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await session.call_tool(TOOL, ARGUMENTS)
                joined = True
                await barrier.wait()
                await go.wait()
                while time.perf_counter() < stop_at[0]:
                    started = time.perf_counter()
                    try:
                        if (await session.call_tool(TOOL, ARGUMENTS)).is_error:
                            errors += 1
                    except Exception:
                        errors += 1
                    latencies.append(time.perf_counter() - started)
        except Exception:  # a session that could not open (or close) is an error, not the end of the run
            if not joined:
                failed_sessions += 1
                await barrier.wait()

    tasks = [asyncio.create_task(one(urls[n % len(urls)])) for n in range(sessions)]
    await barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + duration
    go.set()
    await asyncio.gather(*tasks)
    result = gateway_bench.summarize(sessions, latencies, errors, time.perf_counter() - began)
    return {**result, "failed_sessions": failed_sessions}


async def session_memory(url: str, token: str, pid: int, sessions: int) -> float:
    """KiB of RSS per open (idle) session on the replica `pid`."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            _session(url, token, httpx2, ClientSession, streamable_http_client)
        )
        await first.call_tool(TOOL, ARGUMENTS)  # the upstream and the pipeline exist before we measure
        await asyncio.sleep(1)
        before = rss_kib(pid)
        for _ in range(sessions):
            await stack.enter_async_context(
                _session(url, token, httpx2, ClientSession, streamable_http_client)
            )
        await asyncio.sleep(1)
        return (rss_kib(pid) - before) / sessions


def _session(url: str, token: str, httpx2: Any, client_session: Any, transport: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def opened() -> Any:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http,
            transport(url, http_client=http) as (read, write),
            client_session(read, write) as session,
        ):
            await session.initialize()
            yield session

    return opened()


async def notify_latency(urls: list[str], token: str, store_url: str, changes: int) -> list[float]:
    """Seconds from each apply's commit to `tools/list_changed` on the slowest replica's session."""
    import httpx2
    import mcp_types as types
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    arrivals: list[list[float]] = [[] for _ in urls]
    lags: list[float] = []
    async with AsyncExitStack() as stack:
        for url, seen in zip(urls, arrivals, strict=True):

            async def on_message(message: Any, seen: list[float] = seen) -> None:
                if isinstance(message, types.ToolListChangedNotification):
                    seen.append(time.perf_counter())

            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
            )
            read, write = await stack.enter_async_context(streamable_http_client(url, http_client=http))
            session = await stack.enter_async_context(ClientSession(read, write, message_handler=on_message))
            await session.initialize()
        await asyncio.sleep(1)
        for n in range(changes):
            for seen in arrivals:
                seen.clear()
            committed = await asyncio.to_thread(apply_change, store_url, n)
            deadline = time.perf_counter() + 10
            while not all(arrivals) and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            if all(arrivals):
                lags.append(max(seen[0] for seen in arrivals) - committed)
            await asyncio.sleep(0.3)
    return lags


def replica_command(port: int, sessions: int) -> list[str]:
    return [
        *[gateway_bench.MCPCTL, "serve", "--port", str(port), "--log-level", "warning"],
        *["--poll-interval", "30", "--redis-url", REDIS_URL, "--rate-limit-per-token", "10000000"],
        # One token opens every session of the run (the default allows 100 per token).
        *["--max-sessions-per-token", str(sessions * 2 + 10)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--changes", type=int, default=10)
    options = parser.parse_args()

    import psycopg

    schema = f"mcpctl_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    store_url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        token = prepare(store_url)
        env = {"MCPCTL_DATABASE_URL": store_url}
        with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
            env["XDG_DATA_HOME"] = home
            ports = [free_port(), free_port()]
            processes = [
                stack.enter_context(gateway_bench.running(replica_command(p, options.sessions), p, env))
                for p in ports
            ]
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            for base in bases:
                httpx.get(f"{base}/readyz", timeout=30).raise_for_status()
            urls = [f"{base}/projects/bench/mcp" for base in bases]
            print(
                f"{options.sessions} sessions, {options.duration:.0f} s each, tools/call of a stdio upstream,"
            )
            print(
                "rate limit on and shared through Redis; PostgreSQL store; one 2-core machine for everything"
            )
            for label, targets in (("one replica", urls[:1]), ("two replicas", urls)):
                result = asyncio.run(load(targets, token, options.sessions, options.duration))
                print(
                    f"  {label:13s} {result['calls_per_s']:8.1f} calls/s  p50 {result['p50_ms']} ms  "
                    f"p99 {result['p99_ms']} ms  errors {result['errors']} of {result['calls']}, "
                    f"sessions that failed to open {result['failed_sessions']}"
                )
            per_session = asyncio.run(session_memory(urls[0], token, processes[0].pid, options.sessions))
            print(f"  memory per open session: {per_session:.1f} KiB ({options.sessions} idle sessions)")
            lags = asyncio.run(notify_latency(urls, token, store_url, options.changes))
            if lags:
                ms = sorted(lag * 1000 for lag in lags)
                print(
                    f"  apply -> tools/list_changed on both replicas (NOTIFY, poll every 30 s): "
                    f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} of "
                    f"{options.changes} changes"
                )
            else:
                print("  apply -> tools/list_changed: no change reached both replicas within 10 s")
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
