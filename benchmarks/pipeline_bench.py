"""The content pipeline's cost: a 1 MB tool result made a page index, a page fetch, the cache at its cap.

Prints (1) in process, the content layer's own time to page a 1 MB result and to answer one page; (2) through
the real gateway (SDK client over Streamable HTTP, the bulky test server on stdio), tools/call p50 of the
1 MB result whole (its project's limit above it), as an index, and of a page fetch: what a client sees the
index cost over the whole result; (3) the memory the result cache
holds at its cap: the bytes it counts and what tracemalloc measures for the same entries.
Usage: python benchmarks/pipeline_bench.py [--rounds 30] [--cap-mib 64]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
import mcp_types as types
from _net import free_port, serving_in_thread
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mcpctl.content import CachedResult, Part, ResultCache, new_result_id, split_pages
from mcpctl.gateway import AuthConfig, CallContext, GatewayConfig, LiveConfig, LlmSettings, create_app
from mcpctl.gateway._content import ContentLayer
from mcpctl.gateway._session import GatewaySession
from mcpctl.gateway._state import Snapshot
from mcpctl.llm import LlmProviders
from mcpctl.schemas import ProjectSpec, parse_resource
from mcpctl.store import Store

ROOT = Path(__file__).resolve().parents[1]
BULKY = ROOT / "tests" / "gateway" / "servers" / "bulky.py"
API = "mcpctl.dev/v1"
MB = 1_000_000


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(values) * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms"


async def in_process(rounds: int) -> None:
    text = ("Ω line of a large result with some words in it\n" * 30_000)[:MB]
    snapshot = Snapshot(1, projects={"p": ProjectSpec()})
    layer = ContentLayer(lambda: snapshot, ResultCache())

    async def closer(session: GatewaySession, reason: Any) -> None:
        return None

    session = GatewaySession("p", None, closer)
    session.opened("bench-session", None, None)
    call = CallContext(session=session, principal=None, method="tools/call", peer=cast(Any, None))
    upstream = types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    async def call_next(call: CallContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        return upstream

    index_times, page_times = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        index = await layer.call_tool(call, types.CallToolRequestParams(name="t", arguments={}), call_next)
        index_times.append(time.perf_counter() - started)
        assert index.structured_content is not None
        result_id, pages = index.structured_content["_resultId"], index.structured_content["pages"]
        for number in range(1, pages + 1):
            params = types.CallToolRequestParams(
                name="t", arguments={"_resultId": result_id, "_page": number}
            )
            started = time.perf_counter()
            await layer.call_tool(call, params, call_next)
            page_times.append(time.perf_counter() - started)
    print(f"in process, content layer only ({pages} pages of a 1 MB result):")
    print(f"  1 MB result -> index   {ms(index_times)}")
    print(f"  one page fetch         {ms(page_times)}")


def fill(store: Store) -> None:
    server = {"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]}
    docs: list[dict[str, Any]] = [
        {"apiVersion": API, "kind": "Server", "metadata": {"name": "bulky"}, "spec": server},
        {"apiVersion": API, "kind": "Project", "metadata": {"name": "paged"}, "spec": {"servers": ["bulky"]}},
        {
            "apiVersion": API,
            "kind": "Project",
            "metadata": {"name": "whole"},
            "spec": {"servers": ["bulky"], "pagination": {"maxResponseChars": 2 * MB}},
        },
    ]
    with store.transaction(actor="bench") as tx:
        for doc in docs:
            tx.put(parse_resource(doc), managed_by="gitops:bench")


@contextmanager
def gateway(store: Store) -> Iterator[str]:
    port = free_port()
    config = GatewayConfig(
        host="127.0.0.1",
        port=port,
        auth=AuthConfig(enabled=False),
        live=LiveConfig(poll_interval_seconds=0.5),
        llm=LlmSettings(providers=LlmProviders.from_config(None)),
    )
    with serving_in_thread(create_app(config, store=store), port):
        yield f"http://127.0.0.1:{port}/projects"


async def timed(session: ClientSession, name: str, arguments: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await session.call_tool(name, arguments)
    return time.perf_counter() - started, result


async def through_gateway(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        store = Store.open(f"sqlite:///{work}/store.db")
        try:
            fill(store)
            with gateway(store) as base:
                async with httpx2.AsyncClient(timeout=120) as http:
                    figures: dict[str, list[float]] = {"whole": [], "index": [], "page": []}
                    for project in ("whole", "paged"):
                        async with (
                            streamable_http_client(f"{base}/{project}/mcp", http_client=http) as (
                                read,
                                write,
                            ),
                            ClientSession(read, write) as session,
                        ):
                            await session.initialize()
                            arguments = {"chars": MB, "seed": 1}
                            await session.call_tool("bulky__bulky", arguments)  # warm: upstream started
                            for _ in range(rounds):
                                seconds, result = await timed(session, "bulky__bulky", arguments)
                                figures["whole" if project == "whole" else "index"].append(seconds)
                                if project == "paged":
                                    result_id = result.structured_content["_resultId"]
                                    for number in range(1, result.structured_content["pages"] + 1):
                                        fetch = {"_resultId": result_id, "_page": number}
                                        seconds, _ = await timed(session, "bulky__bulky", fetch)
                                        figures["page"].append(seconds)
        finally:
            store.close()
    whole, index = statistics.median(figures["whole"]), statistics.median(figures["index"])
    print("through the gateway (client over Streamable HTTP, upstream on stdio):")
    print(f"  1 MB result whole      {ms(figures['whole'])}")
    print(f"  1 MB result as index   {ms(figures['index'])}")
    print(f"  one page (40,000 ch.)  {ms(figures['page'])}")
    print(f"  index instead of the whole result: {(index - whole) * 1000:+.2f} ms at p50")


def memory_at_cap(cap_mib: int) -> None:
    cap = cap_mib * 1024 * 1024
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cache = ResultCache(max_bytes=cap)
    seed = 0
    while cache.bytes < cap * 0.95 and seed < 10_000:
        # A fresh string per entry (nothing shared), as results from upstreams are.
        text = f"{seed:08d} " + "eé😀"[seed % 3] * (MB - 9)
        parts = tuple(Part(f"Page {i}", page) for i, page in enumerate(split_pages(text, 40_000), 1))
        cache.put(CachedResult(new_result_id(), "p", f"s{seed % 50}", "tool", "t", "page", parts))
        del text, parts
        seed += 1
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"result cache at its cap ({cap_mib} MiB, entries of 1 MB: ASCII, Latin-1, emoji text):")
    print(f"  entries {len(cache)}, counted {cache.bytes / 2**20:.1f} MiB, measured {held / 2**20:.1f} MiB")
    print(f"  measured / cap = {held / cap:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cap-mib", type=int, default=64)
    options = parser.parse_args()
    anyio.run(in_process, options.rounds)
    anyio.run(through_gateway, max(5, options.rounds // 3))
    memory_at_cap(options.cap_mib)


if __name__ == "__main__":
    main()
