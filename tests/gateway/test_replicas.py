"""Two `mcpctl serve` processes on one PostgreSQL store and one Redis, as replicas behind a proxy.

The replicas poll the store only every 30 s and keep token lookups for 30 s: what reaches both within
1 s can only have come through the store's NOTIFY.
"""

from __future__ import annotations

import math
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import mcp_types as types
import psycopg
import pytest
import redis

from gateway.gateway_harness import (
    INITIALIZE,
    create_token,
    free_port,
    mcp_session,
    project_doc,
    put,
    server_doc,
    stop,
    token_doc,
    wait_healthy,
)
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = os.environ.get("MCPCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""As tests/conftest.py: the module's schema is made on this database."""
MCPCTL = str(Path(sys.executable).parent / "mcpctl")
BOUND = 1.0
"""Seconds within which a change must be served by every replica (issue 17)."""
ACCEPT = {"Accept": "application/json, text/event-stream"}


@dataclass
class Replica:
    base: str
    process: subprocess.Popen[str]

    def url(self, project: str) -> str:
        return f"{self.base}/projects/{project}/mcp"


@pytest.fixture(scope="module")
def store_url(_postgres_reachable: str | None) -> Iterator[str]:
    """One PostgreSQL store for the module's replicas (they take a while to start on a busy machine)."""
    if _postgres_reachable is not None:
        pytest.skip(_postgres_reachable)
    schema = f"mcpctl_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def replicas(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    """Two gateways on the same store and Redis, with slow polls and long token caches."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {error}")
    Store.open(store_url).close()  # migrated once, before two processes race to do it
    data = tmp_path_factory.mktemp("replicas")
    env = {**os.environ, "MCPCTL_DATABASE_URL": store_url, "XDG_DATA_HOME": str(data)}
    started: list[Replica] = []
    try:
        for _ in range(2):
            port = free_port()
            command = [MCPCTL, "serve", "--port", str(port), "--log-level", "warning"]
            command += ["--poll-interval", "30", "--token-cache-ttl", "30"]
            command += ["--rate-limit-per-token", "60", "--redis-url", REDIS_URL]
            log = (data / f"serve-{port}.log").open("w")
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
            started.append(Replica(f"http://127.0.0.1:{port}", process))
        for replica in started:
            wait_healthy(replica.base, replica.process, timeout=120)  # imports are slow on a busy machine
        yield started
    finally:
        for replica in started:
            stop(replica.process)


def _post(url: str, token: str, body: dict[str, Any] = INITIALIZE, **headers: str) -> httpx.Response:
    return httpx.post(
        url, headers={"Authorization": f"Bearer {token}", **ACCEPT, **headers}, json=body, timeout=10
    )


