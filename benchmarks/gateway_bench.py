"""Gateway overhead: one upstream called directly and through `mcpctl serve`, in one run.

Prints p50/p99 latency and calls/s of tools/call at 1, 16 and 64 concurrent sessions, and the ratios, for
the upstream reached over Streamable HTTP and over stdio. Direct over stdio means one session to the upstream
process with that many concurrent callers, which is what the gateway's pool does behind its client sessions.
The load client is the Python SDK's (`--client sdk`) or a lean one (`--client lean`), whose lower CPU cost
leaves more of a small machine to the gateway. The gateway's CPU per call is the figure noise moves least.
Usage: python benchmarks/gateway_bench.py [--duration 5] [--concurrency 1,16,64]
       [--upstream everything|toy|memory] [--transport both|http|stdio] [--client sdk|lean]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from _net import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "gateway" / "servers" / "toy.py"
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"
MCPCTL = str(Path(sys.executable).parent / "mcpctl")
GOALS = {"added_p50_ms": 2.0, "calls_per_s_at_64": 500.0}
"""Goals of the gateway issue: ≤ 2 ms added at p50; ≥ 500 tools/call/s with 64 sessions, no errors."""


@contextmanager
def running(command: list[str], port: int, env: dict[str, str] | None = None) -> Any:
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upstream_command(kind: str, port: int) -> tuple[list[str], dict[str, str], str, dict[str, Any]]:
    """Command, env, MCP URL and the echo call's (tool, arguments) for the chosen upstream."""
    if kind == "everything":
        return (
            [str(EVERYTHING), "streamableHttp"],
            {"PORT": str(port)},
            f"http://127.0.0.1:{port}/mcp",
            {"tool": "echo", "arguments": {"message": "ping"}},
        )
    command = [sys.executable, str(TOY), "--transport", "streamable-http", "--port", str(port)]
    return command, {}, f"http://127.0.0.1:{port}/mcp", {"tool": "echo", "arguments": {"text": "ping"}}


Call = Callable[[str, dict[str, Any]], Awaitable[bool]]
"""One session's tools/call: True when the answer is an error."""


@asynccontextmanager
async def sdk_session(url: str, token: str | None) -> AsyncIterator[Call]:
    """A session of the Python SDK's client, as most MCP clients in Python run."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()

        async def call(tool: str, arguments: dict[str, Any]) -> bool:
            return (await session.call_tool(tool, arguments)).is_error

        yield call


@asynccontextmanager
async def lean_session(url: str, token: str | None) -> AsyncIterator[Call]:
    """A minimal MCP client: initialize, then one POST per tools/call with its answer read whole.

    It spends about a third of the SDK client's CPU per call, which leaves the shared cores to the
    gateway and the upstream: the calls/s it reaches say more about the gateway than the SDK's do."""
    import httpx2

    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    hello = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    }
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        opened = await http.post(
            url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}
        )
        opened.raise_for_status()
        session = {
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": _answer(opened)["result"]["protocolVersion"],
        }
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        ids = itertools.count(1)

        async def call(tool: str, arguments: dict[str, Any]) -> bool:
            params = {"name": tool, "arguments": arguments}
            request = {"jsonrpc": "2.0", "id": next(ids), "method": "tools/call", "params": params}
            message = _answer(await http.post(url, json=request, headers=session))
            return "error" in message or bool(message["result"].get("isError"))

        try:
            yield call
        finally:
            await http.delete(url, headers=session)


def _answer(response: Any) -> dict[str, Any]:
    """The JSON-RPC answer in a JSON body, or the last message of an SSE body."""
    response.raise_for_status()
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()  # type: ignore[no-any-return]
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return json.loads(data[-1])  # type: ignore[no-any-return]


CLIENTS = {"sdk": sdk_session, "lean": lean_session}


