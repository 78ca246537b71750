"""How the console writes sessions and events: sidebar labels, timeline rows, the detail pane.

Everything shown passes `printable`, since names and reasons may hold what a client sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mcpctl.schemas import printable

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditSession

KEYS_HELP = """[b]Keys[/b]

  ↑ ↓ PageUp PageDown  move and scroll in the focused pane
  Tab                  next pane (sessions, timeline, detail)
  Enter                show the highlighted session's timeline
  f                    follow new events on/off (on at start)
  d                    dates: all, today, 1h, 24h, 7d
  /                    filter: project= token= user= tool= outcome=
                       (a bare word is a tool; empty clears; Esc closes)
  e                    next error (then the next session with errors)
  ?                    this help
  q                    quit
"""

OUTCOME_STYLES = {
    "ok": "green",
    "error": "red",
    "denied": "yellow",
    "timeout": "magenta",
    "unauthorized": "yellow",
}


def token_label(session: AuditSession) -> str:
    """The sidebar's second level: the token, and its owner when known."""
    token = printable(session.token or "(no token)")
    return f"{token} ({printable(session.user)})" if session.user else token


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def session_label(session: AuditSession) -> Text:
    label = Text(session.session_id[:12], style="bold")
    label.append(f"  {_count(session.calls, 'call')}")
    if session.errors:
        label.append(f"  {_count(session.errors, 'error')}", style="red")
    label.append(f"  {session.last_seen.astimezone():%H:%M:%S}", style="dim")
    if session.closed:
        label.append("  closed", style="dim")
    return label


def event_row(event: AuditEvent) -> tuple[str | Text, ...]:
    return (
        f"{event.time.astimezone():%H:%M:%S.%f}"[:-3],
        event.kind,
        printable(event.server or ""),
        printable(event.tool or ""),
        Text(event.outcome, style=OUTCOME_STYLES.get(event.outcome, "")),
        f"{event.duration_ms:.1f}" if event.duration_ms is not None else "",
    )


def event_detail(event: AuditEvent, related: Sequence[AuditEvent]) -> Group:
    """The detail pane: every field of `event`, then the other events of the same client request."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("kind", event.kind),
        ("outcome", Text(event.outcome, style=OUTCOME_STYLES.get(event.outcome, ""))),
        ("time", event.time.astimezone().isoformat(timespec="milliseconds")),
        ("duration", f"{event.duration_ms:.2f} ms" if event.duration_ms is not None else "-"),
        ("project", event.project or "-"),
        ("session", event.session_id or "-"),
        ("token", f"{event.token or '-'}  {event.token_prefix or ''}".rstrip()),
        ("user", event.user or "-"),
        ("server", event.server or "-"),
        ("tool", event.tool or "-"),
        ("arguments", event.args_digest or "-"),
        ("result size", str(event.result_size) if event.result_size is not None else "-"),
        ("correlation", event.correlation_id),
    ]
    rows += [(f"detail.{key}", str(value)) for key, value in sorted(event.detail.items())]
    for name, value in rows:
        fields.add_row(name, value if isinstance(value, Text) else printable(value))
    if not related:
        return Group(fields, Text("\nno other event of this request", style="dim"))
    calls = Table(title="same request", title_justify="left", show_edge=False)
    for column in ("TIME", "KIND", "SERVER", "TOOL", "OUTCOME", "MS"):
        calls.add_column(column)
    for other in related:
        calls.add_row(*event_row(other))
    return Group(fields, Text(""), calls)
