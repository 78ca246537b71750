"""What the console shows: the date preset (`d`) and the `/` filter, turned into an `AuditQuery`.

Pure: no Textual, no store; the app keeps one `ConsoleFilter` and asks it for queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mcpctl.errors import UsageError

if TYPE_CHECKING:
    from mcpctl.store import AuditQuery

DATE_PRESETS: tuple[str, ...] = ("all", "today", "1h", "24h", "7d")
"""The order `d` cycles through."""

FILTER_KEYS: tuple[str, ...] = ("project", "token", "user", "tool", "outcome")
"""What `/` may filter on; a bare word means `tool`."""

OUTCOMES: tuple[str, ...] = ("ok", "error", "denied", "timeout", "unauthorized")

MAX_FILTER_CHARS = 512
"""Longest filter text accepted from the input line."""


def parse_filter(text: str) -> dict[str, str]:
    """`project=demo outcome=error git__git_log` as filter fields (a bare word is the tool).

    Raises UsageError naming the bad part, so the console can show it under the input line.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise UsageError(f"a filter is at most {MAX_FILTER_CHARS} characters")
    fields: dict[str, str] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep:
            key, value = "tool", part
        key = key.strip().lower()
        if key not in FILTER_KEYS:
            raise UsageError(f"unknown filter {key!r}: use {', '.join(FILTER_KEYS)}")
        if not value:
            raise UsageError(f"{key}= needs a value")
        if key == "outcome" and value not in OUTCOMES:
            raise UsageError(f"outcome must be one of {', '.join(OUTCOMES)}, not {value!r}")
        if key in fields:
            raise UsageError(f"{key} is given twice")
        fields[key] = value
    return fields


def preset_since(preset: str, now: datetime) -> datetime | None:
    """The start of a date preset; `now` must be aware (its zone defines "today")."""
    if preset == "all":
        return None
    if preset == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = {"1h": 1, "24h": 24, "7d": 24 * 7}[preset]
    return now - timedelta(hours=hours)


@dataclass(frozen=True)
class ConsoleFilter:
    """The preset and the filter fields in force."""

    preset: str = "all"
    fields: dict[str, str] = field(default_factory=dict)

    def next_preset(self) -> ConsoleFilter:
        index = DATE_PRESETS.index(self.preset)
        return replace(self, preset=DATE_PRESETS[(index + 1) % len(DATE_PRESETS)])

    def with_text(self, text: str) -> ConsoleFilter:
        return replace(self, fields=parse_filter(text))

    @property
    def text(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.fields.items())

    def describe(self) -> str:
        """One line for the status bar: `date: 1h · filter: outcome=error`."""
        shown = f"date: {self.preset}"
        return f"{shown} · filter: {self.text}" if self.fields else shown

    def query(self, now: datetime, *, limit: int, session_id: str | None = None) -> AuditQuery:
        from mcpctl.store import AuditQuery

        outcome = self.fields.get("outcome")
        return AuditQuery(
            project=self.fields.get("project"),
            token=self.fields.get("token"),
            user=self.fields.get("user"),
            tool=self.fields.get("tool"),
            outcome=outcome,  # type: ignore[arg-type]  # checked against OUTCOMES by parse_filter
            session_id=session_id,
            since=preset_since(self.preset, now),
            limit=limit,
        )