async def load(
    url: str,
    token: str | None,
    tool: str,
    arguments: dict[str, Any],
    sessions: int,
    duration: float,
    cpu_pid: int | None = None,
    client: str = "sdk",
) -> dict[str, Any]:
    """`sessions` concurrent MCP sessions calling `tool` back to back for `duration` seconds.

    With `cpu_pid`, adds that process's CPU seconds over the load window alone (`cpu_s`): session setup,
    warm-up calls and teardown stay out, and so does this client's own CPU, which runs in another process."""
    latencies: list[float] = []
    errors = 0
    ready = asyncio.Event()
    start_barrier = asyncio.Barrier(sessions + 1)
    stop_at = [0.0]

    async def one() -> None:
        nonlocal errors
        async with CLIENTS[client](url, token) as call:
            await call(tool, arguments)  # warm-up: lazy upstream start, caches
            await start_barrier.wait()
            await ready.wait()
            while time.perf_counter() < stop_at[0]:
                started = time.perf_counter()
                try:
                    if await call(tool, arguments):
                        errors += 1
                except Exception:
                    errors += 1
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(one()) for _ in range(sessions)]
    await start_barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + duration
    cpu_began = cpu_seconds(cpu_pid) if cpu_pid else 0.0
    ready.set()
    await asyncio.sleep(duration)
    # Calls still in flight at the end straddle the window; at 64 sessions that is < 1 % of the calls.
    cpu_spent = cpu_seconds(cpu_pid) - cpu_began if cpu_pid else None
    elapsed = time.perf_counter() - began
    await asyncio.gather(*tasks)
    summary = summarize(sessions, latencies, errors, elapsed)
    if cpu_spent is not None:
        summary["cpu_s"] = cpu_spent
    return summary


async def load_stdio(
    command: list[str], tool: str, arguments: dict[str, Any], callers: int, duration: float
) -> dict[str, Any]:
    """`callers` concurrent callers on one stdio session to the upstream, for `duration` seconds."""
    from mcp import StdioServerParameters, stdio_client
    from mcp.client.session import ClientSession

    latencies: list[float] = []
    errors = 0
    params = StdioServerParameters(command=command[0], args=command[1:])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool(tool, arguments)
        stop_at = time.perf_counter() + duration

        async def one() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    if (await session.call_tool(tool, arguments)).is_error:
                        errors += 1
                except Exception:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(callers)))
        elapsed = time.perf_counter() - began
    return summarize(callers, latencies, errors, elapsed)


def summarize(sessions: int, latencies: list[float], errors: int, elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "sessions": sessions,
        "calls": len(latencies),
        "errors": errors,
        "calls_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)
        if ordered
        else None,
    }


def prepare_store(directory: Path, upstream: dict[str, Any]) -> tuple[str, str]:
    """A SQLite store with server `up` (spec `upstream`), a project and a token; returns (URL, token)."""
    from mcpctl.schemas import McpToken, parse_resource
    from mcpctl.store import Store

    url = f"sqlite:///{directory / 'bench.db'}"
    with Store.open(url) as store, store.transaction(actor="bench") as tx:
        for doc in (
            {
                "kind": "Server",
                "metadata": {"name": "up"},
                "spec": upstream,
            },
            {"kind": "Project", "metadata": {"name": "bench"}, "spec": {"servers": ["up"]}},
        ):
            tx.put(parse_resource({"apiVersion": "mcpctl.dev/v1", **doc}), managed_by="cli")
        token_resource = parse_resource(
            {
                "apiVersion": "mcpctl.dev/v1",
                "kind": "McpToken",
                "metadata": {"name": "bench", "project": "bench"},
                # RBAC is enforced: the token may run every server of its project.
                "spec": {"bindings": [{"role": "run", "resource": "servers"}]},
            }
        )
        assert isinstance(token_resource, McpToken)
        token = tx.create_token(token_resource, managed_by="cli")
    return url, token


