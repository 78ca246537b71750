"""LiveState on PostgreSQL: a commit is reloaded at its NOTIFY, long before the next poll; a lost feed
falls back to the poll and reconnects."""

from __future__ import annotations

import logging
import time

import anyio
import anyio.to_thread
import psycopg
import pytest

from gateway.gateway_harness import project_doc, put
from mcpctl.gateway._state import LiveState, Snapshot
from mcpctl.store import CHANNEL, Store
from mcpctl.store._changes import libpq_url

pytestmark = pytest.mark.anyio


async def _reloaded_within(state: LiveState, generation: int, limit: float) -> float:
    started = time.monotonic()
    while state.snapshot.generation < generation:
        assert time.monotonic() - started < limit, f"generation {generation} not loaded within {limit} s"
        await anyio.sleep(0.01)
    return time.monotonic() - started


async def _listening(state: LiveState, limit: float = 10.0) -> None:
    with anyio.fail_after(limit):
        while not state.listening:
            await anyio.sleep(0.01)


def _kill_listeners(url: str) -> int:
    """Terminate the backends LISTENing on the store channel (as a failover or a network cut would)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
            (f"LISTEN {CHANNEL}",),
        ).fetchall()
    return len(rows)


async def test_a_commit_is_reloaded_at_its_notify_not_at_the_next_poll(postgres_database_url: str) -> None:
    with Store.open(postgres_database_url) as store:
        state = LiveState(store, poll_interval=60.0, changes=store.change_feed())
        seen: list[tuple[int, set[str]]] = []

        async def on_change(old: Snapshot, new: Snapshot, changed: set[str]) -> None:
            seen.append((new.generation, changed))

        await state.load()
        async with anyio.create_task_group() as group:
            group.start_soon(state.run, on_change)
            await _listening(state)
            await anyio.to_thread.run_sync(put, store, project_doc("demo", []))
            took = await _reloaded_within(state, 1, limit=1.0)
            assert seen == [(1, {"demo"})] and state.notifications == 1
            assert state.describe()["changeFeed"] == "listening"
            assert took < 1.0
            group.cancel_scope.cancel()


async def test_a_lost_feed_falls_back_to_polling_and_reconnects(
    postgres_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mcpctl.gateway.state")
    with Store.open(postgres_database_url) as store:
        state = LiveState(store, poll_interval=0.3, changes=store.change_feed(), retry_interval=0.5)
        await state.load()
        async with anyio.create_task_group() as group:
            group.start_soon(state.run, None)
            await _listening(state)
            assert await anyio.to_thread.run_sync(_kill_listeners, postgres_database_url) >= 1
            with anyio.fail_after(5):
                while state.listening:
                    await anyio.sleep(0.01)
            # Nothing listens now (or the feed is about to reconnect): the poll still brings the change.
            await anyio.to_thread.run_sync(put, store, project_doc("one", []))
            await _reloaded_within(state, 1, limit=3.0)
            await _listening(state)
            state.poll_interval = 60.0  # from here on only the feed can bring a change in time
            await anyio.sleep(0.4)  # let a poll that already slept run out
            notified = state.notifications
            await anyio.to_thread.run_sync(put, store, project_doc("two", []))
            await _reloaded_within(state, 2, limit=1.0)
            assert state.notifications == notified + 1
            group.cancel_scope.cancel()
    lost = [r for r in caplog.records if "change feed lost" in r.getMessage()]
    assert len(lost) == 1 and "OperationalError" in lost[0].getMessage()
    assert "store change feed reconnected" in caplog.text


async def test_sqlite_state_polls(sqlite_database_url: str) -> None:
    with Store.open(sqlite_database_url) as store:
        assert store.change_feed() is None
        state = LiveState(store, poll_interval=0.1)
        await state.load()
        async with anyio.create_task_group() as group:
            group.start_soon(state.run, None)
            await anyio.to_thread.run_sync(put, store, project_doc("demo", []))
            await _reloaded_within(state, 1, limit=2.0)
            assert state.describe()["changeFeed"] is None and state.notifications == 0
            group.cancel_scope.cancel()
