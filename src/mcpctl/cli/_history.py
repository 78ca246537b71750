"""`mcpctl history`: the applies recorded in the live store, newest first, as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ._main import cli
from ._options import database_option, open_store

if TYPE_CHECKING:
    from mcpctl.store import Revision

HEADERS = ("ID", "GENERATION", "APPLIED", "SOURCE", "REVISION", "CHANGES", "ACTOR", "PLAN")


@cli.command("history")
@click.option(
    "-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest N applies.")
@database_option
def history(fmt: str, limit: int, database_url: str | None) -> None:
    """List past applies: source, commit, plan digest, change counts, who and when."""
    store = open_store(database_url, read_only=True)
    try:
        revisions = store.history(limit)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps([revision_document(r) for r in revisions], indent=2))
    elif not revisions:
        click.echo("No applies recorded.", err=True)
    else:
        click.echo(render_history(revisions))


def revision_document(revision: Revision) -> dict[str, Any]:
    """The JSON form of one revision (timestamps in ISO 8601, UTC)."""
    return {
        "id": revision.id,
        "generation": revision.generation,
        "source": revision.source,
        "revision": revision.revision,
        "planDigest": revision.plan_digest,
        "counts": revision.counts,
        "actor": revision.actor,
        "appliedAt": revision.applied_at.isoformat(),
    }


def render_history(revisions: Sequence[Revision]) -> str:
    """A kubectl-style table of revisions."""
    from ._output import table  # loads the models: only now, so `history --help` and TAB stay light

    rows = [
        (
            str(r.id),
            str(r.generation),
            r.applied_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.source,
            (r.revision or "")[:12],
            " ".join(f"{action}={count}" for action, count in r.counts.items()),
            r.actor or "",
            r.plan_digest[:12],
        )
        for r in revisions
    ]
    return table(HEADERS, rows)
