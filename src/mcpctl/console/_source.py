"""Where the console reads the audit trail: anything with the store's three audit reads.

That is the store itself, or the CLI's `RemoteAudit` over a gateway's `/api/v1/audit/*` (the same
methods, answered by the API): the console never speaks HTTP itself. Calls block, and the app runs
them off its event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditQuery, AuditSession


class AuditReader(Protocol):
    """The audit reads of `mcpctl.store.Store` (and of the CLI's `RemoteAudit`)."""

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]: ...

    def audit_sessions(self, query: AuditQuery | None = None) -> list[AuditSession]: ...

    def latest_audit_id(self) -> int: ...


class AuditSource(Protocol):
    """Sessions and events of the audit trail, newest first."""

    label: str
    """Where it reads, for the title bar (a store URL without credentials, a gateway URL)."""

    def sessions(self, query: AuditQuery) -> list[AuditSession]: ...

    def events(self, query: AuditQuery) -> list[AuditEvent]: ...

    def latest_id(self) -> int: ...


class StoreSource:
    """An `AuditReader` as the console's source: the store (`--database-url` or the default store),
    or a gateway's audit API (`--url`, a token holding the `audit` operation)."""

    def __init__(self, reader: AuditReader, label: str) -> None:
        self._reader, self.label = reader, label

    def sessions(self, query: AuditQuery) -> list[AuditSession]:
        return self._reader.audit_sessions(query)

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        return self._reader.query_audit(query)

    def latest_id(self) -> int:
        return self._reader.latest_audit_id()
