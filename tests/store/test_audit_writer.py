"""The audit writer: batches by size and time, drops the oldest when full, survives store errors,
writes everything on flush/close, and nothing is lost when a process using it gets SIGTERM."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from _samples import token
from mcpctl.store import AuditEvent, AuditQuery, AuditWriter, Store, hash_token
from mcpctl.store._url import sqlalchemy_url


class RecordingStore(Store):
    """The real store, noting the size of every audit batch it is asked to write."""

    batches: list[int]

    def write_audit_events(self, events: Sequence[AuditEvent]) -> None:
        self.batches.append(len(events))
        super().write_audit_events(events)


@pytest.fixture
def recording(database_url: str) -> Iterator[RecordingStore]:
    opened = RecordingStore.open(database_url)
    assert isinstance(opened, RecordingStore)
    opened.batches = []
    try:
        yield opened
    finally:
        opened.close()


def numbered(count: int, start: int = 0) -> list[AuditEvent]:
    return [AuditEvent("tool_call", project="p", detail={"n": n}) for n in range(start, start + count)]


def stored_numbers(store: Store) -> list[int]:
    return sorted(int(e.detail["n"] or 0) for e in store.query_audit(AuditQuery(limit=10_000)))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def table_gone(database_url: str) -> Iterator[None]:
    """Make writes to audit_events fail for real (the table is renamed away), then restore it."""
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
        engine.dispose()


def test_full_batches_are_written_at_once_and_the_rest_after_the_delay(recording: RecordingStore) -> None:
    with AuditWriter(recording, batch_size=500, max_delay=0.5) as writer:
        started = time.monotonic()
        for event in numbered(1200):
            writer.submit(event)
        wait_until(lambda: writer.stats.written == 1200)
        assert time.monotonic() - started < 5
    assert recording.batches[:2] == [500, 500] and sum(recording.batches) == 1200
    assert stored_numbers(recording) == list(range(1200))


def test_a_lone_event_waits_at_most_the_delay(recording: RecordingStore) -> None:
    with AuditWriter(recording, max_delay=0.3) as writer:
        writer.submit(AuditEvent("session_open"))
        time.sleep(0.1)
        assert writer.stats.written == 0 and writer.stats.pending == 1
        wait_until(lambda: writer.stats.written == 1, timeout=3)
    assert recording.batches == [1]


def test_flush_writes_what_is_queued_without_waiting_for_the_delay(store: Store) -> None:
    with AuditWriter(store, max_delay=60) as writer:
        for event in numbered(7):
            writer.submit(event)
        started = time.monotonic()
        assert writer.flush(timeout=10)
        assert time.monotonic() - started < 5
        assert stored_numbers(store) == list(range(7))
        assert writer.flush(timeout=1)  # nothing queued: at once


def test_a_full_queue_drops_the_oldest_and_counts_them(store: Store, database_url: str) -> None:
    writer = AuditWriter(store, capacity=10, batch_size=5, max_delay=0.05, retry_initial=0.05, retry_max=0.1)
    try:
        with table_gone(database_url):
            for event in numbered(25):
                writer.submit(event)
            wait_until(lambda: writer.stats.write_errors >= 2)
            assert not writer.flush(timeout=0.3)
        assert writer.flush(timeout=10)
        stats = writer.stats
    finally:
        writer.close()
    assert stored_numbers(store) == list(range(15, 25))
    assert (stats.submitted, stats.written, stats.dropped, stats.pending) == (25, 10, 15, 0)


def test_store_errors_are_retried_and_logged_without_event_contents(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mcpctl.audit")
    writer = AuditWriter(store, max_delay=0.05, retry_initial=0.05, retry_max=0.2)
    try:
        with table_gone(database_url):
            writer.submit(AuditEvent("access_denied", detail={"reason": "planted-reason-0451"}))
            wait_until(lambda: writer.stats.write_errors >= 3)
        assert writer.flush(timeout=10)
        assert writer.stats.written == 1 and writer.stats.dropped == 0
        writer.submit(AuditEvent("config_reload"))  # the thread is still alive
        assert writer.flush(timeout=10)
    finally:
        writer.close()
    assert [e.kind for e in store.query_audit()] == ["config_reload", "access_denied"]
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert all("planted-reason-0451" not in record.getMessage() for record in caplog.records)


def test_close_writes_everything_queued_and_then_refuses_events(store: Store) -> None:
    writer = AuditWriter(store, max_delay=60)
    for event in numbered(1234):
        writer.submit(event)
    assert writer.close() is True
    assert writer.close() is True  # idempotent
    writer.submit(AuditEvent("session_open"))
    assert writer.stats.dropped == 1 and writer.stats.written == 1234
    assert stored_numbers(store) == list(range(1234))


def test_close_gives_up_after_its_timeout_when_the_store_stays_down(store: Store, database_url: str) -> None:
    writer = AuditWriter(store, max_delay=60, retry_initial=0.05, retry_max=0.1)
    with table_gone(database_url):
        for event in numbered(3):
            writer.submit(event)
        started = time.monotonic()
        assert writer.close(timeout=0.5) is False
        assert time.monotonic() - started < 5
    assert writer.stats.dropped == 3 and writer.stats.write_errors >= 1


def test_a_malformed_row_is_dropped_and_the_rest_written(postgres_database_url: str) -> None:
    store = Store.open(postgres_database_url)
    try:
        bad = AuditEvent("tool_call", detail={"n": 99})
        object.__setattr__(bad, "server", "x" * 300)  # too long for its column: PostgreSQL refuses it
        with AuditWriter(store, max_delay=60) as writer:
            for event in [*numbered(2), bad, *numbered(2, start=2)]:
                writer.submit(event)
            assert writer.flush(timeout=10)
            assert (writer.stats.written, writer.stats.dropped) == (4, 1)
        assert stored_numbers(store) == [0, 1, 2, 3]
    finally:
        store.close()


def test_token_touches_coalesce_and_ride_with_the_batches(store: Store) -> None:
    with store.transaction() as tx:
        value = tx.create_token(token(), managed_by="cli")
    early = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with AuditWriter(store, max_delay=60) as writer:
        writer.touch_token(hash_token(value), early + timedelta(seconds=5))
        writer.touch_token(hash_token(value), early)
        assert writer.flush(timeout=10)
    record = store.token_record("platform", "ci-bot")
    assert record is not None and record.last_used_at == early + timedelta(seconds=5)


SIGTERM_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    from mcpctl.store import AuditEvent, AuditWriter, Store

    store = Store.open(sys.argv[1])
    writer = AuditWriter(store, capacity=1_000_000, max_delay=30)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    submitted = 0
    while not stopping:
        writer.submit(AuditEvent("tool_call", detail={"n": submitted}))
        submitted += 1
        if submitted == 300:
            print("ready", flush=True)
        time.sleep(0.0005)
    pending = writer.stats.pending
    closed = writer.close()
    print(submitted, pending, closed, writer.stats.dropped, flush=True)
    """
)


def test_nothing_is_lost_when_a_process_is_stopped_with_sigterm(database_url: str, tmp_path: Path) -> None:
    Store.open(database_url).close()  # migrate first, so the child only writes
    script = tmp_path / "audit_child.py"
    script.write_text(SIGTERM_SCRIPT)
    child = subprocess.Popen([sys.executable, str(script), database_url], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    submitted, pending, closed, dropped = out.split()
    assert int(pending) > 0, "events must still be queued when SIGTERM arrives"
    assert (closed, dropped) == ("True", "0")
    with Store.open(database_url) as store:
        assert store.latest_audit_id() == int(submitted)
        assert len(store.query_audit(AuditQuery(limit=10_000))) == int(submitted)
