"""Following the audit trail: each poll returns the events stored since the last one, oldest first, once.

Ids are handed out when a row is inserted but become visible when its transaction commits, so with
several writers (gateway replicas on PostgreSQL) a lower id can appear after a higher one. A poll
therefore reads again from the highest id seen `grace` seconds ago and skips the ids it already returned.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from ._audit_event import AuditEvent
from ._audit_query import MAX_LIMIT, AuditQuery

GRACE = 5.0
"""Seconds within which an event committed out of id order is still picked up."""


class AuditSource(Protocol):
    """What a follower reads: a `Store`, or the gateway's audit API (`mcpctl audit --url`)."""

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]: ...

    def latest_audit_id(self) -> int: ...


class AuditFollower:
    """Reads new audit events matching `query` (its `after_id` and `limit` are the follower's own).

    Starts after `after_id`, by default after the newest event stored now. Call `poll()` as often as
    wanted (the CLI does once a second); it never returns an event twice.
    """

    def __init__(
        self,
        store: AuditSource,
        query: AuditQuery | None = None,
        *,
        after_id: int | None = None,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._query = query or AuditQuery()
        self._floor = store.latest_audit_id() if after_id is None else after_id
        self._grace = grace
        self._clock = clock
        self._marks: deque[tuple[float, int]] = deque()
        self._seen: set[int] = set()
        self.cursor = self._floor
        """The highest id returned so far."""

    def poll(self) -> list[AuditEvent]:
        """The matching events stored since the last poll, oldest first."""
        now = self._clock()
        while self._marks and self._marks[0][0] <= now - self._grace:
            self._floor = max(self._floor, self._marks.popleft()[1])
        self._seen = {seen for seen in self._seen if seen > self._floor}
        found: list[AuditEvent] = []
        after = self._floor
        while True:
            page = self._store.query_audit(replace(self._query, after_id=after, limit=MAX_LIMIT))
            for event in page:
                assert event.id is not None
                if event.id not in self._seen:
                    self._seen.add(event.id)
                    found.append(event)
            if len(page) < MAX_LIMIT:
                break
            after = page[-1].id or after
        if found:
            self.cursor = max(self.cursor, max(event.id or 0 for event in found))
        self._marks.append((now, self.cursor))
        return found
