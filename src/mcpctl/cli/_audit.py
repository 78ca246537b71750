"""`mcpctl audit`: the audit trail filtered, as a table, JSON or JSON lines, or followed as it is
written; `mcpctl audit sessions`: MCP sessions with their first/last activity, calls and errors.

A thin command over `Store.query_audit`, `Store.audit_sessions` and `AuditFollower`; with `--url` the
same calls go to the gateway's audit API (`RemoteAudit`), so both print the same.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click
from click.core import ParameterSource

from mcpctl.errors import UsageError
from mcpctl.schemas import printable

from ._main import cli
from ._options import database_option, open_store
from ._output import table

if TYPE_CHECKING:
    from mcpctl.store import AuditEvent, AuditQuery, AuditSession

F = TypeVar("F", bound=Callable[..., Any])

# The audit vocabulary, spelled here so that `--help` and completion need not import the store
# (tests/cli/test_audit.py checks it equals mcpctl.store's).
KINDS = (
    "session_open",
    "session_close",
    "tool_call",
    "prompt_get",
    "resource_read",
    "auth_failure",
    "access_denied",
    "apply",
    "reconcile",
    "config_reload",
    "tool_pin_mismatch",
    "description_flagged",
    "client_request",
    "tools_selected",
    "prompt_proposed",
    "prompt_decided",
)
OUTCOMES = ("ok", "error", "denied", "timeout", "unauthorized")
FORMATS = ("table", "json", "jsonl")
EVENT_HEADERS = ("TIME", "KIND", "OUTCOME", "PROJECT", "TOKEN", "USER", "SERVER", "TOOL", "MS", "DETAIL")
FOLLOW_WIDTHS = (23, 14, 12, 16, 16, 12, 16, 24, 8)
"""Widths of the columns of followed rows (their widths cannot come from rows not yet written)."""
SESSION_HEADERS = (
    "SESSION",
    "PROJECT",
    "TOKEN",
    "USER",
    "FIRST SEEN",
    "LAST SEEN",
    "CALLS",
    "ERRORS",
    "STATE",
)


class AuditReader(Protocol):
    """A `Store` or a `RemoteAudit`: where the audit trail is read from."""

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]: ...

    def audit_sessions(self, query: AuditQuery | None = None) -> list[AuditSession]: ...

    def latest_audit_id(self) -> int: ...

    def close(self) -> None: ...


def source_options(command: F) -> F:
    """`--url` and `--token-file` (read through the gateway) and `--database-url` (read the store)."""
    command = database_option(command)
    command = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="With --url: a file holding the bearer token (default: $MCPCTL_TOKEN).",
    )(command)
    return click.option(
        "--url",
        metavar="URL",
        help="Read through the gateway's audit API at URL (needs a token holding the audit operation).",
    )(command)


def open_reader(url: str | None, token_file: Path | None, database_url: str | None) -> AuditReader:
    """The gateway's API when `url` is given, else the store."""
    if url is None:
        if token_file is not None:
            raise UsageError("--token-file goes with --url")
        return open_store(database_url)
    if database_url is not None:
        raise UsageError("give --url or --database-url, not both")
    from ._audit_remote import RemoteAudit, read_token

    return RemoteAudit(url, read_token(token_file))


