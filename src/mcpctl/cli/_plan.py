"""`mcpctl plan` and `mcpctl diff`: show what apply would change, without changing anything.

Also holds the shared bits of plan-showing commands (`-f` sources, colour, rendering) that `apply` uses.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mcpctl.errors import PlanRefused, StoreMissing

from ._main import cli, failures_exit_at_least
from ._options import database_option, open_store
from ._progress import progress
from ._source_options import source_from_options, source_options

if TYPE_CHECKING:
    from mcpctl.plan import Plan
    from mcpctl.reconciler import DesiredState, Source
    from mcpctl.schemas import Identity
    from mcpctl.store import Store

F = TypeVar("F", bound=Callable[..., Any])

EMPTY_STORE = "sqlite://"
"""An in-memory store: what a plan is made against where there is no store yet."""
PLAN_FORMATS = ("text", "json", "markdown")
"""Values of `-o` for `plan`."""


def filename_option(command: F) -> F:
    """`-f/--filename PATH` (repeatable): files, directories (recursive) or `-` for stdin."""
    return click.option(
        "-f",
        "--filename",
        "filenames",
        multiple=True,
        metavar="PATH",
        help="YAML file, directory (read recursively) or - for stdin; repeatable.",
    )(command)


def prune_all_option(command: F) -> F:
    """`--prune-all`: also delete live resources this source does not own."""
    return click.option(
        "--prune-all",
        is_flag=True,
        help="Also delete live resources created with the CLI or by other sources (dangerous).",
    )(command)


def make_plan(
    database_url: str | None,
    source: Source | DesiredState,
    *,
    prune_all: bool,
    read_only: bool = False,
    show_progress: bool = True,
) -> Plan:
    """Load the source (failing with its problems if invalid) and plan against the store."""
    return plan_source(
        database_url, source, prune_all=prune_all, read_only=read_only, show_progress=show_progress
    )[0]


def plan_source(
    database_url: str | None,
    source: Source | DesiredState,
    *,
    prune_all: bool,
    read_only: bool = False,
    show_progress: bool = True,
) -> tuple[Plan, DesiredState]:
    """The plan of `source` against the store, and the desired state it was made from.

    Files may refer to resources only the store holds (`get project p -o yaml | apply -f -`): when
    they do not stand alone, they are validated again with the store's resources as known ones
    (except those the plan would prune). Standard input alone prunes nothing.

    `read_only` (plan, diff) never creates or migrates the store: where there is none yet, the plan
    is made against an empty one, as apply would find it, and a note on stderr says so.
    `show_progress`: a progress line on a terminal's stderr while the source is fetched and read.
    """
    # The models, the reconciler and the store load only now, so `plan --help` and TAB stay light
    # (with the collector paused, as LazyGroup.get_command imports commands).
    from mcpctl._gc import paused_gc

    with paused_gc():
        from mcpctl.reconciler import DesiredState, FileSource, plan_against, store_references

    prune = not isinstance(source, FileSource) or source.prunes
    stores: list[Store] = []

    def store() -> Store:
        if not stores:
            try:
                stores.append(open_store(database_url, read_only=read_only))
            except StoreMissing as missing:
                click.echo(f"note: {missing.detail.split(';')[0]}; planning against an empty store", err=True)
                stores.append(open_store(EMPTY_STORE))
        return stores[0]

    def known(first: DesiredState) -> frozenset[Identity]:
        return store_references(store().list_resources(), first.manager, prune=prune, prune_all=prune_all)

    try:
        with paused_gc():
            # Paused throughout, not only while loading: hashing, the store's rows and the diff add
            # to a heap of millions of objects that all stay alive, and each generation-2 pass would
            # walk them again for nothing (measured: ~0.7 s CPU of a 10,000-document plan).
            if isinstance(source, FileSource):
                with progress("Loading documents", enabled=show_progress) as tick:
                    state = source.load(known, progress=tick)
            elif isinstance(source, DesiredState):
                state = source
            else:
                state = _load_other(source, show_progress)
            state.require_valid()
            return plan_against(store(), state, prune=prune, prune_all=prune_all), state
    finally:
        for opened in stores:
            opened.close()


def _load_other(source: Source, show_progress: bool) -> DesiredState:
    """A git source (fetched, then read) or any other `Source`."""
    from mcpctl.reconciler import GitSource  # GitPython (~0.05 s to import) only for --repo

    if not isinstance(source, GitSource):
        return source.load()
    with progress(f"Fetching {source.name}", enabled=show_progress, timer=True):
        checkout = source.fetch_checkout()
    with progress("Loading documents", enabled=show_progress) as tick:
        return source.load_checkout(checkout, progress=tick)


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def render(plan: Plan, output: str) -> str:
    """The plan in the chosen `-o` format."""
    from mcpctl.plan import render_json, render_markdown, render_text

    if output == "json":
        return render_json(plan)
    if output == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=use_color())


def refuse_if_errored(plan: Plan) -> None:
    """Raise `PlanRefused` (after the plan has been shown) when the plan has errors."""
    if plan.errored:
        raise PlanRefused(f"the plan has {len(plan.errors)} error(s); nothing will be applied")


@cli.command("plan")
@filename_option
@source_options
@click.option(
    "-out", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan to FILE."
)
@click.option("-o", "--output", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes, 1 on error.")
@prune_all_option
@database_option
def plan_command(
    filenames: tuple[str, ...],
    repo: str | None,
    ref: str | None,
    path: str | None,
    out: Path | None,
    output: str,
    detailed_exitcode: bool,
    prune_all: bool,
    database_url: str | None,
) -> None:
    """Show what apply would change in the live store to match the desired state."""
    source = source_from_options(filenames, repo, ref, path)
    plan = make_plan(
        database_url, source, prune_all=prune_all, read_only=True, show_progress=output != "json"
    )
    click.echo(render(plan, output), nl=False)
    refuse_if_errored(plan)
    if out is not None:
        from mcpctl.plan import save_plan

        save_plan(plan, out)
        click.echo(f"\nSaved the plan to {out}; apply exactly it with: mcpctl apply {out}", err=True)
    if detailed_exitcode and plan.has_changes:
        sys.exit(2)


@cli.command("diff")
@filename_option
@source_options
@click.option("-o", "--output", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@prune_all_option
@database_option
def diff_command(
    filenames: tuple[str, ...],
    repo: str | None,
    ref: str | None,
    path: str | None,
    output: str,
    prune_all: bool,
    database_url: str | None,
) -> None:
    """Show the differences between the desired state and the live store (exit 0 none, 1 some, >1 error)."""
    failures_exit_at_least(2)  # like `kubectl diff`: 1 means "differences"
    source = source_from_options(filenames, repo, ref, path)
    plan = make_plan(
        database_url, source, prune_all=prune_all, read_only=True, show_progress=output != "json"
    )
    click.echo(render(plan, output), nl=False)
    refuse_if_errored(plan)
    if plan.has_changes:
        sys.exit(1)
