"""Audit retention: old events are deleted in short batches, now or by a background runner that
outlives store errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mcpctl.store import AuditEvent, AuditQuery, AuditRetention, Store, prune_audit

from .test_audit_writer import table_gone, wait_until

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class CountingStore(Store):
    """The real store, counting the delete batches it runs."""

    deletes: list[int]

    def delete_audit_before(self, before: datetime, *, limit: int = 5000) -> int:
        deleted = super().delete_audit_before(before, limit=limit)
        self.deletes.append(deleted)
        return deleted


@pytest.fixture
def aged(database_url: str) -> Iterator[CountingStore]:
    """A store holding one event per hour over the 60 days up to NOW."""
    store = CountingStore.open(database_url)
    assert isinstance(store, CountingStore)
    store.deletes = []
    store.write_audit_events(
        [AuditEvent("tool_call", time=NOW - timedelta(hours=h), detail={"h": h}) for h in range(60 * 24)]
    )
    try:
        yield store
    finally:
        store.close()


def test_prune_deletes_only_what_is_older_in_batches(aged: CountingStore) -> None:
    deleted = prune_audit(aged, timedelta(days=30), now=NOW, batch_size=100, pause=0)
    assert deleted == 60 * 24 - (30 * 24 + 1)
    assert aged.deletes == [100] * 7 + [19]
    left = aged.query_audit(AuditQuery(limit=10_000))
    assert min(e.time for e in left) == NOW - timedelta(days=30)
    assert prune_audit(aged, timedelta(days=30), now=NOW) == 0


def test_a_stop_ends_pruning_between_batches(aged: CountingStore) -> None:
    stop = threading.Event()
    stop.set()
    assert prune_audit(aged, timedelta(days=30), now=NOW, batch_size=100, stop=stop) == 100


def test_the_runner_prunes_at_start_and_survives_store_errors(aged: CountingStore, database_url: str) -> None:
    with pytest.raises(ValueError):
        AuditRetention(aged, timedelta(0))
    # Everything older than NOW - 10 days + 30 minutes (the half hour keeps the test off the boundary).
    keep = datetime.now(UTC) - NOW + timedelta(days=10, minutes=-30)
    with table_gone(database_url):
        failing = AuditRetention(aged, keep)
        assert failing.run_once() == 0 and failing.failures == 1
    runner = AuditRetention(aged, keep, interval=3600, batch_size=500)
    runner.start()
    try:
        wait_until(lambda: runner.pruned == 50 * 24)
    finally:
        runner.stop()
    assert len(aged.query_audit(AuditQuery(limit=10_000))) == 10 * 24
    assert aged.deletes[-3:] == [500, 500, 200]
