"""`mcpctl console`: the live audit console (Textual), over the store or a gateway's audit API."""

from __future__ import annotations

from pathlib import Path

import click

from mcpctl.errors import UsageError

from ._audit import source_options
from ._main import cli
from ._options import open_store


@cli.command("console")
@source_options
@click.option("--no-follow", is_flag=True, help="Start with follow mode off (`f` toggles it).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=1.0,
    show_default=True,
    help="Seconds between checks for new events while following.",
)
def console(
    url: str | None, token_file: Path | None, database_url: str | None, no_follow: bool, interval: float
) -> None:
    """Browse the audit trail live: sessions by project and token, their timelines, each event.

    Reads the store (`--database-url`, else the default store) or, with `--url`, a gateway's
    `/api/v1/audit/*` with a token holding the `audit` operation ($MCPCTL_TOKEN or --token-file).
    Press `?` inside for the keys.
    """
    from mcpctl.console import ConsoleApp, StoreSource

    if url is not None:
        if database_url is not None:
            raise UsageError("give --url or --database-url, not both")
        from ._audit_remote import RemoteAudit, read_token

        remote = RemoteAudit(url, read_token(token_file))
        try:
            # One read before the screen opens: a token without `audit` (403), an unknown token (401)
            # or an unreachable gateway is a clear error on the terminal, not a console of nothing.
            remote.latest_audit_id()
            ConsoleApp(StoreSource(remote, remote.base), follow=not no_follow, interval=interval).run()
        finally:
            remote.close()
        return
    if token_file is not None:
        raise UsageError("--token-file goes with --url")
    from mcpctl.schemas import mask_url

    store = open_store(database_url, read_only=True)
    try:
        label = mask_url(database_url) if database_url else "default store"
        ConsoleApp(StoreSource(store, label), follow=not no_follow, interval=interval).run()
    finally:
        store.close()
