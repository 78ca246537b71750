"""Options several commands share: `--database-url` (and opening its store), the gateway `--url`, `--token`.

Use `@database_option` on a command (it passes `database_url: str | None`) and `open_store(database_url)`
(`read_only=True` for commands that only read).
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mcpctl.store import Store, StoreTransaction

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
OUTPUT_FORMATS = ("table", "wide", "yaml", "json", "name")
"""Values of `-o` for `get` (rendered by `_output.render`)."""
DOCUMENT_FORMATS = ("yaml", "json")
"""Values of `-o` for commands that print documents (`create`; rendered by `_output.render_documents`)."""


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


def gateway_url_option(command: F) -> F:
    """Add `--url` (env MCPCTL_URL), the gateway's base URL (passed as `url`)."""
    option = click.option(
        "--url",
        envvar="MCPCTL_URL",
        default=DEFAULT_GATEWAY_URL,
        show_default=True,
        show_envvar=True,
        help="Base URL of the gateway.",
    )
    return option(command)


def token_option(command: F) -> F:
    """Add `--token` (env MCPCTL_TOKEN), a bearer token (passed as `token: str | None`)."""
    option = click.option(
        "--token",
        envvar="MCPCTL_TOKEN",
        default=None,
        show_envvar=True,
        help="Bearer token (prefer the env var: flags show up in process lists).",
    )
    return option(command)


def current_actor() -> str | None:
    """Who runs the command, for the store's history (None when the OS cannot say)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def record_cli_revision(
    tx: StoreTransaction, what: Any, *, add: int = 0, change: int = 0, destroy: int = 0
) -> None:
    """Add a `create`/`delete` to the store's history: a digest of `what` (as JSON), counts and who ran it."""
    from mcpctl.schemas import CLI_MANAGER

    tx.record_revision(
        source=CLI_MANAGER,
        revision=None,
        plan_digest=hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest(),
        counts={"add": add, "change": change, "destroy": destroy},
        actor=current_actor(),
    )


def open_store(url: str | None, *, read_only: bool = False) -> Store:
    """Open the store at `url`, or the default store when None; close it when done.

    Commands that write create and migrate it; `read_only` ones never do: a store that is not there
    is `StoreMissing`, so a mistyped URL is an error rather than an empty listing.
    """
    # Imported here so that `mcpctl --help` and store-free commands never load SQLAlchemy.
    from mcpctl.store import Store

    return Store.open(url, migrate=not read_only)
