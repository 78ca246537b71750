"""The console driven by Textual's Pilot over the audit trail of a real gateway run (console_harness):
the opening view, navigation, every key, paging and scrolling in every pane, filters, date presets and
follow mode."""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import anyio
import pytest
from rich.console import Console
from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, Tree

from gateway.gateway_harness import mcp_session
from mcpctl.console import DATE_PRESETS, ConsoleApp, StoreSource, parse_filter
from mcpctl.errors import UsageError
from mcpctl.store import Store

from .console_harness import CI_BOT_CALLS, DENIAL, PROBES, Trail, opened, settle

pytestmark = pytest.mark.anyio

CI_BOT_TIMELINE = [None, *CI_BOT_CALLS, None]
"""ci-bot's session as the timeline shows it: open, each call (the refused `pid` as access_denied), close."""


@pytest.fixture
def reader(trail: Trail) -> Iterator[Store]:
    """The trail's store opened apart from the gateway's, read-only, as `mcpctl console` opens it."""
    opened_store = Store.open(trail.url, migrate=False)
    yield opened_store
    opened_store.close()


def console(store: Store, **options: object) -> ConsoleApp:
    return ConsoleApp(StoreSource(store, "test store"), interval=0.5, **options)  # type: ignore[arg-type]


async def open_filter(pilot: Pilot[None]) -> None:
    """`/`, then wait until the filter line has the focus (focus moves on the app's next turn)."""
    await pilot.press("slash")
    await settle(pilot, lambda: pilot.app.focused is pilot.app.query_one("#filter"))


async def apply_filter(pilot: Pilot[None], text: str) -> None:
    await open_filter(pilot)
    await pilot.press("ctrl+u", *text, "enter")
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    # A filter that cannot be read leaves the fields as they were and says so.
    try:
        wanted = parse_filter(text)
    except UsageError:
        wanted = None
    await settle(pilot, lambda: app.filter.fields == wanted or app.error is not None)


def timeline_tools(app: ConsoleApp) -> list[str | None]:
    return [e.tool for e in app.timeline]


def session_tokens(app: ConsoleApp) -> list[str | None]:
    return [s.token for s in app.sessions]


def detail_text(app: ConsoleApp) -> str:
    """The detail pane as plain text (its content is a Rich group or a plain string)."""
    output = Console(width=200, file=io.StringIO(), record=True)
    output.print(app.query_one("#detail", Static).content)
    return output.export_text()


def status_text(app: ConsoleApp) -> str:
    return str(app.query_one("#status", Static).render())


