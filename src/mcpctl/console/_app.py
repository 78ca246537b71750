"""The console's Textual app: sessions sidebar, timeline of the selected session, detail of one event.

Every read of the source runs in a thread (`_read`), so a slow store or gateway never freezes
the screen; follow mode polls for events written since the newest one shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, Static, Tree
from textual.widgets.tree import TreeNode

from mcpctl.errors import McpctlError

from ._filters import ConsoleFilter
from ._render import KEYS_HELP, event_detail, event_row, session_label, token_label

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditSession

    from ._source import AuditSource

T = TypeVar("T")

TIMELINE_COLUMNS = ("TIME", "KIND", "SERVER", "TOOL", "OUTCOME", "MS")
SESSION_LIMIT = 500
"""Sessions the sidebar lists (the most recent)."""
EVENT_LIMIT = 2000
"""Events of one session the timeline holds (the most recent)."""


class KeysScreen(ModalScreen[None]):
    """`?`: the keys, until any key closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(KEYS_HELP, id="keys")


class ConsoleApp(App[None]):
    """The audit console over one `AuditSource`."""

    TITLE = "mcpctl console"
    AUTO_FOCUS = "#timeline"
    """Not the first focusable widget: that would be the hidden filter line, eating every key."""
    # The filter line and the status line sit in the flow below the panes: docked to the bottom
    # they would lie under the Footer (docked widgets on one edge overlap, they do not stack).
    CSS = """
    #panes { height: 1fr; }
    #sidebar { width: 40%; max-width: 60; border-right: solid $primary; }
    #sessions { height: 1fr; }
    #right { width: 1fr; }
    #timeline { height: 2fr; }
    #detail-pane { height: 1fr; border-top: solid $primary; }
    #filter { display: none; }
    #filter.shown { display: block; }
    #status { height: 1; background: $panel; }
    KeysScreen { align: center middle; }
    #keys { width: 60; padding: 1 2; border: thick $primary; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("d", "next_preset", "Dates"),
        Binding("slash", "open_filter", "Filter"),
        Binding("e", "next_error", "Next error"),
        Binding("question_mark", "keys", "Keys"),
        Binding("tab", "focus_next", "Next pane", show=False),
    ]

    def __init__(
        self,
        source: AuditSource,
        *,
        follow: bool = True,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        super().__init__()
        self.source = source
        self.follow = follow
        self.interval = interval
        self.clock = clock
        self.filter = ConsoleFilter()
        self.sessions: list[AuditSession] = []
        self.selected: str | None = None
        """The session whose timeline shows."""
        self.timeline: list[AuditEvent] = []
        """Its events, oldest first, as the table shows them."""
        self.newest_id = 0
        """The newest event id read so far: follow mode reads what comes after it."""
        self.read_error: str | None = None
        """The last read's failure, cleared by the next reload that succeeds (follow mode retries)."""
        self.filter_error: str | None = None
        """A `/` filter that was not applied, kept until the next filter (a follow read keeps it)."""
        self.busy = 0
        """Reads in flight (the status bar says so; tests wait for 0)."""

    @property
    def error(self) -> str | None:
        """What the status line shows as wrong: a rejected filter first, else a failed read."""
        return self.filter_error or self.read_error

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="panes"):
            with Vertical(id="sidebar"):
                tree: Tree[str] = Tree("sessions", id="sessions")
                tree.show_root = False
                # Enter chooses a session; on a project or token line it must not fold the group
                # away under the cursor (Space still folds).
                tree.auto_expand = False
                yield tree
            with Vertical(id="right"):
                timeline: DataTable[str | Text] = DataTable(
                    id="timeline", cursor_type="row", zebra_stripes=True
                )
                yield timeline
                with VerticalScroll(id="detail-pane"):
                    yield Static("", id="detail")
        yield Input(
            placeholder="filter: project=NAME token=NAME user=NAME tool=NAME outcome=error", id="filter"
        )
        yield Static("", id="status")
        yield Footer()

    async def on_mount(self) -> None:
        self.sub_title = self.source.label
        self.query_one("#timeline", DataTable).add_columns(*TIMELINE_COLUMNS)
        await self.reload(select_latest=True)
        self.set_interval(self.interval, self._tick)

    # Reading -------------------------------------------------------------------------------------

    async def _read(self, read: Callable[[], T]) -> T | None:
        """Run one blocking read of the source in a thread; a failure shows in the status bar.

        A plain thread, not a Textual worker: `Worker.wait` turns the caller's own cancellation into
        `WorkerCancelled`, so a follow tick cancelled at exit would swallow it and its timer would
        never stop (the app hung on quit while a read was in flight).
        """
        self.busy += 1
        try:
            return await asyncio.to_thread(read)
        except Exception as error:  # the read's own error: shown, never a crash mid-incident
            self.read_error = error.detail if isinstance(error, McpctlError) else f"read failed: {error!r}"
            self._show_status()
            return None
        finally:
            self.busy -= 1

    async def reload(self, *, select_latest: bool = False) -> None:
        """Re-read the sessions (and the selected session's timeline) under the current filter."""
        now = self.clock()
        query = self.filter.query(now, limit=SESSION_LIMIT)
        # The newest id before the sessions: an event written between the two reads is then newer
        # than `newest_id`, and the next follow check reads it (the other order would skip it).
        newest = await self._read(self.source.latest_id)
        sessions = await self._read(lambda: self.source.sessions(query))
        if sessions is None or newest is None:
            self._show_detail()
            return
        # Only a reload that read the view clears a failure: a follow check's own read succeeding
        # says nothing about the filter's view, which may still be the one that failed.
        self.read_error = None
        self.sessions, self.newest_id = sessions, max(self.newest_id, newest)
        known = {s.session_id for s in sessions}
        keep_cursor = not select_latest and self.selected in known
        if not keep_cursor:
            self.selected = sessions[0].session_id if sessions else None
        self._fill_sidebar(keep_cursor=keep_cursor)
        await self._load_timeline()
        self._show_status()

    async def _load_timeline(self) -> None:
        table = self.query_one("#timeline", DataTable)
        # A re-read of the same session keeps the cursor on the event being read, unless it was
        # on the newest one: then it follows the tail.
        current = self._cursor_event()
        tailing = current is None or current is self.timeline[-1]
        same_session = current is not None and current.session_id == self.selected
        events: list[AuditEvent] = []
        if self.selected is not None:
            query = self.filter.query(self.clock(), limit=EVENT_LIMIT, session_id=self.selected)
            events = list(reversed(await self._read(lambda: self.source.events(query)) or []))
        table.clear()
        self.timeline = events
        for event in self.timeline:
            table.add_row(*event_row(event), key=str(event.id))
        if self.timeline:
            row = len(self.timeline) - 1
            if same_session and not tailing and current is not None:
                row = next((i for i, e in enumerate(self.timeline) if e.id == current.id), row)
            table.move_cursor(row=row)
        self._show_detail()

    async def _tick(self) -> None:
        if not self.follow or self.busy:  # a read still running: never stack another behind it
            return
        if self.read_error is not None:  # the last reload failed: try it again (a gateway back up)
            await self.reload()
            return
        newest = await self._read(self.source.latest_id)
        if newest is not None and newest > self.newest_id:
            await self.reload()

    # Rendering -----------------------------------------------------------------------------------

    def _fill_sidebar(self, *, keep_cursor: bool = False) -> None:
        tree = self.query_one("#sessions", Tree)
        # A follow re-read keeps the cursor where the operator left it; otherwise it shows the selection.
        highlighted = tree.cursor_node.data if keep_cursor and tree.cursor_node is not None else None
        if highlighted not in {s.session_id for s in self.sessions}:
            highlighted = self.selected
        tree.clear()
        projects: dict[str, TreeNode[str]] = {}
        tokens: dict[tuple[str, str], TreeNode[str]] = {}
        for session in self.sessions:
            project = session.project or "(no project)"
            if project not in projects:
                projects[project] = tree.root.add(project, expand=True)
            key = (project, token_label(session))
            if key not in tokens:
                tokens[key] = projects[project].add(key[1], expand=True)
            tokens[key].add_leaf(session_label(session), data=session.session_id)
        # Every node is expanded, so a session's line is its place in a depth-first walk; moving
        # by line makes the tree lay out its new lines now (a node's own line is set only then).
        line = 0
        for project_node in tree.root.children:
            line += 1
            for token_node in project_node.children:
                line += 1
                for leaf in token_node.children:
                    if leaf.data == highlighted:
                        tree.move_cursor_to_line(line)
                        return
                    line += 1

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        event = self._cursor_event()
        if event is None:
            if self.read_error is not None:
                detail.update(f"cannot read the audit trail: {self.read_error}")
            else:
                detail.update("no event selected" if self.selected else "no sessions in this view")
            return
        related = [e for e in self.timeline if e.correlation_id == event.correlation_id and e.id != event.id]
        detail.update(event_detail(event, related))

    def _show_status(self) -> None:
        follow = "follow: on" if self.follow else "follow: off"
        line = f"{follow} · {self.filter.describe()} · {len(self.sessions)} session(s)"
        if self.error:
            line += f" · error: {self.error}"
        self.query_one("#status", Static).update(line)

    def _cursor_event(self) -> AuditEvent | None:
        table = self.query_one("#timeline", DataTable)
        if not self.timeline or table.cursor_row < 0 or table.cursor_row >= len(self.timeline):
            return None
        return self.timeline[table.cursor_row]

    # Events --------------------------------------------------------------------------------------

    @on(Tree.NodeSelected, "#sessions")
    async def _session_chosen(self, message: Tree.NodeSelected[str]) -> None:
        if message.node.data is not None and message.node.data != self.selected:
            self.selected = message.node.data
            await self._load_timeline()

    @on(DataTable.RowHighlighted, "#timeline")
    def _event_highlighted(self) -> None:
        self._show_detail()

    @on(Input.Submitted, "#filter")
    async def _filter_submitted(self, message: Input.Submitted) -> None:
        try:
            self.filter = self.filter.with_text(message.value)
        except McpctlError as error:
            self.filter_error = error.detail
            self._show_status()
            return
        self.filter_error = None
        self._close_filter()
        await self.reload(select_latest=True)

    # Actions -------------------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._show_status()

    async def action_next_preset(self) -> None:
        self.filter = self.filter.next_preset()
        await self.reload(select_latest=True)

    def action_open_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = self.filter.text
        field.add_class("shown")
        field.focus()

    def _close_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.remove_class("shown")
        self.query_one("#timeline", DataTable).focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", None)
        field = self.query_one("#filter", Input)
        if key == "escape" and field.has_class("shown"):
            self._close_filter()

    async def action_next_error(self) -> None:
        """The next event that did not end ok: in this session, else in the next session with errors."""
        table = self.query_one("#timeline", DataTable)
        start = table.cursor_row + 1 if self.timeline else 0
        for index in range(start, len(self.timeline)):
            if self.timeline[index].outcome != "ok":
                table.move_cursor(row=index)
                return
        order = [s.session_id for s in self.sessions]
        after = order.index(self.selected) + 1 if self.selected in order else 0
        for session in [*self.sessions[after:], *self.sessions[:after]]:
            if session.errors and session.session_id != self.selected:
                self.selected = session.session_id
                self._fill_sidebar()
                await self._load_timeline()
                first = next((i for i, e in enumerate(self.timeline) if e.outcome != "ok"), None)
                if first is not None:
                    table.move_cursor(row=first)
                return
        self.notify("no more errors in this view")

    def action_keys(self) -> None:
        self.push_screen(KeysScreen())
