"""`mcpctl console`: a Textual terminal console over the audit trail, live.

A sidebar of sessions (project → token → session), the selected session's timeline, one event's
detail. It reads an `AuditSource`: the store directly (`StoreSource`) or a gateway's audit API
(`GatewaySource`). Imports Textual only here, so no other command pays for it.
"""

from __future__ import annotations

from ._app import ConsoleApp
from ._filters import DATE_PRESETS, ConsoleFilter, parse_filter
from ._source import AuditSource, GatewaySource, StoreSource

__all__ = [
    "DATE_PRESETS",
    "AuditSource",
    "ConsoleApp",
    "ConsoleFilter",
    "GatewaySource",
    "StoreSource",
    "parse_filter",
]
