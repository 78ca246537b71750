"""The console driven by Textual's Pilot over a real store: opening view, navigation, error jumps,
filters, date presets, follow mode and the keys screen."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, Tree

from mcpctl.console import DATE_PRESETS, ConsoleApp, StoreSource
from mcpctl.store import AuditEvent, Store

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)


def event(minutes_ago: float, kind: str, session: str, **fields: object) -> AuditEvent:
    values: dict[str, object] = {"project": "platform", "token": "ci-bot", "session_id": session}
    values.update(fields)
    return AuditEvent(kind, time=NOW - timedelta(minutes=minutes_ago), **values)  # type: ignore[arg-type]


OLD = [  # a research session three hours ago, with one failing call
    event(180, "session_open", "s-old", project="research", token="analyst", user="alice"),
    event(
        179,
        "tool_call",
        "s-old",
        project="research",
        token="analyst",
        user="alice",
        server="git",
        tool="git_log",
        duration_ms=4.2,
    ),
    event(
        178,
        "tool_call",
        "s-old",
        project="research",
        token="analyst",
        user="alice",
        server="git",
        tool="git_diff",
        outcome="error",
        duration_ms=9.0,
    ),
]
NEW = [  # the newest session: a call, a denial of the same request, a failing call
    event(5, "session_open", "s-new"),
    event(
        4,
        "tool_call",
        "s-new",
        server="time",
        tool="get_current_time",
        duration_ms=1.5,
        correlation_id="req-1",
    ),
    event(
        3,
        "access_denied",
        "s-new",
        server="git",
        tool="git_commit",
        outcome="denied",
        correlation_id="req-2",
        detail={"reason": "no rule grants run servers/git/git_commit"},
    ),
    event(3, "tool_call", "s-new", server="git", tool="git_commit", outcome="denied", correlation_id="req-2"),
    event(2, "tool_call", "s-new", server="time", tool="convert_time", outcome="error", duration_ms=3.0),
]


@pytest.fixture
def filled(store: Store) -> Store:
    store.write_audit_events([*OLD, *NEW])
    return store


def console(store: Store, **options: object) -> ConsoleApp:
    return ConsoleApp(StoreSource(store, "test store"), interval=0.5, **options)  # type: ignore[arg-type]


async def settle(pilot: Pilot[None], until: Callable[[], bool] = lambda: True, timeout: float = 30.0) -> None:
    """Wait until the app has no read in flight and `until` holds (reads run in threads, so a
    Pilot pause alone does not wait for them); fails after `timeout` seconds."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if app.busy == 0 and until():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the console did not settle within {timeout}s")
        await pilot.pause(0.05)


def opened(app: ConsoleApp) -> Callable[[], bool]:
    """The first read is done: the sidebar lists the sessions."""
    return lambda: bool(app.sessions) and app.query_one("#sessions", Tree).cursor_node is not None


async def open_filter(pilot: Pilot[None]) -> None:
    """`/`, then wait until the filter line has the focus (focus moves on the app's next turn)."""
    await pilot.press("slash")
    await settle(pilot, lambda: pilot.app.focused is pilot.app.query_one("#filter"))


def timeline_tools(app: ConsoleApp) -> list[str | None]:
    return [e.tool for e in app.timeline]


def detail_text(app: ConsoleApp) -> str:
    """The detail pane as plain text (its content is a Rich group or a plain string)."""
    output = Console(width=200, file=io.StringIO(), record=True)
    output.print(app.query_one("#detail", Static).content)
    return output.export_text()


