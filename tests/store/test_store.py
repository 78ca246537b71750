"""Store reads and the gateway-facing parts: audit events, token lookup records, errors, in-memory use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mcpctl.errors import StoreError
from mcpctl.store import AuditEvent, Store

from ._samples import server

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(minutes: int, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "ts": T0 + timedelta(minutes=minutes),
        "correlation_id": f"c{minutes}",
        "event_type": "tool.call",
        "project": "platform",
        "token_name": "ci-bot",
        "user": None,
        "server": "time",
        "tool": "get_current_time",
        "outcome": "ok",
        "duration_ms": 1.5,
        "detail": {"argumentsDigest": "sha256:ab"},
    }
    values.update(fields)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_audit_events_round_trip_and_filter(store: Store) -> None:
    events = [
        event(0),
        event(1, project="research", token_name="analyst", user="alice"),
        event(2, event_type="auth.failure", token_name=None, outcome="denied", duration_ms=None, detail={}),
        event(3, user="alice", server=None, tool=None, event_type="session.start"),
    ]
    store.write_audit_events(events)
    store.write_audit_events([])
    assert store.query_audit() == list(reversed(events))
    assert store.query_audit(project="research") == [events[1]]
    assert store.query_audit(token="ci-bot") == [events[3], events[0]]
    assert store.query_audit(user="alice") == [events[3], events[1]]
    assert store.query_audit(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)) == [
        events[2],
        events[1],
    ]
    assert store.query_audit(limit=2) == [events[3], events[2]]
    # Times in other zones mean the same instant.
    later = datetime(2026, 5, 1, 14, 2, tzinfo=ZoneInfo("Europe/Berlin"))  # 12:02 UTC
    assert [e.correlation_id for e in store.query_audit(since=later)] == ["c3", "c2"]


def test_audit_batch_of_thousands(store: Store) -> None:
    store.write_audit_events([event(i % 500, correlation_id=f"x{i}") for i in range(5000)])
    assert len(store.query_audit(limit=10_000)) == 5000


def test_in_memory_store() -> None:
    store = Store.open("sqlite://")
    try:
        with store.transaction() as tx:
            tx.put(server("a"), managed_by="cli")
        assert [i.identity.name for i in store.list_resources()] == ["a"]
    finally:
        store.close()


def test_unreachable_postgres_is_a_one_line_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql://admin:s3cret@127.0.0.1:1/mcpctl?connect_timeout=2")
    detail = caught.value.detail
    assert "\n" not in detail and "s3cret" not in detail
    assert "postgresql://admin:***@127.0.0.1:1/mcpctl" in detail


def test_store_is_a_context_manager_and_masks_itself(database_url: str) -> None:
    with Store.open(database_url) as store:
        assert store.generation() == 0
        assert repr(store) == f"Store({store.url.masked!r})"