def serve_with_memory_upstream(database_url: str, port: int, *, enforce: bool = True) -> None:
    """Run the gateway app over an in-memory upstream (instant echo), to weigh the gateway's own share.

    `enforce=False` leaves out the policy layer (benchmarks/policy_bench.py weighs it)."""
    import mcp_types as types
    import uvicorn

    from mcpctl._gc import tune_for_server
    from mcpctl.gateway import GatewayConfig, PolicyConfig, RateLimitConfig, create_app, uvicorn_config
    from mcpctl.store import Store

    class MemoryUpstreams:
        """Answers like an upstream with one `echo` tool, without any I/O."""

        tools = [types.Tool(name="echo", description="Echo.", input_schema={"type": "object"})]

        async def sync(self, servers: Any) -> None:
            return None

        async def list_tools(self, server: str, *, call: Any = None) -> list[types.Tool]:
            return self.tools

        async def has_tool(self, server: str, name: str, *, call: Any = None) -> bool:
            return any(tool.name == name for tool in self.tools)

        async def call_tool(
            self, server: str, name: str, arguments: Any, *, call: Any = None
        ) -> types.CallToolResult:
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(arguments))])

        def capabilities(self, server: str) -> None:
            return None

        def status(self) -> dict[str, Any]:
            return {}

        async def probe(self, server: str) -> bool:
            return True

        async def aclose(self) -> None:
            return None

    # measured is the gateway, not the rate limit
    config = GatewayConfig(port=port, policy=PolicyConfig(enforce=enforce), rate_limit=RateLimitConfig(0))
    app = create_app(config, store=Store.open(database_url), pool=MemoryUpstreams())  # type: ignore[arg-type]
    tune_for_server()  # as `mcpctl serve` does
    # The settings `mcpctl serve` runs with (its head-limited h11 parser among them).
    served = uvicorn_config(app, dataclasses.replace(config, host="127.0.0.1"), log_level="warning")
    uvicorn.Server(served).run()


