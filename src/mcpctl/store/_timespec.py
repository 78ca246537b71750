"""Durations (`30d`, `1h30m`) and points in time (`1h` ago, or ISO 8601) as audit filters and
retention take them from the command line and the admin API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")
_DURATION = re.compile(r"^(?:\d+[smhdw])+$")


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `1h`, `7d`, `2w` or a sum such as `1h30m` as a timedelta (ValueError otherwise)."""
    compact = text.strip().lower()
    if not _DURATION.match(compact):
        raise ValueError(f"bad duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 30d, 1h30m)")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(compact))
    if seconds == 0:
        raise ValueError(f"bad duration {text!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A point in time: a duration means that long before `now` (`1h`), else an ISO 8601 date or
    date-time (`2026-05-01`, `2026-05-01T12:00:00+02:00`); times without a zone are UTC."""
    stripped = text.strip()
    if _DURATION.match(stripped.lower()):
        return (now or datetime.now(UTC)) - parse_duration(stripped)
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"bad time {text!r}: use a duration before now (30m, 1h, 7d) or ISO 8601 (2026-05-01T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
