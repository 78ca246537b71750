"""Options shared by store-using commands: `--database-url` and opening the store it names.

Use `@database_option` on a command (it passes `database_url: str | None`) and `open_store(database_url)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mcpctl.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def database_option(command: F) -> F:
    """Add `--database-url` (env MCPCTL_DATABASE_URL; default: SQLite file in the user data dir)."""
    option = click.option(
        "--database-url",
        "database_url",
        envvar="MCPCTL_DATABASE_URL",
        default=None,
        metavar="URL",
        show_envvar=True,
        help="Live store URL (sqlite:///PATH or postgresql://...); default: ~/.local/share/mcpctl/mcpctl.db.",
    )
    return option(command)


def open_store(url: str | None) -> Store:
    """Open (and migrate) the store at `url`, or the default store when None; close it when done."""
    # Imported here so that `mcpctl --help` and store-free commands never load SQLAlchemy.
    from mcpctl.store import Store

    return Store.open(url)
