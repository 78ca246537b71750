"""`mcpctl delete KIND NAME...`: remove live resources, safely.

Refuses prevent-destroy resources, resources others depend on (unless --cascade) and resources a
gitops source manages (unless --force, since the next apply would bring them back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mcpctl.errors import McpctlError, PlanRefused

from ._completion import KIND, complete_names, complete_projects
from ._main import cli
from ._options import current_actor, database_option, open_store, record_cli_revision

if TYPE_CHECKING:
    from mcpctl.inventory import DeletePlan, Inventory


def check_plan(plan: DeletePlan, *, force: bool) -> list[str]:
    """Raise when the plan must not run; else the warnings to show (gitops-managed resources touched)."""
    from mcpctl.plan import describe_identity
    from mcpctl.schemas import CLI_MANAGER

    if plan.blockers:
        raise McpctlError(f"cannot delete: {'; '.join(plan.blockers)} (delete those first, or use --cascade)")
    protected = [live for live in plan.deletes if live.prevent_destroy]
    if protected:
        names = ", ".join(describe_identity(live.identity) for live in protected)
        raise PlanRefused(
            f"{names} is protected by the mcpctl.dev/prevent-destroy annotation; "
            "remove the annotation (and apply) before deleting it"
        )
    managed = [live for live in plan.touched if live.managed_by != CLI_MANAGER]
    warnings = [
        f"{describe_identity(live.identity)} is managed by {live.managed_by}; "
        "the next apply/reconcile of that source will undo this"
        for live in managed
    ]
    if managed and not force:
        raise McpctlError(f"{warnings[0]}; use --force to change it anyway (or remove it from its source)")
    return warnings


def _removals(removed: list[str]) -> str:
    # Entries are `field: name`; group them as `removed a, b from field`.
    by_field: dict[str, list[str]] = {}
    for entry in removed:
        where, _, name = entry.partition(": ")
        by_field.setdefault(where, []).append(name)
    return "; ".join(f"removed {', '.join(sorted(names))} from {where}" for where, names in by_field.items())


def plan_lines(plan: DeletePlan, dry_run: bool) -> list[str]:
    """What the plan did (or, with --dry-run, would do), one line per resource."""
    from ._output import slug

    suffix = " (dry run)" if dry_run else ""
    lines = [
        f"{slug(old.identity)} updated ({_removals(removed)}){suffix}"
        for old, _, removed in plan.updates.values()
    ]
    lines.extend(f"{slug(live.identity)} deleted{suffix}" for live in plan.deletes)
    return lines


@cli.command("delete")
@click.argument("kind", type=KIND)
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@click.option(
    "-p",
    "--project",
    metavar="PROJECT",
    shell_complete=complete_projects,
    help="Project of project-scoped resources (needed only when a name is in several).",
)
@click.option(
    "--cascade",
    is_flag=True,
    help="Also delete dependents that cannot exist without it and drop references from others.",
)
@click.option("--force", is_flag=True, help="Delete (or change) resources managed by a gitops source.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted or changed; write nothing.")
@database_option
def delete(
    kind: str,
    names: tuple[str, ...],
    project: str | None,
    cascade: bool,
    force: bool,
    dry_run: bool,
    database_url: str | None,
) -> None:
    """Delete the NAMEd resources of KIND, in one store transaction.

    A resource used by others (a server in a project, a project with prompts or tokens) is refused
    unless --cascade; prevent-destroy resources are always refused.
    """
    from mcpctl.inventory import Inventory  # the models load only now: `delete --help` stays light

    store = open_store(database_url)
    try:
        if dry_run:
            plan = _plan(Inventory(store), kind, names, project, cascade)
            warnings = check_plan(plan, force=force)
        else:
            with store.transaction(actor=current_actor()) as tx:
                # Planned under the store lock, so the plan is exactly what gets written.
                plan = _plan(Inventory(store), kind, names, project, cascade)
                warnings = check_plan(plan, force=force)
                for old, new, _ in plan.updates.values():
                    tx.put(new, managed_by=old.managed_by, source_revision=old.source_revision)
                for live in plan.deletes:
                    tx.delete(live.identity)
                touched = sorted(str(live.identity) for live in plan.touched)
                record_cli_revision(tx, touched, change=len(plan.updates), destroy=len(plan.deletes))
    finally:
        store.close()
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("\n".join(plan_lines(plan, dry_run)))


def _plan(
    inventory: Inventory, kind: str, names: tuple[str, ...], project: str | None, cascade: bool
) -> DeletePlan:
    from mcpctl.inventory import plan_delete

    targets = [inventory.find(kind, name, project) for name in names]
    return plan_delete(inventory, targets, cascade=cascade)
