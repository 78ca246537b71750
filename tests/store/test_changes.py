"""Change notifications: a committed change is announced on PostgreSQL at once, nothing else is."""

from __future__ import annotations

import re
import secrets

import anyio
import anyio.to_thread
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream

from mcpctl.schemas import parse_resource
from mcpctl.store import ChangeFeed, Store
from mcpctl.store._changes import libpq_url


def _put_server(store: Store, name: str, command: str = "echo") -> None:
    doc = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Server",
        "metadata": {"name": name},
        "spec": {"transport": "stdio", "command": command},
    }
    with store.transaction(actor="test") as tx:
        tx.put(parse_resource(doc), managed_by="gitops:test")


async def _next(changes: MemoryObjectReceiveStream[int], timeout: float = 5.0) -> int | None:
    """The next generation announced, or None when none arrives within `timeout`."""
    with anyio.move_on_after(timeout):
        return await changes.receive()
    return None


def test_sqlite_has_no_feed(sqlite_database_url: str) -> None:
    with Store.open(sqlite_database_url) as store:
        assert store.change_feed() is None


def test_a_commit_is_announced_with_its_generation_and_a_rollback_is_not(postgres_database_url: str) -> None:
    async def main() -> None:
        with Store.open(postgres_database_url) as store:
            feed = store.change_feed()
            assert isinstance(feed, ChangeFeed)
            async with feed.listen() as changes:
                await anyio.to_thread.run_sync(_put_server, store, "a")
                assert await _next(changes) == store.generation() == 1

                def failing() -> None:
                    with store.transaction(actor="test") as tx:
                        tx.put(
                            parse_resource(
                                {
                                    "apiVersion": "mcpctl.dev/v1",
                                    "kind": "Server",
                                    "metadata": {"name": "b"},
                                    "spec": {"transport": "stdio", "command": "echo"},
                                }
                            ),
                            managed_by="gitops:test",
                        )
                        raise RuntimeError("abort")

                with pytest.raises(RuntimeError):
                    await anyio.to_thread.run_sync(failing)
                assert await _next(changes, timeout=0.5) is None
                # An unchanged apply moves no generation and announces nothing.
                await anyio.to_thread.run_sync(_put_server, store, "a")
                assert await _next(changes, timeout=0.5) is None
                await anyio.to_thread.run_sync(_put_server, store, "a", "cat")
                assert await _next(changes) == 2

    anyio.run(main)


def test_another_schema_on_the_same_database_is_not_announced(postgres_database_url: str) -> None:
    import psycopg

    own = re.search(r"mcpctl_test_[0-9a-f]+", postgres_database_url)
    assert own is not None
    schema = f"mcpctl_test_{secrets.token_hex(6)}"
    other_url = postgres_database_url.replace(own.group(0), schema)
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    async def main() -> None:
        with Store.open(postgres_database_url) as store, Store.open(other_url) as other:
            feed = store.change_feed()
            assert feed is not None
            async with feed.listen() as changes:
                await anyio.to_thread.run_sync(_put_server, other, "x")
                assert await _next(changes, timeout=0.5) is None
                await anyio.to_thread.run_sync(_put_server, store, "y")
                assert await _next(changes) == 1

    try:
        anyio.run(main)
    finally:
        with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