async def _within(check: Callable[[], bool], limit: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < limit, f"not within {limit} s"
        await anyio.sleep(0.02)
    return time.monotonic() - started


async def test_an_apply_reaches_the_sessions_of_both_replicas_within_a_second(
    replicas: list[Replica], store_url: str, toy_stdio: Callable[..., ServerSpec]
) -> None:
    with Store.open(store_url) as store:
        put(store, server_doc("alpha", toy_stdio(env={"TOY_NAME": "alpha"})), project_doc("demo", ["alpha"]))
        token = create_token(store, "demo", "t")
        await anyio.sleep(0.5)  # the NOTIFY of the setup itself
        told: list[list[Any]] = [[], []]
        async with AsyncExitStack() as stack:
            sessions = []
            for replica, seen in zip(replicas, told, strict=True):

                async def on_message(message: Any, seen: list[Any] = seen) -> None:
                    if isinstance(message, types.ToolListChangedNotification):
                        seen.append(time.monotonic())

                session = await stack.enter_async_context(
                    mcp_session(replica.url("demo"), token, message_handler=on_message)
                )
                assert "alpha__echo" in {t.name for t in (await session.list_tools()).tools}
                sessions.append(session)
            await anyio.sleep(0.3)  # both GET streams open
            applied = time.monotonic()
            await anyio.to_thread.run_sync(
                put,
                store,
                server_doc("beta", toy_stdio(env={"TOY_NAME": "beta"})),
                project_doc("demo", ["alpha", "beta"]),
            )
            await _within(lambda: all(told), BOUND)
            lags = [seen[0] - applied for seen in told]
            print(f"tools/list_changed on both replicas {max(lags) * 1000:.0f} ms after the apply")
            for session in sessions:
                assert "beta__echo" in {t.name for t in (await session.list_tools()).tools}


async def test_a_revoked_token_is_refused_by_both_replicas_within_a_second(
    replicas: list[Replica], store_url: str
) -> None:
    with Store.open(store_url) as store:
        put(store, project_doc("revoke", []))
        token = create_token(store, "revoke", "leaving")
        await anyio.sleep(0.5)
        for replica in replicas:  # both now hold the token in their 30 s cache
            assert _post(replica.url("revoke"), token).status_code == 200
        revoked = time.monotonic()
        put(store, token_doc("revoke", "leaving", revoked=True))

        def refused_by_both() -> bool:
            return all(_post(r.url("revoke"), token).status_code == 401 for r in replicas)

        await _within(refused_by_both, BOUND)
        print(f"revocation refused by both replicas {(time.monotonic() - revoked) * 1000:.0f} ms after")


async def test_a_per_token_limit_is_shared_by_both_replicas(replicas: list[Replica], store_url: str) -> None:
    with Store.open(store_url) as store:
        put(store, project_doc("limits", []))
        token = create_token(store, "limits", "busy")
        other = create_token(store, "limits", "calm")
    await anyio.sleep(0.5)
    statuses: list[int] = [0] * 100
    waits: list[int] = []
    headers = {"Authorization": f"Bearer {token}", **ACCEPT}

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        in_flight = anyio.Semaphore(20)  # clients of one token, 20 requests at a time

        async def one(n: int) -> None:
            async with in_flight:
                response = await client.post(replicas[n % 2].url("limits"), json=INITIALIZE)
            statuses[n] = response.status_code
            if response.status_code == 429:
                waits.append(int(response.headers["retry-after"]))

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for n in range(100):
                group.start_soon(one, n)
        took = time.monotonic() - started
    allowed = statuses.count(200)
    print(f"60/min across two replicas: {allowed} of 100 requests allowed in {took:.1f} s")
    # A burst of 60, plus one more per second the requests took (the bucket refills at 1/s).
    counted = [httpx.get(f"{r.base}/metrics", timeout=10).text for r in replicas]
    assert all('counter="local"' not in text for text in counted), "a replica fell back to local counts"
    assert 60 <= allowed <= 60 + math.ceil(took) + 1, statuses
    assert statuses.count(429) == 100 - allowed
    assert all(200 in statuses[start::2] for start in (0, 1))  # both replicas drew on the one bucket
    assert len(waits) == 100 - allowed and all(wait == 1 for wait in waits)  # one request per second
    assert _post(replicas[0].url("limits"), other).status_code == 200


async def test_a_session_of_one_replica_is_unknown_to_the_other(
    replicas: list[Replica], store_url: str
) -> None:
    with Store.open(store_url) as store:
        put(store, project_doc("affinity", []))
        token = create_token(store, "affinity", "t")
    await anyio.sleep(0.5)
    first, second = replicas
    opened = _post(first.url("affinity"), token)
    session_id = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    assert _post(first.url("affinity"), token, listing, **{"Mcp-Session-Id": session_id}).status_code == 200
    # The proxy sent the session elsewhere (its replica died, or affinity broke): 404, so the client
    # initializes a new session there, as MCP requires of clients.
    elsewhere = _post(second.url("affinity"), token, listing, **{"Mcp-Session-Id": session_id})
    assert elsewhere.status_code == 404
    again = _post(second.url("affinity"), token)
    assert again.status_code == 200 and again.headers["mcp-session-id"] != session_id
