"""`mcpctl apply`: show the plan, ask, and make the live store match (or apply a saved plan exactly)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mcpctl.errors import PlanRefused, StalePlan, UsageError

from ._main import cli
from ._options import current_actor, database_option, open_store
from ._plan import filename_option, plan_source, prune_all_option, refuse_if_errored, use_color
from ._progress import progress
from ._source_options import source_from_options, source_options

if TYPE_CHECKING:
    from mcpctl.plan import Plan
    from mcpctl.reconciler import ApplyResult, DesiredState


def _confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise PlanRefused("refusing to apply without confirmation: stdin is not a terminal; pass --yes")
    if not click.confirm("Apply these changes?", default=False):
        raise PlanRefused("apply cancelled; nothing was changed")


def _report(result: ApplyResult) -> None:
    counts = result.counts
    click.echo(
        f"Apply complete! Resources: {counts['add']} added, {counts['change']} changed, "
        f"{counts['destroy']} destroyed."
    )
    for token in result.tokens:
        if token.path is not None:
            click.echo(f"{token.identity}: token value written to {token.path} (mode 0600)")
        else:
            # Shown once, by design: the store keeps only its hash.
            click.echo(f"{token.identity}: {token.value}")
    if result.tokens and all(token.path is None for token in result.tokens):
        click.echo("Token values are shown only this once; store them now.", err=True)


def _refuse_if_stale(database_url: str | None, plan: Plan) -> None:
    """Refuse a saved plan made at another store generation before showing it (apply re-checks it)."""
    if plan.base_generation is None:
        return
    store = open_store(database_url)
    try:
        generation = store.generation()
    finally:
        store.close()
    if generation != plan.base_generation:
        raise StalePlan(
            f"the plan was made at store generation {plan.base_generation}, but the store is now at "
            f"generation {generation}: it changed since; run plan again"
        )


@cli.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@filename_option
@source_options
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--lock-timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for the lock."
)
@click.option(
    "--token-output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write new token values to DIR/<project>.<name>.token (mode 0600) instead of printing them; "
    "an existing file is replaced only when it holds the old value of the token being replaced.",
)
@click.option(
    "--overwrite-tokens",
    is_flag=True,
    help="With --token-output: replace existing token files even when they hold another value.",
)
@prune_all_option
@database_option
def apply_command(
    planfile: Path | None,
    filenames: tuple[str, ...],
    repo: str | None,
    ref: str | None,
    path: str | None,
    yes: bool,
    lock_timeout: float,
    token_output: Path | None,
    overwrite_tokens: bool,
    prune_all: bool,
    database_url: str | None,
) -> None:
    """Make the live store match the desired state (-f PATH...), or apply a saved PLANFILE exactly."""
    if planfile is not None and (filenames or repo):
        raise UsageError("give either a saved plan file or -f PATH / --repo URL, not both")
    if overwrite_tokens and token_output is None:
        raise UsageError("--overwrite-tokens needs --token-output DIR")
    # The plans, the reconciler and the store load only now, so `apply --help` and TAB stay light.
    from mcpctl.plan import load_plan, render_text
    from mcpctl.reconciler import apply_plan

    plan: Plan
    state: DesiredState | None = None
    if planfile is not None:
        if prune_all:
            raise UsageError("--prune-all is decided when the plan is made, not when a saved plan is applied")
        plan = load_plan(planfile)
        _refuse_if_stale(database_url, plan)
    else:
        source = source_from_options(filenames, repo, ref, path)
        plan, state = plan_source(database_url, source, prune_all=prune_all)
    click.echo(render_text(plan, color=use_color()), nl=False)
    refuse_if_errored(plan)
    if not plan.has_changes:
        return
    if planfile is None:
        # A saved plan was reviewed when it was made (as with terraform); -f input is confirmed here.
        _confirm(yes)
    store = open_store(database_url)
    try:
        with progress("Applying changes", timer=True) as tick:
            # -f input is planned again under the lock if another apply got in first; a saved plan never is.
            result = apply_plan(
                store,
                plan,
                lock_timeout=lock_timeout,
                actor=current_actor(),
                token_output=token_output,
                overwrite_tokens=overwrite_tokens,
                refresh=state,
                accept_different=yes,
                progress=tick,
            )
    finally:
        store.close()
    if result.plan is not None and result.plan.changes != plan.changes:
        click.echo("The store changed while waiting for the lock; applied this plan instead:")
        click.echo(render_text(result.plan, color=use_color()), nl=False)
    _report(result)
