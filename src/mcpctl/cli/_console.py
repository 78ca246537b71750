"""`mcpctl console`: the live audit console (Textual), over the store or a gateway's audit API."""

from __future__ import annotations

import click

from mcpctl.errors import UsageError

from ._main import cli
from ._options import database_option, open_store, token_option


@cli.command("console")
@database_option
@click.option("--url", default=None, help="Read a gateway's audit API instead of the store (needs `audit`).")
@token_option
@click.option("--no-follow", is_flag=True, help="Start with follow mode off (`f` toggles it).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=1.0,
    show_default=True,
    help="Seconds between checks for new events while following.",
)
def console(
    database_url: str | None, url: str | None, token: str | None, no_follow: bool, interval: float
) -> None:
    """Browse the audit trail live: sessions by project and token, their timelines, each event.

    Reads the store (`--database-url`, else the default store) or, with `--url`, a gateway's
    `/api/v1/audit/*` with a token allowed the `audit` operation. Press `?` inside for the keys.
    """
    from mcpctl.console import ConsoleApp, GatewaySource, StoreSource

    if url is not None:
        if not token:
            raise UsageError("--url needs a token allowed `audit`: set MCPCTL_TOKEN (or --token)")
        gateway = GatewaySource(url, token)
        try:
            ConsoleApp(gateway, follow=not no_follow, interval=interval).run()
        finally:
            gateway.close()
        return
    from mcpctl.schemas import mask_url

    store = open_store(database_url, read_only=True)
    try:
        label = mask_url(database_url) if database_url else "default store"
        ConsoleApp(StoreSource(store, label), follow=not no_follow, interval=interval).run()
    finally:
        store.close()
