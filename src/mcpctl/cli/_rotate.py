"""`mcpctl rotate mcptoken NAME`: issue a new value for a token in place; the old value stops working.

The token keeps its spec, manager and history; only its value (hash, prefix) and creation time change,
so an expiry given as a duration counts from now.
"""

from __future__ import annotations

from pathlib import Path

import click

from mcpctl.errors import McpctlError

from ._completion import complete_projects
from ._create import KindAliasGroup, show_token, token_file_written, token_output_option
from ._main import cli
from ._options import current_actor, database_option, open_store, record_cli_revision


@cli.group("rotate", cls=KindAliasGroup)
def rotate() -> None:
    """Issue new credentials for a resource (today: an McpToken's value)."""


@rotate.command("mcptoken")
@click.argument("name")
@click.option("-p", "--project", default=None, shell_complete=complete_projects, help="Project of the token.")
@token_output_option
@database_option
def rotate_mcptoken(
    name: str, project: str | None, token_output: Path | None, database_url: str | None
) -> None:
    """Replace token NAME's value with a new one, shown once; clients must switch to it."""
    # The store and the models load only now, so `rotate --help` and TAB stay light.
    from mcpctl.inventory import Inventory
    from mcpctl.plan import describe_identity
    from mcpctl.schemas import McpToken

    store = open_store(database_url)
    try:
        identity = Inventory(store).find("McpToken", name, project).identity
        with (
            token_file_written(identity, token_output) as write,
            store.transaction(actor=current_actor()) as tx,
        ):
            live = Inventory(store).find("McpToken", identity.name, identity.project)
            assert isinstance(live.resource, McpToken)
            what = describe_identity(live.identity)
            if live.resource.spec.revoked:
                raise McpctlError(f"{what} is revoked: a new value would not work")
            value = tx.create_token(
                live.resource, managed_by=live.managed_by, source_revision=live.source_revision
            )
            path = write(value)
            record_cli_revision(tx, {"rotate": str(live.identity)}, change=1)
    finally:
        store.close()
    show_token(live.identity, value, path, "rotated")
