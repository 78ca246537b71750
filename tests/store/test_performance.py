"""Bulk speed on both databases: 10,000 puts in one transaction and listing them back.

Goals (issue): 10,000 puts well under 10 s, listing 10,000 well under 1 s. The bounds asserted here are
looser so a busy CI machine does not flake; run with `-s` to see the figures.
"""

from __future__ import annotations

import time

from mcpctl.schemas import Identity, ResourceModel, parse_resource
from mcpctl.store import Store

N = 10_000


def servers(command: str) -> list[ResourceModel]:
    return [
        parse_resource(
            {
                "apiVersion": "mcpctl.dev/v1",
                "kind": "Server",
                "metadata": {"name": f"server-{i:05d}", "labels": {"team": f"t{i % 7}"}},
                "spec": {"transport": "stdio", "command": command, "args": ["-n", str(i)], "env": {"K": "v"}},
            }
        )
        for i in range(N)
    ]


def test_ten_thousand_puts_and_a_list(store: Store, database_url: str) -> None:
    backend = database_url.split(":")[0]
    figures: dict[str, float] = {}
    created = servers("mcp-server-time")
    started = time.perf_counter()
    with store.transaction() as tx:
        for resource in created:
            tx.put(resource, managed_by="cli")
    figures["create 10k"] = time.perf_counter() - started

    started = time.perf_counter()
    live = store.list_resources()
    figures["list 10k"] = time.perf_counter() - started
    assert len(live) == N and live[0].resource == created[0]

    changed = servers("other")
    started = time.perf_counter()
    with store.transaction() as tx:
        for resource in changed:
            tx.put(resource, managed_by="cli")
        for i in range(0, N, 10):
            tx.delete(Identity("Server", None, f"server-{i:05d}"))
    figures["update 9k + delete 1k"] = time.perf_counter() - started
    assert len(store.list_resources("Server")) == N - N // 10
    assert store.generation() == 2

    print(f"\n{backend}: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in figures.items()))
    assert figures["create 10k"] < 10
    assert figures["update 9k + delete 1k"] < 10
    assert figures["list 10k"] < 3
