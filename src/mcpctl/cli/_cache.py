"""`mcpctl cache list|stats|clear`: the gateway's result cache (paginated results, sections).

A thin client of the gateway's `/api/v1/cache` API: the cache lives in the gateway's memory, not in the
store. The token comes from `$MCPCTL_TOKEN` or `--token-file` (not needed when the gateway runs without
auth). Nothing cached is ever printed: ids, project, session prefix, sizes and age only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from mcpctl.errors import GatewayError

from ._audit_remote import TOKEN_ENV, optional_token
from ._main import cli
from ._options import gateway_url_option
from ._output import table

F = TypeVar("F", bound=Callable[..., Any])


def _call(method: str, url: str, path: str, token_file: Path | None, project: str | None) -> dict[str, Any]:
    # A gateway without auth takes no token; one with auth answers 401, said below.
    token = optional_token(token_file)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"project": project} if project else {}
    base = url.rstrip("/")
    try:
        response = httpx.request(
            method, f"{base}/api/v1/cache{path}", headers=headers, params=params, timeout=30.0
        )
    except httpx.HTTPError as error:
        raise GatewayError(f"cannot reach the gateway at {base}: {type(error).__name__}") from None
    if response.status_code != 200:
        try:
            detail = str(response.json().get("detail") or response.reason_phrase)
        except ValueError:
            detail = response.reason_phrase
        raise GatewayError(f"the gateway at {base} answered {response.status_code}: {detail}")
    body: dict[str, Any] = response.json()
    return body


def _options(command: F) -> F:
    command = click.option(
        "-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
    )(command)
    command = click.option("-p", "--project", metavar="PROJECT", help="Only this project's results.")(command)
    command = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"A file holding the bearer token (default: ${TOKEN_ENV}).",
    )(command)
    return gateway_url_option(command)


def _size(value: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value}B"


@cli.group("cache")
def cache() -> None:
    """Show and clear the gateway's result cache."""


@cache.command("list")
@_options
def list_cache(url: str, token_file: Path | None, project: str | None, fmt: str) -> None:
    body = _call("GET", url, "", token_file, project)
    entries = body["entries"]
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("No cached results.")
        return
    rows = [
        [
            e["id"],
            e["project"],
            e["session"],
            f"{e['parts']} {e['unit']}s",
            f"{e['chars']:,}",
            _size(e["bytes"]),
            f"{e['age_seconds']:.0f}s",
            e["where"],
        ]
        for e in entries
    ]
    click.echo(table(["ID", "PROJECT", "SESSION", "PARTS", "CHARS", "SIZE", "AGE", "WHERE"], rows))


@cache.command("stats")
@_options
def cache_stats(url: str, token_file: Path | None, project: str | None, fmt: str) -> None:
    body = _call("GET", url, "/stats", token_file, project)
    if fmt == "json":
        click.echo(json.dumps(body, indent=2))
        return
    rows = [
        ["project", body["project"] or "(all)"],
        ["entries", str(body["entries"])],
        ["memory", f"{_size(body['bytes'])} of {_size(body['max_bytes'])}"],
        [
            "disk",
            f"{body['disk_entries']} entries, {_size(body['disk_bytes'])} of {_size(body['disk_max_bytes'])}",
        ]
        if body["disk_max_bytes"]
        else ["disk", "off"],
        ["ttl", f"{body['ttl_seconds']:g}s"],
        ["hits / misses", f"{body['hits']} / {body['misses']}"],
        [
            "evicted / expired / spilled / refused",
            f"{body['evictions']} / {body['expired']} / {body['spilled']} / {body['refused']}",
        ],
    ]
    click.echo(table(["STAT", "VALUE"], rows))


@cache.command("clear")
@_options
def clear_cache(url: str, token_file: Path | None, project: str | None, fmt: str) -> None:
    body = _call("DELETE", url, "", token_file, project)
    if fmt == "json":
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"cleared {body['cleared']} cached result(s)"
        + (f" of project {body['project']}" if body["project"] else "")
    )