def screen_text(app: ConsoleApp) -> str:
    """What the terminal shows, as text: the screenshot Textual exports, its text runs joined."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


async def wheel(pilot: Pilot[None], widget: Widget, event: type[events.MouseEvent]) -> None:
    """A mouse wheel turn over `widget` (Pilot 8 has no public call for the wheel); the event lands on
    what is under the pointer (the detail pane's text) and bubbles up to the pane that scrolls."""
    await pilot._post_mouse_events([event], widget, offset=(2, 1))


async def test_opens_on_the_newest_session_with_its_timeline(trail: Trail, reader: Store) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        ci_bot = trail.session_of("ci-bot")
        assert session_tokens(app) == ["ci-bot", *["probe"] * PROBES, "analyst"]
        assert app.selected == ci_bot.session_id
        assert timeline_tools(app) == CI_BOT_TIMELINE
        kinds = [e.kind for e in app.timeline]
        assert kinds[:4] == ["session_open", "tool_call", "tool_call", "access_denied"]
        table = app.query_one("#timeline", DataTable)
        assert table.row_count == len(CI_BOT_TIMELINE) and table.cursor_row == len(CI_BOT_TIMELINE) - 1
        assert app.focused is table
        assert "session_close" in detail_text(app) and "reason" in detail_text(app)
        tree = app.query_one("#sessions", Tree)
        assert tree.cursor_node is not None and tree.cursor_node.data == ci_bot.session_id
        # project → token (owner) → session, and the session's counts from the real run
        assert [str(node.label) for node in tree.root.children] == ["platform", "research"]
        platform, research = tree.root.children
        assert [str(node.label) for node in platform.children] == ["ci-bot (alice)", "probe"]
        assert [str(node.label) for node in research.children] == ["analyst (bob)"]
        assert len(platform.children[1].children) == PROBES
        label = str(platform.children[0].children[0].label)
        assert f"{len(CI_BOT_CALLS) - 1} calls  2 errors" in label and label.endswith("closed")
        assert "follow: on · date: all · 8 session(s)" in status_text(app)
        shown = screen_text(app)  # the status line is on screen, not under the footer
        assert "follow: on · date: all · 8 session(s)" in shown and "Next error" in shown


async def test_choosing_a_session_shows_its_timeline(trail: Trail, reader: Store) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await pilot.press("shift+tab")  # from the timeline back to the sidebar
        tree = app.query_one("#sessions", Tree)
        assert app.focused is tree
        await pilot.press("end")  # the last line: research's one session
        analyst = trail.session_of("analyst").session_id
        assert tree.cursor_node is not None and tree.cursor_node.data == analyst
        await pilot.press("up")
        assert tree.cursor_node is not None and str(tree.cursor_node.label) == "analyst (bob)"
        await pilot.press("enter")  # a token line: nothing to show, the selection stays
        await settle(pilot)
        assert app.selected == trail.session_of("ci-bot").session_id
        await pilot.press("down", "enter")
        await settle(pilot, lambda: app.selected == analyst)
        assert timeline_tools(app) == [None, "echo", "fail", None]
        assert app.query_one("#timeline", DataTable).cursor_row == 3


async def test_e_jumps_to_errors_then_to_the_next_session_with_errors(trail: Trail, reader: Store) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        table = app.query_one("#timeline", DataTable)
        table.move_cursor(row=0)
        await pilot.press("e")
        await settle(pilot)
        assert table.cursor_row == 3 and app.timeline[3].kind == "access_denied"
        text = detail_text(app)
        assert DENIAL in text and app.timeline[3].correlation_id in text
        assert "denied" in text and "pid" in text and "platform" in text
        assert "no other event of this request" in text  # a refusal is recorded once
        await pilot.press("e")
        await settle(pilot)
        assert table.cursor_row == 4 and app.timeline[4].tool == "fail"
        assert app.timeline[4].outcome == "error" and "sha256:" in detail_text(app)  # the digest only
        # Past the last error: the next session with errors (the probes have none), its first error.
        await pilot.press("e")
        analyst = trail.session_of("analyst").session_id
        await settle(pilot, lambda: app.selected == analyst)
        tree = app.query_one("#sessions", Tree)
        assert tree.cursor_node is not None and tree.cursor_node.data == analyst
        assert app.timeline[table.cursor_row].tool == "fail"
        # And round again to the first session with errors.
        await pilot.press("e")
        await settle(pilot, lambda: app.selected == trail.session_of("ci-bot").session_id)
        assert table.cursor_row == 3


async def test_e_says_so_when_no_error_is_left(reader: Store) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await apply_filter(pilot, "token=probe")
        assert session_tokens(app) == ["probe"] * PROBES
        selected = app.selected
        await pilot.press("e")
        await settle(pilot)
        assert app.selected == selected
        assert any("no more errors" in str(n.message) for n in app._notifications)


async def test_slash_filters_on_each_field_and_bad_filters_are_shown_not_applied(
    trail: Trail, reader: Store
) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await apply_filter(pilot, "project=research")
        assert session_tokens(app) == ["analyst"] and app.selected == trail.session_of("analyst").session_id
        assert "filter: project=research" in status_text(app)

        await apply_filter(pilot, "colour=red")
        assert app.error is not None and "unknown filter 'colour'" in app.error
        assert "unknown filter" in status_text(app) and "unknown filter" in screen_text(app)
        assert session_tokens(app) == ["analyst"]  # the view stays as it was
        await pilot.press("escape")
        await settle(pilot, lambda: app.focused is app.query_one("#timeline"))
        assert not app.query_one("#filter").has_class("shown")

        await apply_filter(pilot, "outcome=denied")
        assert app.error is None
        assert session_tokens(app) == ["ci-bot"]
        assert [(e.kind, e.tool) for e in app.timeline] == [("access_denied", "pid")]

        await apply_filter(pilot, "token=probe")
        assert session_tokens(app) == ["probe"] * PROBES
        await open_filter(pilot)
        await pilot.press("ctrl+u", *"user=bob")
        assert "user=bob" in screen_text(app)  # the filter line shows what is typed
        await pilot.press("escape")
        await apply_filter(pilot, "user=bob")
        assert session_tokens(app) == ["analyst"]
        await apply_filter(pilot, "fail")  # a bare word is a tool
        assert app.filter.fields == {"tool": "fail"}
        assert session_tokens(app) == ["ci-bot", "analyst"] and timeline_tools(app) == ["fail"]
        await apply_filter(pilot, "project=platform outcome=error")
        assert session_tokens(app) == ["ci-bot"] and timeline_tools(app) == ["fail"]

        await open_filter(pilot)
        assert app.query_one("#filter", Input).value == "project=platform outcome=error"
        await pilot.press("ctrl+u", "enter")  # empty clears
        await settle(pilot, lambda: not app.filter.fields)
        assert len(app.sessions) == PROBES + 2 and "filter:" not in status_text(app)


async def test_d_cycles_date_presets(trail: Trail, reader: Store) -> None:
    ci_bot = trail.session_of("ci-bot")
    # An hour after ci-bot's session opened: `1h` reaches back to exactly that moment, and every
    # other session was closed before it (console_harness runs them one after the other).
    now = (ci_bot.first_seen + timedelta(hours=1)).astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = [s.token for s in trail.sessions() if s.last_seen >= midnight]
    app = console(reader, clock=lambda: now)
    everyone = ["ci-bot", *["probe"] * PROBES, "analyst"]
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        seen: list[tuple[str, list[str | None]]] = []
        for index in range(1, len(DATE_PRESETS) + 1):
            await pilot.press("d")
            preset = DATE_PRESETS[index % len(DATE_PRESETS)]
            await settle(pilot, lambda: app.filter.preset == preset)  # noqa: B023  # awaited here
            seen.append((app.filter.preset, session_tokens(app)))
            assert f"date: {app.filter.preset}" in status_text(app)
        assert seen == [
            ("today", today),
            ("1h", ["ci-bot"]),
            ("24h", everyone),
            ("7d", everyone),
            ("all", everyone),
        ]
        assert app.selected == ci_bot.session_id and timeline_tools(app) == CI_BOT_TIMELINE


async def test_a_window_with_nothing_in_it_says_so(trail: Trail, reader: Store) -> None:
    later = (trail.session_of("ci-bot").last_seen + timedelta(hours=2)).astimezone()
    app = console(reader, clock=lambda: later)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        await pilot.press("d", "d")  # today, then 1h: nothing in the last hour
        await settle(pilot, lambda: app.filter.preset == "1h")
        assert app.sessions == [] and app.selected is None and app.timeline == []
        assert "no sessions in this view" in detail_text(app)
        assert "0 session(s)" in status_text(app)
        await pilot.press("e")  # nothing to jump to, and no crash
        await settle(pilot)


async def test_paging_and_scrolling_in_every_pane(trail: Trail, reader: Store) -> None:
    app = console(reader, follow=False)
    # A small screen, so that each pane holds less than it has: 13 sidebar lines, 15 timeline rows,
    # a detail of 15 lines.
    async with app.run_test(size=(110, 12)) as pilot:
        await settle(pilot, opened(app))
        tree = app.query_one("#sessions", Tree)
        table = app.query_one("#timeline", DataTable)
        detail = app.query_one("#detail-pane")
        assert tree.max_scroll_y > 0 and table.max_scroll_y > 0 and detail.max_scroll_y > 0

        # Timeline: it opens at the bottom, on the newest event; PageUp moves a page up, the detail follows.
        last = len(CI_BOT_TIMELINE) - 1
        assert table.cursor_row == last and table.scroll_y == table.max_scroll_y
        await pilot.press("pageup")
        await settle(pilot)
        assert 0 < table.cursor_row < last and table.scroll_y < table.max_scroll_y
        assert str(app.timeline[table.cursor_row].tool) in detail_text(app)
        await pilot.press("pageup", "pageup", "pageup")
        await settle(pilot)
        assert table.cursor_row == 0 and table.scroll_y == 0 and "session_open" in detail_text(app)
        await pilot.press("pagedown")
        await settle(pilot)
        assert 0 < table.cursor_row < last
        await pilot.press("end")
        await wheel(pilot, table, events.MouseScrollUp)
        assert table.scroll_y < table.max_scroll_y

        # Detail pane: Tab reaches it; PageDown/PageUp and the wheel scroll it.
        await pilot.press("tab")
        assert app.focused is detail
        await pilot.press("pagedown")
        await settle(pilot, lambda: detail.scroll_y > 0)
        await pilot.press("pageup")
        await settle(pilot, lambda: detail.scroll_y == 0)
        await wheel(pilot, detail, events.MouseScrollDown)
        assert detail.scroll_y > 0
        await pilot.press("down", "home")
        await settle(pilot, lambda: detail.scroll_y == 0)

        # Sidebar: Tab again; PageDown moves the cursor a page down and scrolls, PageUp back.
        await pilot.press("tab")
        assert app.focused is tree
        start = tree.cursor_line
        await pilot.press("pagedown")
        await settle(pilot)
        assert tree.cursor_line > start and tree.scroll_y > 0
        await pilot.press("pageup")
        await settle(pilot)
        assert tree.cursor_line == start and tree.scroll_y <= start
        await pilot.press("pageup")
        await settle(pilot)
        assert tree.cursor_line == 0 and tree.scroll_y == 0
        await wheel(pilot, tree, events.MouseScrollDown)
        assert tree.scroll_y > 0
        # Paging the sidebar only moves its cursor: the timeline shown is the chosen session's.
        assert app.selected == trail.session_of("ci-bot").session_id
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "timeline"  # round to the first pane


async def test_follow_shows_new_events_and_f_pauses_it(fresh_trail: Trail) -> None:
    trail = fresh_trail
    reader = Store.open(trail.url, migrate=False)
    try:
        async with mcp_session(trail.gateway.url("platform"), trail.tokens["ci-bot"]) as session:
            await session.call_tool("toy__echo", {"text": "first"})
            trail.flush()
            live = trail.sessions()[0]
            assert live.token == "ci-bot" and not live.closed
            app = console(reader)
            async with app.run_test(size=(160, 40)) as pilot:
                await settle(pilot, opened(app))
                assert app.follow and app.selected == live.session_id
                assert timeline_tools(app) == [None, "echo"]
                table = app.query_one("#timeline", DataTable)

                await session.call_tool("toy__add", {"a": 1, "b": 1})
                await settle(pilot, lambda: timeline_tools(app) == [None, "echo", "add"])
                assert table.cursor_row == 2  # on the newest, it follows the tail

                await pilot.press("f")
                assert not app.follow and "follow: off" in status_text(app)
                await session.call_tool("toy__big", {"n": 8})
                trail.flush()
                await pilot.pause(1.5)  # three intervals: no read while follow is off
                assert timeline_tools(app) == [None, "echo", "add"]

                # A cursor on an older event stays on it when the view follows again.
                table.move_cursor(row=1)
                await pilot.press("f")
                await settle(pilot, lambda: timeline_tools(app) == [None, "echo", "add", "big"])
                assert table.cursor_row == 1 and "follow: on" in status_text(app)

                # A new session shows in the sidebar; the selection stays where the operator is.
                await trail.ci_bot_session(["echo"])
                await settle(pilot, lambda: len(app.sessions) == PROBES + 4)  # the run's, live, this
                assert app.sessions[0].session_id != live.session_id
                assert app.selected == live.session_id
    finally:
        reader.close()


async def test_keys_screen_and_quit(reader: Store) -> None:
    app = console(reader)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        for close in ("escape", "question_mark", "q"):  # `q` on the keys screen closes it, not the app
            await pilot.press("question_mark")
            await settle(pilot, lambda: bool(app.screen.query("#keys")))
            keys = str(app.screen.query_one("#keys", Static).render())
            assert all(word in keys for word in ("PageUp", "follow", "dates", "filter", "next error", "quit"))
            await pilot.press(close)
            await settle(pilot, lambda: not app.screen.query("#keys"))
        assert app.is_running
        # No pause after `q`: the app is shutting down, and waiting for it to go idle could wait forever.
        await pilot.press("q")
    assert app.return_code == 0


class StalledSource(StoreSource):
    """The store, whose newest-id read (what a follow tick asks) can be made to stall."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "stalling store")
        self.stall, self.release = threading.Event(), threading.Event()

    def latest_id(self) -> int:
        if self.stall.is_set():
            self.release.wait(30)
        return super().latest_id()


async def test_quit_while_a_follow_read_is_in_flight(reader: Store) -> None:
    source = StalledSource(reader)
    app = ConsoleApp(source, interval=0.2)
    try:
        with anyio.fail_after(20):  # it hung here, forever, when the read's cancellation was swallowed
            async with app.run_test(size=(160, 40)) as pilot:
                await settle(pilot, opened(app))
                source.stall.set()
                while not app.busy:  # the next follow tick is now blocked in its read
                    await pilot.pause(0.05)
                await pilot.press("q")
    finally:
        source.release.set()
    assert app.return_code == 0


async def test_an_empty_store_says_so(store: Store) -> None:
    app = console(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: "no sessions" in detail_text(app))
        assert app.sessions == [] and app.selected is None
        assert "0 session(s)" in status_text(app)
