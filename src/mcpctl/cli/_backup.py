"""`mcpctl backup FILE` and `mcpctl restore FILE`: move a whole store, tokens still working.

The file (JSON, mode 0600) holds every resource as stored, each token's SHA-256 (never a value) and
the prompt requests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mcpctl.errors import UsageError

from ._main import cli
from ._options import current_actor, database_option, open_store


@cli.command("backup")
@click.argument("file", metavar="FILE")
@database_option
def backup(file: str, database_url: str | None) -> None:
    """Write the whole store to FILE (- for stdout), keeping token hashes so restored tokens still work.

    Unlike `export` + `apply`, which issue new token values, `restore` of a backup brings back tokens
    that clients already hold. The file holds no token value (hashes and specs only).
    """
    # The store and the models load only now, so `backup --help` and TAB stay light.
    from mcpctl.plan import write_private
    from mcpctl.store import backup_document

    store = open_store(database_url, read_only=True)
    try:
        document = backup_document(store)
    finally:
        store.close()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if file == "-":
        click.echo(text, nl=False)
        return
    path = Path(file)
    try:
        write_private(path, text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    count, requests = len(document["resources"]), len(document["promptRequests"])
    generation = document["generation"]
    click.echo(
        f"backed up {count} resource(s) and {requests} prompt request(s) (generation {generation}) to {path}"
    )


@cli.command("restore")
@click.argument("file", metavar="FILE")
@click.option("--force", is_flag=True, help="Restore into a store that is not empty, replacing all it holds.")
@database_option
def restore(file: str, force: bool, database_url: str | None) -> None:
    """Load a backup FILE (- for stdin) into an empty store, tokens and all, in one transaction."""
    from mcpctl.store import restore_backup

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        document = json.loads(text)
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{file} is not JSON: {error}") from None
    store = open_store(database_url)
    try:
        restored = restore_backup(store, document, force=force, actor=current_actor())
        generation = store.generation()
    finally:
        store.close()
    click.echo(
        f"restored {restored.resources} resource(s) and {restored.prompt_requests} prompt request(s) "
        f"into {store.url} (generation {generation})"
    )
