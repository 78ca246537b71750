"""`mcpctl db upgrade`: bring the live store's schema to this version of mcpctl (alembic migrations)."""

from __future__ import annotations

import click

from ._main import cli
from ._options import database_option, open_store


@cli.group("db")
def db() -> None:
    """Manage the live store database."""


@db.command("upgrade")
@database_option
def upgrade(database_url: str | None) -> None:
    """Apply pending schema migrations to the store (creating it if needed)."""
    store = open_store(database_url)
    try:
        store.upgrade()
        click.echo(
            f"store {store.url} is at schema revision {store.schema_revision()} "
            f"(generation {store.generation()})"
        )
    finally:
        store.close()
