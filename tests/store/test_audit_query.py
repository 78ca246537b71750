"""Audit queries: every filter, time bounds, order, cursor, sessions, and the index each filter uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from mcpctl.store import AuditEvent, AuditKind, AuditQuery, AuditSession, Store
from mcpctl.store._url import sqlalchemy_url

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def at(minutes: int, kind: AuditKind = "tool_call", **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "project": "platform",
        "token": "ci-bot",
        "server": "time",
        "tool": "get_current_time",
        "session_id": "s1",
        "correlation_id": f"c{minutes}",
    }
    values.update(fields)
    return AuditEvent(kind, time=T0 + timedelta(minutes=minutes), **values)


EVENTS = [
    at(0, "session_open", tool=None, server=None),
    at(1),
    at(2, project="research", token="analyst", user="alice", session_id="s2", server="git", tool="git_log"),
    at(3, outcome="error", duration_ms=12.5),
    at(4, "auth_failure", token=None, session_id=None, server=None, tool=None, outcome="unauthorized"),
    at(5, "access_denied", user="alice", outcome="denied", detail={"reason": "no rule"}),
    at(6, "session_close", tool=None, server=None),
    at(7, "prompt_get", session_id="s2", project="research", token="analyst", server=None, tool="review"),
]


@pytest.fixture
def filled(store: Store) -> Store:
    store.write_audit_events(EVENTS)
    return store


def ids(events: list[AuditEvent]) -> list[str]:
    return [event.correlation_id for event in events]


def test_events_round_trip_newest_first(filled: Store) -> None:
    read = filled.query_audit()
    assert ids(read) == [f"c{m}" for m in range(7, -1, -1)]
    assert [e.id for e in read] == list(range(8, 0, -1))
    # Apart from the id the store gave it, what is read back is what was written.
    assert [replace(e, id=None) for e in reversed(read)] == EVENTS


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (AuditQuery(project="research"), ["c7", "c2"]),
        (AuditQuery(token="ci-bot"), ["c6", "c5", "c3", "c1", "c0"]),
        (AuditQuery(user="alice"), ["c5", "c2"]),
        (AuditQuery(server="git"), ["c2"]),
        (AuditQuery(tool="review"), ["c7"]),
        (AuditQuery(kind="tool_call"), ["c3", "c2", "c1"]),
        (AuditQuery(outcome="error"), ["c3"]),
        (AuditQuery(outcome="unauthorized"), ["c4"]),
        (AuditQuery(session_id="s2"), ["c7", "c2"]),
        (AuditQuery(project="platform", kind="tool_call", outcome="ok"), ["c1"]),
        (AuditQuery(since=T0 + timedelta(minutes=5)), ["c7", "c6", "c5"]),
        (AuditQuery(until=T0 + timedelta(minutes=2)), ["c1", "c0"]),
        (AuditQuery(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)), ["c2", "c1"]),
        (AuditQuery(limit=2), ["c7", "c6"]),
        (AuditQuery(token="nobody"), []),
    ],
)
def test_every_filter(filled: Store, query: AuditQuery, expected: list[str]) -> None:
    assert ids(filled.query_audit(query)) == expected


def test_times_in_other_zones_mean_the_same_instant(filled: Store) -> None:
    later = datetime(2026, 5, 1, 14, 6, tzinfo=ZoneInfo("Europe/Berlin"))  # 12:06 UTC
    assert ids(filled.query_audit(AuditQuery(since=later))) == ["c7", "c6"]


def test_after_id_reads_oldest_first_from_the_cursor(filled: Store) -> None:
    assert ids(filled.query_audit(AuditQuery(after_id=5))) == ["c5", "c6", "c7"]
    assert ids(filled.query_audit(AuditQuery(after_id=3, limit=2, kind="tool_call"))) == ["c3"]
    assert filled.latest_audit_id() == 8


def test_bad_queries_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit kind"):
        AuditQuery(kind="tool.call")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown audit outcome"):
        AuditQuery(outcome="fine")  # type: ignore[arg-type]
    for limit in (0, 10_001):
        with pytest.raises(ValueError, match="limit"):
            AuditQuery(limit=limit)


def test_sessions_aggregate_their_events(filled: Store) -> None:
    assert filled.audit_sessions() == [
        AuditSession(
            session_id="s2",
            project="research",
            token="analyst",
            user="alice",
            first_seen=T0 + timedelta(minutes=2),
            last_seen=T0 + timedelta(minutes=7),
            calls=2,
            errors=0,
            closed=False,
        ),
        AuditSession(
            session_id="s1",
            project="platform",
            token="ci-bot",
            user="alice",
            first_seen=T0,
            last_seen=T0 + timedelta(minutes=6),
            calls=2,
            errors=2,
            closed=True,
        ),
    ]
    assert [s.session_id for s in filled.audit_sessions(AuditQuery(project="platform"))] == ["s1"]
    assert [s.session_id for s in filled.audit_sessions(AuditQuery(limit=1))] == ["s2"]
    recent = filled.audit_sessions(AuditQuery(since=T0 + timedelta(minutes=6)))
    assert [(s.session_id, s.calls, s.first_seen) for s in recent] == [
        ("s2", 1, T0 + timedelta(minutes=7)),
        ("s1", 0, T0 + timedelta(minutes=6)),
    ]
    assert recent[0].to_document()["first_seen"] == "2026-05-01T12:07:00+00:00"


def test_a_batch_of_thousands(store: Store) -> None:
    store.write_audit_events([at(i % 500, correlation_id=f"x{i}") for i in range(5000)])
    assert len(store.query_audit(AuditQuery(limit=10_000))) == 5000


INDEXED = [
    (AuditQuery(token="t3", since=T0 - timedelta(days=10)), "ix_audit_events_token_name_ts_id"),
    (AuditQuery(project="p2"), "ix_audit_events_project_ts_id"),
    (AuditQuery(user="u1", since=T0 - timedelta(days=10)), "ix_audit_events_user_name_ts_id"),
    (AuditQuery(session_id="s42"), "ix_audit_events_session_id_ts_id"),
    (AuditQuery(kind="auth_failure"), "ix_audit_events_event_type_ts_id"),
    (AuditQuery(), "ix_audit_events_ts"),
    (AuditQuery(since=T0 - timedelta(hours=1), outcome="error"), "ix_audit_events_ts"),
]


def test_each_filter_is_served_by_its_index(store: Store, database_url: str) -> None:
    # Selective values, as a token, project or session is among many; for a value in a large share of
    # the rows PostgreSQL rightly prefers reading ix_audit_events_ts newest first and filtering.
    store.write_audit_events(
        [
            AuditEvent(
                "auth_failure" if i % 500 == 0 else "tool_call",
                time=T0 - timedelta(days=30) + timedelta(seconds=129 * i),  # 30 days up to T0
                project=f"p{i % 200}",
                token=f"t{i % 200}",
                user=f"u{i % 500}",
                session_id=f"s{i // 20}",
                outcome="error" if i % 50 == 0 else "ok",
            )
            for i in range(20_000)
        ]
    )
    if database_url.startswith("postgresql"):
        engine = create_engine(sqlalchemy_url(database_url))
        with engine.begin() as connection:
            connection.execute(text("ANALYZE audit_events"))
        engine.dispose()
    for query, index in INDEXED:
        plan = store.explain_audit(query)
        assert index in plan, f"{query} is not served by {index}:\n{plan}"
        assert "TEMP B-TREE" not in plan, f"{query} sorts instead of reading the index in order:\n{plan}"
    sessions = store.explain_audit(AuditQuery(since=T0 - timedelta(hours=1)), sessions=True)
    assert "ix_audit_events_ts" in sessions, sessions
    cursor = store.explain_audit(AuditQuery(after_id=100))
    assert "PRIMARY KEY" in cursor or "pk_audit_events" in cursor, cursor
