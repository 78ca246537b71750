"""`mcpctl serve` flags for the gateway's limits on what clients control (docs/security.md#gateway-limits).

One decorator adds them; `limits_config` turns the parsed values into the gateway's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# The defaults of the gateway's HttpLimits, SessionConfig and ListConfig, written out so that
# `serve --help` need not import the gateway (litestar, the SDK: seconds of CPU); a test checks
# they equal the dataclasses' own.
HTTP_DEFAULTS: dict[str, Any] = {
    "max_header_bytes": 16384,
    "max_headers": 100,
    "header_timeout_seconds": 10.0,
    "body_timeout_seconds": 30.0,
    "max_body_bytes": 4194304,
}
SESSION_DEFAULTS: dict[str, Any] = {
    "max_sessions": 10000,
    "max_sessions_per_token": 100,
    "max_requests_per_session": 64,
}
LIST_DEFAULTS: dict[str, Any] = {"deadline_seconds": 5.0}


def serve_limit_options(command: F) -> F:
    """Add the limit flags; each becomes a keyword argument of the command (see `limits_config`)."""
    http, lists, sessions = HTTP_DEFAULTS, LIST_DEFAULTS, SESSION_DEFAULTS
    options = [
        click.option(
            "--max-header-bytes",
            type=click.IntRange(1024),
            default=http["max_header_bytes"],
            show_default=True,
            help="Largest request line plus headers; more is answered 400 before it is read whole.",
        ),
        click.option(
            "--max-headers",
            type=click.IntRange(1),
            default=http["max_headers"],
            show_default=True,
            help="Most header fields in one request (431 beyond).",
        ),
        click.option(
            "--header-timeout",
            type=click.FloatRange(min=0.1),
            default=http["header_timeout_seconds"],
            show_default=True,
            help="Seconds a client has to send a request's headers (408 and disconnect after).",
        ),
        click.option(
            "--body-timeout",
            type=click.FloatRange(min=0.1),
            default=http["body_timeout_seconds"],
            show_default=True,
            help="Longest wait in seconds for the next chunk of a request body (408 after).",
        ),
        click.option(
            "--max-body-bytes",
            type=click.IntRange(1024),
            default=http["max_body_bytes"],
            show_default=True,
            help="Largest request body (413 beyond).",
        ),
        click.option(
            "--max-connections",
            type=click.IntRange(1),
            default=None,
            help="Open connections beyond which requests are answered 503 (default: no limit).",
        ),
        click.option(
            "--max-sessions",
            type=click.IntRange(1),
            default=sessions["max_sessions"],
            show_default=True,
            help="Open MCP sessions per project (503 beyond).",
        ),
        click.option(
            "--max-sessions-per-token",
            type=click.IntRange(1),
            default=sessions["max_sessions_per_token"],
            show_default=True,
            help="Open MCP sessions one token may hold (429 beyond).",
        ),
        click.option(
            "--max-requests-per-session",
            type=click.IntRange(1),
            default=sessions["max_requests_per_session"],
            show_default=True,
            help="HTTP requests one MCP session may have in flight at once (429 beyond).",
        ),
        click.option(
            "--list-deadline",
            type=click.FloatRange(min=0.1),
            default=lists["deadline_seconds"],
            show_default=True,
            help="Seconds an aggregated list waits for its upstreams; slower ones are left out of it.",
        ),
        click.option(
            "--probe-token-file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            envvar="MCPCTL_PROBE_TOKEN_FILE",
            show_envvar=True,
            help="File holding a secret that /metrics and the details of /readyz then require (bearer).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def read_probe_token(path: Path | None) -> str | None:
    """The probe token in `path` (surrounding whitespace dropped); UsageError-style click error when empty."""
    if path is None:
        return None
    value = path.read_text(encoding="utf-8").strip()
    if not value or any(c.isspace() for c in value):
        raise click.BadParameter(
            f"{path} must hold one token, without spaces", param_hint="--probe-token-file"
        )
    return value


def limits_config(values: dict[str, Any]) -> dict[str, Any]:
    """`GatewayConfig` keyword arguments (http, lists, probes) and the session limits from the flags."""
    from mcpctl.gateway._config import HttpLimits, ListConfig, ProbeConfig

    return {
        "http": HttpLimits(
            max_header_bytes=values["max_header_bytes"],
            max_headers=values["max_headers"],
            header_timeout_seconds=values["header_timeout"],
            body_timeout_seconds=values["body_timeout"],
            max_body_bytes=values["max_body_bytes"],
            max_connections=values["max_connections"],
        ),
        "lists": ListConfig(deadline_seconds=values["list_deadline"]),
        "probes": ProbeConfig(token=read_probe_token(values["probe_token_file"])),
    }
