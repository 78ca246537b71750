"""`mcpctl serve`: run the gateway (one MCP endpoint per project, probes, metrics, admin API) on uvicorn.

Parses flags into a `GatewayConfig`, builds the app with `create_app`, and hands it to uvicorn.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from mcpctl.reconciler import reconcile_metric_families

from ._logging import configure_logging
from ._main import cli
from ._options import database_option
from ._reconcile import GatewayReconciler, serve_reconcile_options
from ._serve_limits import limits_config, serve_limit_options


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
@database_option
@click.option("--no-auth", is_flag=True, help="Serve without token checks (refused unless HOST is loopback).")
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
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log verbosity.",
)
@serve_limit_options
@serve_reconcile_options
def serve(
    host: str,
    port: int,
    database_url: str | None,
    no_auth: bool,
    secrets_dir: Path | None,
    poll_interval: float,
    token_cache_ttl: float,
    allowed_hosts: tuple[str, ...],
    log_level: str,
    reconcile_repo: str | None,
    reconcile_ref: str | None,
    reconcile_path: str | None,
    reconcile_interval: str,
    **limits: Any,
) -> None:
    """Serve every project's MCP endpoint at http://HOST:PORT/projects/<project>/mcp."""
    import uvicorn

    from mcpctl.gateway import (
        AuthConfig,
        GatewayConfig,
        LiveConfig,
        SessionConfig,
        UpstreamConfig,
        create_app,
        uvicorn_config,
    )

    configure_logging(log_level)
    config = GatewayConfig(
        database_url=database_url,
        host=host,
        port=port,
        auth=AuthConfig(enabled=not no_auth, cache_ttl_seconds=token_cache_ttl),
        live=LiveConfig(poll_interval_seconds=poll_interval),
        upstream=UpstreamConfig(secrets_dir=secrets_dir),
        sessions=SessionConfig(
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
    if no_auth:
        click.echo(
            f"warning: serving without auth on {host}; anyone on this machine can use every project", err=True
        )
    click.echo(
        f"mcpctl gateway on http://{host}:{port} (MCP: /projects/<project>/mcp, API docs: /schema)", err=True
    )
    if reconciler is not None:
        reconciler.start()
    try:
        # log_config=None: uvicorn's own lines go through mcpctl's handler and format too.
        uvicorn.Server(uvicorn_config(app, config, log_level=log_level, log_config=None)).run()
    finally:
        if reconciler is not None:
            reconciler.stop()
