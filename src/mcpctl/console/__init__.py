"""`mcpctl console`: a Textual terminal console over the audit trail, live.

A sidebar of sessions (project → token → session), the selected session's timeline, one event's
detail. It reads an `AuditSource`: a `StoreSource` over the store or over the CLI's `RemoteAudit`
(a gateway's audit API). Imports Textual only here, so no other command pays for it.
"""

from __future__ import annotations

from ._app import ConsoleApp
from ._filters import DATE_PRESETS, ConsoleFilter, parse_filter
from ._source import AuditReader, AuditSource, StoreSource

__all__ = [
    "DATE_PRESETS",
    "AuditReader",
    "AuditSource",
    "ConsoleApp",
    "ConsoleFilter",
    "StoreSource",
    "parse_filter",
]