class TimeParam(click.ParamType[datetime]):
    """`1h`, `30m`, `7d` (that long ago) or an ISO 8601 date or date-time (UTC unless it says)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from mcpctl.store import parse_time

        try:
            return parse_time(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def filter_options(*, events: bool) -> Callable[[F], F]:
    """The filters of `audit` (with `events`: also server, tool, kind, outcome, session) and of
    `audit sessions`, then --since/--until/--limit/-o and the store."""
    event_filters = [
        click.option("--server", metavar="NAME", help="Events involving this upstream server."),
        click.option("--tool", metavar="NAME", help="Events of this tool, prompt or resource URI."),
        click.option("--kind", type=click.Choice(KINDS), help="Events of this kind."),
        click.option("--outcome", type=click.Choice(OUTCOMES), help="Events with this outcome."),
        click.option("--session", "session_id", metavar="ID", help="Events of this MCP session."),
    ]
    options = [
        click.option("-p", "--project", metavar="PROJECT", help="Events of this project."),
        click.option("--token", metavar="NAME", help="Events of the token with this name."),
        click.option("--user", metavar="NAME", help="Events of this user (a token's owner, an actor)."),
        *(event_filters if events else []),
        click.option("--since", type=TimeParam(), help="From this time: 1h, 30m, 7d ago or ISO 8601."),
        click.option("--until", type=TimeParam(), help="Before this time (same forms as --since)."),
        click.option(
            "--limit",
            type=click.IntRange(1, 10_000),
            default=100,
            show_default=True,
            help="At most this many (the newest).",
        ),
        click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default="table", show_default=True),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _query(**filters: Any) -> AuditQuery:
    from mcpctl.store import AuditQuery

    try:
        return AuditQuery(**filters)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def event_row(event: AuditEvent) -> list[str]:
    """The table cells of one event."""
    detail = " ".join(f"{key}={_cell(value)}" for key, value in event.detail.items())
    return [
        _time(event.time),
        event.kind,
        event.outcome,
        _cell(event.project),
        _cell(event.token),
        _cell(event.user),
        _cell(event.server),
        _cell(event.tool),
        "" if event.duration_ms is None else f"{event.duration_ms:.1f}",
        detail,
    ]


def _fixed(cells: Sequence[str]) -> str:
    texts = [printable(" ".join(value.split())) for value in cells]
    padded = [
        (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
        for text, width in zip(texts, FOLLOW_WIDTHS, strict=False)
    ]
    return "   ".join([*padded, *texts[len(FOLLOW_WIDTHS) :]]).rstrip()


def _emit_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)
    sys.stdout.flush()


@cli.group("audit", invoke_without_command=True)
@filter_options(events=True)
@click.option("--follow", is_flag=True, help="Keep printing new events as they are written (Ctrl-C stops).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls with --follow.",
)
@source_options
@click.pass_context
def audit(
    ctx: click.Context,
    /,
    fmt: str,
    follow: bool,
    interval: float,
    url: str | None,
    token_file: Path | None,
    database_url: str | None,
    **filters: Any,
) -> None:
    """Show the audit trail, newest first: sessions, calls, denials, auth failures, applies, reconciles.

    Filters combine (all must match). `-o json` is one JSON array; `-o jsonl` one event per line.
    With --url the trail is read through the gateway (a token reads its own project's events).
    """
    if ctx.invoked_subcommand is not None:
        given = [
            name
            for name in ctx.params
            if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.ENVIRONMENT)
        ]
        if given:
            raise UsageError(
                f"give the options after `{ctx.invoked_subcommand}`: mcpctl audit sessions -p ..."
            )
        return
    if follow and fmt == "json":
        raise UsageError("--follow streams events: use -o jsonl or -o table with it")
    query = _query(**filters)
    reader = open_reader(url, token_file, database_url)
    try:
        if follow:
            _follow(reader, query, fmt, interval)
            return
        events = reader.query_audit(query)
    finally:
        reader.close()
    _print(events, fmt, EVENT_HEADERS, event_row, "No audit events found.")


def _print(
    found: Sequence[AuditEvent] | Sequence[AuditSession],
    fmt: str,
    headers: Sequence[str],
    row: Callable[[Any], list[str]],
    nothing: str,
) -> None:
    """Events or sessions as a JSON array, JSON lines or a table (`nothing` on stderr when empty)."""
    if fmt == "json":
        click.echo(json.dumps([item.to_document() for item in found], indent=2))
    elif fmt == "jsonl":
        _emit_lines(json.dumps(item.to_document()) for item in found)
    elif not found:
        click.echo(nothing, err=True)
    else:
        click.echo(table(headers, [row(item) for item in found]))


def _follow(store: AuditReader, query: AuditQuery, fmt: str, interval: float) -> None:
    """Print the newest events oldest first, then each new one as it is written, until Ctrl-C."""
    from mcpctl.store import AuditFollower

    def render(events: Sequence[AuditEvent]) -> list[str]:
        if fmt == "jsonl":
            return [json.dumps(event.to_document()) for event in events]
        return [_fixed(event_row(event)) for event in events]

    follower = AuditFollower(store, query)
    recent = [event for event in store.query_audit(query) if (event.id or 0) <= follower.cursor]
    try:
        _emit_lines([*([_fixed(EVENT_HEADERS)] if fmt == "table" else []), *render(recent[::-1])])
        while True:
            time.sleep(interval)
            _emit_lines(render(follower.poll()))
    except KeyboardInterrupt:
        return


@audit.command("sessions")
@filter_options(events=False)
@source_options
def sessions(
    fmt: str, url: str | None, token_file: Path | None, database_url: str | None, **filters: Any
) -> None:
    """List MCP sessions, latest activity first: project, token, user, first/last seen, calls, errors.

    Calls are tool calls, prompt gets and resource reads; errors are events whose outcome was not ok.
    The filters select the events that are counted.
    """
    query = _query(**filters)
    reader = open_reader(url, token_file, database_url)
    try:
        found = reader.audit_sessions(query)
    finally:
        reader.close()
    _print(found, fmt, SESSION_HEADERS, session_row, "No sessions found.")


def session_row(session: AuditSession) -> list[str]:
    """The table cells of one session."""
    return [
        session.session_id,
        _cell(session.project),
        _cell(session.token),
        _cell(session.user),
        _time(session.first_seen),
        _time(session.last_seen),
        str(session.calls),
        str(session.errors),
        "closed" if session.closed else "open",
    ]
