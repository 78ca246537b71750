"""`mcpctl edit KIND NAME`: the live resource's YAML in $VISUAL/$EDITOR, validated and applied on save.

Like `kubectl edit`: a file that does not validate is opened again with the problems as a comment at
its top; saving it unchanged (or empty) gives up and changes nothing. The change is applied as a CLI
change (managed by `cli`), through a plan of that one resource, in one store transaction.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from mcpctl.errors import McpctlError, UsageError

from ._completion import KIND, complete_names, complete_projects
from ._main import cli
from ._options import current_actor, database_option, open_store
from ._plan import use_color

if TYPE_CHECKING:
    from mcpctl.schemas import Identity, LiveResource, ResourceModel

_PROBLEM_MARK = "# error: "


class EditCancelled(McpctlError):
    """The edit was given up (saved unchanged or empty); nothing was changed."""


def _header(live: LiveResource, problems: list[str]) -> str:
    from mcpctl.plan import describe_identity
    from mcpctl.schemas import McpToken

    lines = [
        f"# Edit {describe_identity(live.identity)} and save to apply it (managed by `cli` afterwards);",
        "# an empty file, or one saved unchanged, cancels. Lines starting with # are ignored.",
    ]
    if isinstance(live.resource, McpToken):
        lines.append("# Changing a token's spec replaces it: a new value is issued, the old one stops.")
    if problems:
        lines.append("# The file did not validate (lines counted after these comments); fix it or cancel:")
    lines += [f"{_PROBLEM_MARK}{problem}" for problem in problems]
    return "\n".join(lines) + "\n"


def _body(text: str) -> str:
    """The text without its comment lines (the header, and any the user wrote)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def _parse(body: str, live: LiveResource, known: set[Identity]) -> tuple[ResourceModel | None, list[str]]:
    """The edited resource, or the problems that stop it, as `line:col: ...` of the body."""
    from mcpctl.schemas import load_text, validate_documents

    loaded = load_text(body, "edit")
    result = validate_documents(loaded.documents, loaded.problems, known=known)
    if result.errors:
        return None, [str(dataclasses.replace(p, path="line")) for p in result.errors]
    if len(result.resources) != 1:
        return None, [f"the file must hold exactly one resource, found {len(result.resources)}"]
    edited = result.resources[0].resource
    if edited.identity != live.identity:
        return None, [f"kind, name and project cannot change (was {live.identity}, now {edited.identity})"]
    return edited, []


@cli.command("edit")
@click.argument("kind", type=KIND)
@click.argument("name", shell_complete=complete_names)
@click.option(
    "-p", "--project", metavar="PROJECT", shell_complete=complete_projects, help="Project of the resource."
)
@database_option
def edit(kind: str, name: str, project: str | None, database_url: str | None) -> None:
    """Edit a live resource as YAML in $VISUAL or $EDITOR; validated and applied when saved."""
    # The store, the models and the planner load only now, so `edit --help` and TAB stay light.
    from mcpctl.inventory import Inventory
    from mcpctl.plan import diff, render_text
    from mcpctl.reconciler import DesiredState, apply_plan
    from mcpctl.schemas import CLI_MANAGER

    from ._output import document, slug, yaml_text

    store = open_store(database_url)
    try:
        generation = store.generation()
        inventory = Inventory(store)
        live = inventory.find(kind, name, project)
        # References may name anything in the store, as a resource created with the CLI may.
        known = {item.identity for item in store.list_resources()}
        body = yaml_text(document(live.resource)) + "\n"
        problems: list[str] = []
        while True:
            shown = body
            edited_text = click.edit(_header(live, problems) + shown, extension=".yaml", require_save=False)
            if edited_text is None:
                raise UsageError("no editor could be started: set $EDITOR or $VISUAL")
            body = _body(edited_text)
            if not body.strip() or body == shown:
                raise EditCancelled("edit cancelled, no changes made")
            edited, problems = _parse(body, live, known)
            if edited is not None:
                break
        plan = diff(
            [edited], [live], manager=CLI_MANAGER, prune=False, source="cli", base_generation=generation
        )
        if not plan.has_changes:
            click.echo(f"{slug(live.identity)} unchanged")
            return
        click.echo(render_text(plan, color=use_color()), nl=False)
        result = apply_plan(
            store,
            plan,
            actor=current_actor(),
            refresh=DesiredState((edited,), "cli"),
        )
    finally:
        store.close()
    click.echo(f"{slug(live.identity)} edited")
    for token in result.tokens:
        click.echo(f"{token.identity}: new token value (shown only this once):", err=True)
        click.echo(token.value)