def measure(options: argparse.Namespace, transport: str, levels: list[int]) -> list[dict[str, Any]]:
    """Direct vs through-the-gateway rows, one per concurrency level, for one upstream transport."""
    upstream_port, gateway_port = free_port(), free_port()
    kind = "toy" if options.upstream == "memory" else options.upstream
    command, env, upstream_url, call = upstream_command(kind, upstream_port)
    tool, arguments = call["tool"], call["arguments"]
    stdio_command = [str(EVERYTHING), "stdio"] if kind == "everything" else [sys.executable, str(TOY)]
    upstream = (
        {"transport": "stdio", "command": stdio_command[0], "args": stdio_command[1:]}
        if transport == "stdio"
        else {"transport": "streamable-http", "url": upstream_url}
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running(command, upstream_port, env):
        database_url, token = prepare_store(Path(tmp), upstream)
        # The default per-token limit (2,000/min) would refuse most of the load: measured is the gateway.
        serve = [MCPCTL, "serve", "--port", str(gateway_port), "--log-level", "warning"]
        serve += ["--rate-limit-per-token", "0"]
        if options.upstream == "memory":
            serve = [sys.executable, __file__, "--serve-memory-gateway", database_url, str(gateway_port)]
        with running(serve, gateway_port, {"MCPCTL_DATABASE_URL": database_url}) as gateway_process:
            gateway_url = f"http://127.0.0.1:{gateway_port}/projects/bench/mcp"
            httpx.get(f"http://127.0.0.1:{gateway_port}/healthz", timeout=10).raise_for_status()
            for sessions in levels:
                # Interleaved per level, so both sides see the same machine state.
                seconds = options.duration
                if transport == "stdio":
                    direct = asyncio.run(load_stdio(stdio_command, tool, arguments, sessions, seconds))
                else:
                    direct = asyncio.run(
                        load(upstream_url, None, tool, arguments, sessions, seconds, client=options.client)
                    )
                through = asyncio.run(
                    load(
                        gateway_url,
                        token,
                        f"up__{tool}",
                        arguments,
                        sessions,
                        seconds,
                        gateway_process.pid,
                        client=options.client,
                    )
                )
                # The gateway's CPU over the load window divided by the calls it proxied in that window.
                spent = through.pop("cpu_s")
                through["gateway_cpu_ms_per_call"] = round(spent * 1000 / max(1, through["calls"]), 2)
                rows.append(
                    {
                        "sessions": sessions,
                        "direct": direct,
                        "gateway": through,
                        "added_p50_ms": round(through["p50_ms"] - direct["p50_ms"], 2),
                        "throughput_ratio": round(through["calls_per_s"] / direct["calls_per_s"], 2),
                    }
                )
    return rows


def print_table(upstream: str, transport: str, duration: float, rows: list[dict[str, Any]]) -> None:
    print(f"\nupstream: {upstream} over {transport}, {duration:g} s per level")
    header = (
        f"{'sessions':>8} | {'direct p50':>10} {'p99':>8} {'calls/s':>8} | {'gateway p50':>11} {'p99':>8} "
        f"{'calls/s':>8} {'errors':>6} {'gw cpu/call':>11} | {'added p50':>9} {'gw/direct':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        d, g = row["direct"], row["gateway"]
        print(
            f"{row['sessions']:>8} | {d['p50_ms']:>8.2f}ms {d['p99_ms']:>6.2f}ms {d['calls_per_s']:>8.0f} | "
            f"{g['p50_ms']:>9.2f}ms {g['p99_ms']:>6.2f}ms {g['calls_per_s']:>8.0f} {g['errors']:>6} "
            f"{g['gateway_cpu_ms_per_call']:>9.2f}ms | "
            f"{row['added_p50_ms']:>7.2f}ms {row['throughput_ratio']:>9.2f}"
        )


def main() -> None:
    if sys.argv[1:2] == ["--serve-memory-gateway"]:
        serve_with_memory_upstream(sys.argv[2], int(sys.argv[3]), enforce="--no-policy" not in sys.argv[4:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds of load per level (default 5).")
    parser.add_argument("--concurrency", default="1,16,64", help="Concurrent sessions per level.")
    parser.add_argument(
        "--upstream",
        choices=["toy", "everything", "memory"],
        default="everything",
        help="everything: npm server-everything (default); toy: our Python test server; memory: no upstream "
        "I/O at all (the gateway's own cost; the direct column then repeats the toy server)",
    )
    parser.add_argument(
        "--transport",
        choices=["both", "http", "stdio"],
        default="both",
        help="How the gateway (and the direct client) reach the upstream.",
    )
    parser.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="sdk",
        help="The load's MCP client: sdk (the Python SDK's, default) or lean (one POST per call; leaves "
        "more of the shared cores to the gateway). Streamable HTTP only; stdio direct runs the SDK's.",
    )
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    options = parser.parse_args()
    levels = [int(n) for n in options.concurrency.split(",")]
    if options.upstream == "everything" and not EVERYTHING.exists():
        print(f"{EVERYTHING} is missing; using --upstream toy", file=sys.stderr)
        options.upstream = "toy"
    transports = ["http", "stdio"] if options.transport == "both" else [options.transport]
    if options.upstream == "memory":
        transports = ["http"]
    results = {transport: measure(options, transport, levels) for transport in transports}
    report = {
        "upstream": options.upstream,
        "duration_s": options.duration,
        "cpus": os.cpu_count(),
        "client": options.client,
        "goals": GOALS,
        "transports": results,
    }
    if options.output == "json":
        print(json.dumps(report, indent=2))
        return
    print(
        f"load average at the end: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs shared by the load "
        "client, the gateway and the upstream (other work on the machine skews every figure)"
    )
    for transport, rows in results.items():
        print_table(f"{options.upstream} ({options.client} client)", transport, options.duration, rows)
    print(
        f"\ngoals: added p50 <= {GOALS['added_p50_ms']} ms; "
        f">= {GOALS['calls_per_s_at_64']:.0f} calls/s at 64 sessions, no errors"
    )


if __name__ == "__main__":
    main()
