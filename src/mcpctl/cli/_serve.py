"""`mcpctl serve`: run the gateway (one MCP endpoint per project, probes, metrics, admin API) on uvicorn.

Parses flags into a `GatewayConfig`, builds the app with `create_app`, and hands it to uvicorn.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from typing import Any

import click

from mcpctl._gc import tune_for_server
from mcpctl.errors import GatewayError

from ._logging import configure_logging
from ._main import cli
from ._options import database_option
from ._reconcile import GatewayReconciler, serve_reconcile_options
from ._serve_limits import limits_config, serve_limit_options


class _Rate(click.ParamType[int]):
    """`N` or `N/min` requests per minute, `N/s` per second: the value is requests per minute."""

    name = "rate"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace(" ", "")
        number, _, unit = text.partition("/")
        per = {"": 1, "m": 1, "min": 1, "minute": 1, "s": 60, "sec": 60, "second": 60}.get(unit)
        if not number.isdigit() or per is None:
            self.fail(f"{value!r} is not a rate: use N (per minute), N/min or N/s", param, ctx)
        rate = int(number) * per
        if rate > 10_000_000:
            self.fail(f"{value!r} is more than 10,000,000 requests per minute", param, ctx)
        return rate


RATE = _Rate()


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
@database_option
@click.option("--no-auth", is_flag=True, help="Serve without token checks (refused unless HOST is loopback).")
@click.option(
    "--sse-responses",
    is_flag=True,
    help="Answer every POST as an SSE stream, so progress and log lines ride their request in order "
    "(slower; by default a plain JSON answer, and they go on the session's GET stream).",
)
@click.option(
    "--secrets-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MCPCTL_SECRETS_DIR",
    show_envvar=True,
    help="Directory of secrets (NAME/KEY files) that secretRef values are read from.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between checks of the store for changes.",
)
@click.option(
    "--token-cache-ttl",
    type=click.FloatRange(min=0.0),
    default=1.0,
    show_default=True,
    help="Seconds a token lookup is reused (bounds how late a revocation takes effect).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Extra Host header value to accept (a public name behind a proxy); repeatable.",
)
@click.option(
    "--llm-config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="MCPCTL_LLM_CONFIG",
    show_envvar=True,
    help="LLM providers YAML for gated projects (default: MCPCTL_LLM_URL + MCPCTL_LLM_MODEL, else none).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log verbosity.",
)
@click.option(
    "--rate-limit-per-token",
    "rate_limit",
    type=RATE,
    default="2000",
    show_default=True,
    metavar="N[/min|/s]",
    help="Requests each token may make per minute (or N/s per second); 0 turns the limit off.",
)
@click.option(
    "--redis-url",
    envvar="MCPCTL_REDIS_URL",
    show_envvar=True,
    metavar="URL",
    help="redis://HOST:6379/0: share the rate-limit counters with every replica using it.",
)
@click.option(
    "--audit/--no-audit",
    default=True,
    show_default=True,
    help="Write sessions, calls, denials and auth failures to the store's audit trail.",
)
@click.option(
    "--audit-retention",
    metavar="DURATION",
    help="Delete audit events older than this (30d, 12h, 2w), hourly in the background; default: keep all.",
)
@click.option(
    "--audit-queue-size",
    type=click.IntRange(500, 10_000_000),
    default=10_000,
    show_default=True,
    help="Audit events held in memory while the writer catches up; beyond it the oldest are dropped.",
)
@click.option(
    "--otlp-endpoint",
    envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
    show_envvar=True,
    metavar="URL",
    help="Export a trace span per session, call and upstream call over OTLP/HTTP to URL (/v1/traces is "
    "added); default: no tracing.",
)
@click.option(
    "--result-cache-mib",
    type=click.IntRange(1, 1_048_576),
    default=256,
    show_default=True,
    help="Memory the cache of paginated results may hold (MiB); the least recently used leave first.",
)
@click.option(
    "--result-cache-ttl",
    type=click.FloatRange(1, 7 * 86400),
    default=3600,
    show_default=True,
    help="Seconds a paginated result's pages can be fetched.",
)
@click.option(
    "--result-cache-disk-mib",
    type=click.IntRange(0, 1_048_576),
    default=0,
    show_default=True,
    help="Spill results pushed out of memory to ~/.cache/mcpctl/results, up to this many MiB; 0: no disk.",
)
@serve_limit_options
@serve_reconcile_options
def serve(
    host: str,
    port: int,
    database_url: str | None,
    no_auth: bool,
    sse_responses: bool,
    secrets_dir: Path | None,
    poll_interval: float,
    token_cache_ttl: float,
    allowed_hosts: tuple[str, ...],
    llm_config: Path | None,
    log_level: str,
    rate_limit: int,
    redis_url: str | None,
    audit: bool,
    audit_retention: str | None,
    audit_queue_size: int,
    otlp_endpoint: str | None,
    result_cache_mib: int,
    result_cache_ttl: float,
    result_cache_disk_mib: int,
    reconcile_repo: str | None,
    reconcile_ref: str | None,
    reconcile_path: str | None,
    reconcile_interval: str,
    **limits: Any,
) -> None:
    """Serve every project's MCP endpoint at http://HOST:PORT/projects/<project>/mcp."""
    import uvicorn

    from mcpctl.gateway import (
        AuditConfig,
        AuthConfig,
        ContentConfig,
        GatewayConfig,
        LiveConfig,
        LlmSettings,
        RateLimitConfig,
        SessionConfig,
        TracingConfig,
        UpstreamConfig,
        create_app,
        uvicorn_config,
    )
    from mcpctl.reconciler import reconcile_metric_families
    from mcpctl.store import parse_duration

    configure_logging(log_level)
    retention = None
    if audit_retention is not None:
        try:
            retention = parse_duration(audit_retention)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--audit-retention") from None
    config = GatewayConfig(
        database_url=database_url,
        host=host,
        port=port,
        auth=AuthConfig(enabled=not no_auth, cache_ttl_seconds=token_cache_ttl),
        live=LiveConfig(poll_interval_seconds=poll_interval),
        upstream=UpstreamConfig(secrets_dir=secrets_dir),
        rate_limit=RateLimitConfig(requests_per_minute=rate_limit, redis_url=redis_url or None),
        audit=AuditConfig(enabled=audit, retention=retention, queue_size=audit_queue_size),
        llm=LlmSettings(config_file=llm_config),
        tracing=TracingConfig(endpoint=otlp_endpoint or None),
        content=ContentConfig(
            cache_max_bytes=result_cache_mib * 1024 * 1024,
            cache_ttl_seconds=result_cache_ttl,
            disk=result_cache_disk_mib > 0,
            disk_max_bytes=max(1, result_cache_disk_mib) * 1024 * 1024,
        ),
        sessions=SessionConfig(
            json_response=not sse_responses,
            max_sessions=limits["max_sessions"],
            max_sessions_per_token=limits["max_sessions_per_token"],
            max_requests_per_session=limits["max_requests_per_session"],
        ),
        **limits_config(limits),
        extra_hosts=allowed_hosts,
        extra_gauges=reconcile_metric_families(),
    )
    reconciler = None
    if reconcile_repo is not None:
        reconciler = GatewayReconciler(
            reconcile_repo, reconcile_ref, reconcile_path, reconcile_interval, database_url
        )
        config = dataclasses.replace(config, extra_routers=[*config.extra_routers, *reconciler.routers])
    app = create_app(config)
    # Bound before the upstreams, the reconciler or the app's startup run: a taken port is one clear error.
    listener = _listen(host, port)
    if no_auth:
        click.echo(
            f"warning: serving without auth on {host}; anyone on this machine can use every project", err=True
        )
    base = f"http://{_url_host(host)}:{port}"
    click.echo(f"mcpctl gateway on {base} (MCP: /projects/<project>/mcp, API docs: /schema)", err=True)
    if reconciler is not None:
        reconciler.start()
    tune_for_server()
    try:
        # log_config=None: uvicorn's own lines go through mcpctl's handler and format too.
        uvicorn.Server(uvicorn_config(app, config, log_level=log_level, log_config=None)).run([listener])
    finally:
        if reconciler is not None:
            reconciler.stop()


LISTEN_BACKLOG = 2048
"""Connections the kernel queues before the gateway accepts them (uvicorn's default)."""


def _listen(host: str, port: int) -> socket.socket:
    """The gateway's listening socket on HOST:PORT; GatewayError (exit 1) when it cannot be had."""
    address = host.strip("[]")  # `[::1]`, as a Host header spells it
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        return socket.create_server((address, port), family=family, backlog=LISTEN_BACKLOG)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)  # without the address repeated
        raise GatewayError(f"cannot listen on {host}:{port}: {reason}") from None


def _url_host(host: str) -> str:
    """HOST as a URL spells it: an IPv6 address in brackets (`--host ::1` is served at http://[::1]:PORT)."""
    address = host.strip("[]")
    return f"[{address}]" if ":" in address else host
