"""Following the audit trail: new events once each, oldest first, including ones committed out of id order."""

from __future__ import annotations

from sqlalchemy import insert

from mcpctl.store import AuditEvent, AuditFollower, AuditQuery, Store
from mcpctl.store._audit_query import event_row
from mcpctl.store._tables import AUDIT_EVENTS


def kinds(events: list[AuditEvent]) -> list[str]:
    return [event.kind for event in events]


def test_a_follower_returns_new_events_once_oldest_first(store: Store) -> None:
    store.write_audit_events([AuditEvent("session_open")])
    follower = AuditFollower(store)
    assert follower.poll() == []
    store.write_audit_events([AuditEvent("tool_call"), AuditEvent("prompt_get")])
    store.write_audit_events([AuditEvent("session_close")])
    assert kinds(follower.poll()) == ["tool_call", "prompt_get", "session_close"]
    assert follower.poll() == [] and follower.cursor == 4


def test_a_follower_keeps_to_its_filters_and_can_start_anywhere(store: Store) -> None:
    store.write_audit_events([AuditEvent("tool_call", project="a"), AuditEvent("tool_call", project="b")])
    follower = AuditFollower(store, AuditQuery(project="b"), after_id=0)
    assert [e.project for e in follower.poll()] == ["b"]
    store.write_audit_events([AuditEvent("tool_call", project="a"), AuditEvent("apply", project="b")])
    assert kinds(follower.poll()) == ["apply"]


def test_pages_beyond_one_query_limit_are_all_read(store: Store) -> None:
    follower = AuditFollower(store)
    store.write_audit_events([AuditEvent("tool_call", detail={"n": n}) for n in range(10_050)])
    found = follower.poll()
    assert [e.detail["n"] for e in found] == list(range(10_050))


def test_an_event_committed_after_a_higher_id_is_still_returned(postgres_database_url: str) -> None:
    # Two writers on PostgreSQL: the first takes the lower id but commits after the second.
    now = [100.0]
    with Store.open(postgres_database_url) as store:
        follower = AuditFollower(store, grace=5.0, clock=lambda: now[0])
        slow = store._engine.connect()
        try:
            slow.begin()
            slow.execute(insert(AUDIT_EVENTS), [event_row(AuditEvent("tool_call", tool="slow"))])
            store.write_audit_events([AuditEvent("tool_call", tool="fast")])
            assert [e.tool for e in follower.poll()] == ["fast"]
            slow.commit()
        finally:
            slow.close()
        now[0] += 1.0
        late = follower.poll()
        assert [(e.tool, e.id) for e in late] == [("slow", 1)]
        now[0] += 10.0
        assert follower.poll() == []  # past the grace: the floor moved up, nothing is repeated
        store.write_audit_events([AuditEvent("config_reload")])
        assert kinds(follower.poll()) == ["config_reload"]
