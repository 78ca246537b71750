"""Durations and points in time as `--since`, `--until` and `--audit-retention` take them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcpctl.store import parse_duration, parse_time

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1h30m ", timedelta(hours=1, minutes=30)),
        ("30D", timedelta(days=30)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "1.5h", "-1h", "1y", "0s", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", NOW - timedelta(hours=1)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2026-04-30", datetime(2026, 4, 30, tzinfo=UTC)),
        ("2026-04-30T08:15:00", datetime(2026, 4, 30, 8, 15, tzinfo=UTC)),
        ("2026-04-30T08:15:00Z", datetime(2026, 4, 30, 8, 15, tzinfo=UTC)),
        ("2026-04-30T10:15:00+02:00", datetime(2026, 4, 30, 8, 15, tzinfo=UTC)),
    ],
)
def test_times(text: str, expected: datetime) -> None:
    moment = parse_time(text, NOW)
    assert moment == expected and moment.tzinfo is UTC


def test_bad_times_say_what_is_accepted() -> None:
    with pytest.raises(ValueError, match=r"use a duration before now .* or ISO 8601"):
        parse_time("yesterday", NOW)
    assert abs(parse_time("1h") - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(seconds=5)
