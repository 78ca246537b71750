"""Audit reads in SQL: the filters of `mcpctl audit` and `/api/v1/audit/*`, the sessions aggregation,
and the mapping between `AuditEvent` and its row.

Statements only; `Store` runs them. Every filter is an equality or a time range that one index of
`audit_events` serves (see docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select

from ._audit_event import (
    AUDIT_KINDS,
    AUDIT_OUTCOMES,
    CALL_KINDS,
    AuditEvent,
    AuditKind,
    AuditOutcome,
    AuditSession,
)
from ._tables import AUDIT_EVENTS

MAX_LIMIT = 10_000
"""Most events (or sessions) one query returns."""

_FILTER_COLUMNS = {
    "project": "project",
    "token": "token_name",
    "user": "user_name",
    "server": "server",
    "tool": "tool",
    "kind": "event_type",
    "outcome": "outcome",
    "session_id": "session_id",
}
"""AuditQuery field -> column it compares with."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit events to read: every filter given must match (ValueError for a bad kind, outcome
    or limit). Events come newest first; with `after_id`, oldest first by id (a follower's order)."""

    project: str | None = None
    token: str | None = None
    """Token name."""
    user: str | None = None
    server: str | None = None
    tool: str | None = None
    """Tool, prompt or resource URI, exactly."""
    kind: AuditKind | None = None
    outcome: AuditOutcome | None = None
    session_id: str | None = None
    since: datetime | None = None
    """Inclusive lower bound on `time`."""
    until: datetime | None = None
    """Exclusive upper bound on `time`."""
    after_id: int | None = None
    """Only events stored after the one with this id (a cursor)."""
    limit: int = 100
    """At most this many (1 to MAX_LIMIT)."""

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in AUDIT_KINDS:
            raise ValueError(f"unknown audit kind {self.kind!r}; one of: {', '.join(AUDIT_KINDS)}")
        if self.outcome is not None and self.outcome not in AUDIT_OUTCOMES:
            raise ValueError(f"unknown audit outcome {self.outcome!r}; one of: {', '.join(AUDIT_OUTCOMES)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")


def _filtered(statement: Select[Any], query: AuditQuery) -> Select[Any]:
    for field_name, column in _FILTER_COLUMNS.items():
        value = getattr(query, field_name)
        if value is not None:
            statement = statement.where(AUDIT_EVENTS.c[column] == value)
    if query.since is not None:
        statement = statement.where(AUDIT_EVENTS.c.ts >= query.since)
    if query.until is not None:
        statement = statement.where(AUDIT_EVENTS.c.ts < query.until)
    if query.after_id is not None:
        statement = statement.where(AUDIT_EVENTS.c.id > query.after_id)
    return statement


def events_statement(query: AuditQuery) -> Select[Any]:
    """The SELECT of the events `query` asks for, in its order."""
    statement = _filtered(select(AUDIT_EVENTS), query).limit(query.limit)
    if query.after_id is not None:
        return statement.order_by(AUDIT_EVENTS.c.id)
    return statement.order_by(AUDIT_EVENTS.c.ts.desc(), AUDIT_EVENTS.c.id.desc())


def sessions_statement(query: AuditQuery) -> Select[Any]:
    """One row per session_id among the events `query` selects, latest activity first."""
    table = AUDIT_EVENTS
    # Grouping by an expression rather than the column keeps SQLite from walking the whole session
    # index (to save a sort) when a time range on ix_audit_events_ts would read far fewer rows.
    session = func.coalesce(table.c.session_id, "")
    last_seen = func.max(table.c.ts).label("last_seen")
    statement = select(
        session.label("session_id"),
        func.max(table.c.project).label("project"),
        func.max(table.c.token_name).label("token"),
        func.max(table.c.user_name).label("user"),
        func.min(table.c.ts).label("first_seen"),
        last_seen,
        func.sum(case((table.c.event_type.in_(CALL_KINDS), 1), else_=0)).label("calls"),
        func.sum(case((table.c.outcome == "ok", 0), else_=1)).label("errors"),
        func.max(case((table.c.event_type == "session_close", 1), else_=0)).label("closed"),
    ).where(session != "")
    return (
        _filtered(statement, query).group_by(session).order_by(last_seen.desc(), session).limit(query.limit)
    )


def latest_id_statement() -> Select[Any]:
    """The highest stored event id (NULL when there is none)."""
    return select(func.max(AUDIT_EVENTS.c.id))


def event_row(event: AuditEvent) -> dict[str, Any]:
    """The row values of an event (its id is the table's to give)."""
    return {
        "ts": event.time,
        "correlation_id": event.correlation_id,
        "event_type": event.kind,
        "project": event.project,
        "session_id": event.session_id,
        "token_name": event.token,
        "token_prefix": event.token_prefix,
        "user_name": event.user,
        "server": event.server,
        "tool": event.tool,
        "outcome": event.outcome,
        "duration_ms": event.duration_ms,
        "args_digest": event.args_digest,
        "result_size": event.result_size,
        "detail": dict(event.detail),
    }


def row_event(row: Any) -> AuditEvent:
    """The event a row of `events_statement` holds."""
    # PostgreSQL's jsonb does not keep key order: give both databases the same, sorted one.
    detail: Mapping[str, Any] = dict(sorted((row.detail or {}).items()))
    return AuditEvent(
        kind=row.event_type,
        time=row.ts,
        project=row.project,
        session_id=row.session_id,
        correlation_id=row.correlation_id,
        token=row.token_name,
        token_prefix=row.token_prefix,
        user=row.user_name,
        server=row.server,
        tool=row.tool,
        outcome=row.outcome,
        duration_ms=row.duration_ms,
        args_digest=row.args_digest,
        result_size=row.result_size,
        detail=detail,
        id=row.id,
    )


def row_session(row: Any) -> AuditSession:
    """The session a row of `sessions_statement` holds."""
    return AuditSession(
        session_id=row.session_id,
        project=row.project,
        token=row.token,
        user=row.user,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        calls=int(row.calls or 0),
        errors=int(row.errors or 0),
        closed=bool(row.closed),
    )
