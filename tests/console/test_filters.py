"""The console's date presets and `/` filter: parsing, cycling, and the queries they make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcpctl.console import DATE_PRESETS, ConsoleFilter, parse_filter
from mcpctl.errors import UsageError

NOW = datetime(2026, 5, 1, 15, 30, tzinfo=UTC)


def test_filter_text_names_fields_and_a_bare_word_is_a_tool() -> None:
    assert parse_filter("project=demo outcome=error git__git_log") == {
        "project": "demo",
        "outcome": "error",
        "tool": "git__git_log",
    }
    assert parse_filter("  ") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "unknown filter 'colour'"),
        ("outcome=weird", "outcome must be one of"),
        ("user=", "user= needs a value"),
        ("token=a token=b", "token is given twice"),
        ("x" * 600, "at most 512"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_filter(text)


def test_presets_cycle_in_order_and_wrap() -> None:
    seen = [ConsoleFilter().preset]
    current = ConsoleFilter()
    for _ in DATE_PRESETS:
        current = current.next_preset()
        seen.append(current.preset)
    assert seen == [*DATE_PRESETS, DATE_PRESETS[0]]


@pytest.mark.parametrize(
    ("preset", "since"),
    [
        ("all", None),
        ("today", datetime(2026, 5, 1, tzinfo=UTC)),
        ("1h", NOW - timedelta(hours=1)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
    ],
)
def test_query_carries_preset_and_fields(preset: str, since: datetime | None) -> None:
    chosen = ConsoleFilter(preset=preset).with_text("project=demo token=ci outcome=denied tool=t user=u")
    query = chosen.query(NOW, limit=50, session_id="s1")
    assert (query.since, query.limit, query.session_id) == (since, 50, "s1")
    assert (query.project, query.token, query.user, query.tool, query.outcome) == (
        "demo",
        "ci",
        "u",
        "t",
        "denied",
    )
    assert chosen.describe() == f"date: {preset} · filter: project=demo token=ci outcome=denied tool=t user=u"