async def test_opens_on_the_newest_session_with_its_timeline(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        assert [s.session_id for s in app.sessions] == ["s-new", "s-old"]
        assert app.selected == "s-new"
        assert timeline_tools(app) == [None, "get_current_time", "git_commit", "git_commit", "convert_time"]
        table = app.query_one("#timeline", DataTable)
        assert table.row_count == 5 and table.cursor_row == 4
        tree = app.query_one("#sessions", Tree)
        assert tree.cursor_node is not None and tree.cursor_node.data == "s-new"
        # project → token (owner) → session
        labels = [str(node.label) for node in tree.root.children]
        assert labels == ["platform", "research"]
        assert str(tree.root.children[1].children[0].label) == "analyst (alice)"


async def test_choosing_a_session_shows_its_timeline(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        tree = app.query_one("#sessions", Tree)
        tree.focus()
        await pilot.press("down", "down")  # from s-new: research, then its token
        assert tree.cursor_node is not None and str(tree.cursor_node.label) == "analyst (alice)"
        await pilot.press("down", "enter")
        await settle(pilot, lambda: app.selected == "s-old")
        assert app.selected == "s-old"
        assert timeline_tools(app) == [None, "git_log", "git_diff"]


async def test_e_jumps_to_errors_then_to_the_next_session_with_errors(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        table = app.query_one("#timeline", DataTable)
        table.move_cursor(row=0)
        await pilot.press("e")
        await settle(pilot)
        assert table.cursor_row == 2 and app.timeline[2].kind == "access_denied"
        text = detail_text(app)
        assert "no rule grants run servers/git/git_commit" in text and "req-2" in text
        assert "same request" in text  # the denied tool_call of the same correlation id
        await pilot.press("e", "e")
        await settle(pilot)
        assert table.cursor_row == 4 and app.timeline[4].tool == "convert_time"
        await pilot.press("e")
        await settle(pilot, lambda: app.selected == "s-old")
        tree = app.query_one("#sessions", Tree)
        assert tree.cursor_node is not None and tree.cursor_node.data == "s-old"
        assert app.selected == "s-old" and app.timeline[table.cursor_row].tool == "git_diff"


async def test_slash_filters_and_bad_filters_are_shown_not_applied(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await open_filter(pilot)
        await pilot.press(*"project=research", "enter")
        await settle(pilot, lambda: len(app.sessions) == 1)
        assert [s.session_id for s in app.sessions] == ["s-old"] and app.selected == "s-old"
        await open_filter(pilot)
        await pilot.press("ctrl+u", *"colour=red", "enter")
        await settle(pilot, lambda: app.error is not None)
        assert app.error is not None and "unknown filter" in app.error
        assert "unknown filter" in str(app.query_one("#status", Static).render())
        assert [s.session_id for s in app.sessions] == ["s-old"]
        await pilot.press("escape")
        await open_filter(pilot)
        await pilot.press("ctrl+u", *"outcome=denied", "enter")
        await settle(pilot, lambda: app.filter.fields == {"outcome": "denied"})
        assert [s.session_id for s in app.sessions] == ["s-new"]
        assert {e.outcome for e in app.timeline} == {"denied"}


async def test_d_cycles_date_presets(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        seen = []
        for _ in range(5):
            await pilot.press("d")
            await settle(pilot, lambda: app.filter.preset == DATE_PRESETS[(len(seen) + 1) % 5])
            seen.append((app.filter.preset, [s.session_id for s in app.sessions]))
        assert seen[0][0] == "today"  # whether s-old (3h ago) is today depends on the hour
        assert seen[1] == ("1h", ["s-new"])
        assert seen[2] == ("24h", ["s-new", "s-old"])
        assert seen[3] == ("7d", ["s-new", "s-old"])
        assert seen[4] == ("all", ["s-new", "s-old"])
        assert "date: all" in str(app.query_one("#status", Static).render())


async def test_follow_shows_new_events_and_f_pauses_it(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        assert app.follow
        filled.write_audit_events([event(0, "tool_call", "s-new", server="time", tool="late_call")])
        for _ in range(50):
            await pilot.pause(0.1)
            if "late_call" in timeline_tools(app):
                break
        assert timeline_tools(app)[-1] == "late_call"
        await pilot.press("f")
        assert not app.follow
        filled.write_audit_events([event(0, "tool_call", "s-brand-new", tool="unseen")])
        await pilot.pause(1.0)
        assert "s-brand-new" not in [s.session_id for s in app.sessions]
        await pilot.press("f")
        for _ in range(50):
            await pilot.pause(0.1)
            if "s-brand-new" in [s.session_id for s in app.sessions]:
                break
        assert app.sessions[0].session_id == "s-brand-new"


async def test_keys_screen_and_quit(filled: Store) -> None:
    app = console(filled)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await pilot.press("question_mark")
        await settle(pilot, lambda: bool(app.screen.query("#keys")))
        assert "next error" in str(app.screen.query_one("#keys", Static).render())
        await pilot.press("escape")
        await settle(pilot, lambda: not app.screen.query("#keys"))
        # No pause after `q`: the app is shutting down, and waiting for it to go idle could wait forever.
        await pilot.press("q")
    assert app.return_code == 0


async def test_an_empty_store_says_so(store: Store) -> None:
    app = console(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: "no sessions" in detail_text(app))
        assert app.sessions == [] and app.selected is None
        assert "no sessions" in detail_text(app)
