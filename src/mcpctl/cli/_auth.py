"""`mcpctl auth can-i`: may a subject do something, and why? Asked of the live store or of a config repo.

Exit 0 for yes, 1 for no; anything else (bad usage, an invalid repo, an unreachable store) exits 2, so
a pipeline expecting "no" never mistakes an error for one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from mcpctl.errors import UsageError

from ._completion import complete_projects
from ._kinds import resolve_kind
from ._main import cli, failures_exit_at_least
from ._options import database_option, open_store
from ._plan import filename_option

if TYPE_CHECKING:
    from mcpctl.policy import PermissionSet, PolicySet


@cli.group("auth")
def auth() -> None:
    """Questions about permissions: who may do what, and why."""


def resource_word(word: str) -> str:
    """`servers`, `server`, `srv`, `Server` → `servers`; anything else is left for `check_request`."""
    from mcpctl.policy import KIND_RESOURCES, RESOURCES

    if word in RESOURCES:
        return word
    kind = resolve_kind(word)
    return KIND_RESOURCES.get(kind, word) if kind else word


def parse_target(target: str | None) -> tuple[str | None, str | None, str | None]:
    """`RESOURCE[/NAME[/TOOL]]` as (resource, name, tool); `*` for NAME means every name."""
    if target is None:
        return None, None, None
    resource, _, rest = target.partition("/")
    name, _, tool = rest.partition("/")
    return resource_word(resource), (name if name not in ("", "*") else None), (tool or None)


def load_policy(filenames: Sequence[str], database_url: str | None) -> PolicySet:
    """The policy of a config repo (validated; invalid is an error) or, without files, of the live store."""
    from mcpctl.policy import POLICY_KINDS, PolicySet
    from mcpctl.schemas import load_and_validate

    if filenames:
        result = load_and_validate(filenames)
        result.raise_for_errors()
        return PolicySet.from_resources(result.models())
    store = open_store(database_url)
    try:
        return PolicySet.from_resources(live for kind in POLICY_KINDS for live in store.list_resources(kind))
    finally:
        store.close()


def render_list(permissions: PermissionSet, project: str | None) -> str:
    """Everything the subject may do, one grant per row, or a line saying it may do nothing."""
    from mcpctl.inventory import PERMISSION_COLUMNS, grant_row

    from ._output import table

    if not permissions.grants:
        where = f" in project {project}" if project else ""
        notes = "".join(f"; {note}" for note in permissions.notes)
        return f"{permissions.subject} may do nothing{where}{notes}"
    return table(PERMISSION_COLUMNS, [grant_row(g) for g in permissions.grants])


@auth.command("can-i")
@click.argument("verb", required=False)
@click.argument("target", metavar="[RESOURCE[/NAME[/TOOL]]]", required=False)
@click.option(
    "--as",
    "subject",
    required=True,
    metavar="SUBJECT",
    help="User/NAME, Group/NAME, ServiceAccount/NAME or McpToken/PROJECT/NAME.",
)
@click.option(
    "-p",
    "--project",
    metavar="PROJECT",
    shell_complete=complete_projects,
    help="Ask within this project (default: outside any project; a token's own project).",
)
@filename_option
@click.option("--list", "list_all", is_flag=True, help="Print all the subject may do, with provenance.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; answer with the exit code only.")
@database_option
def can_i(
    verb: str | None,
    target: str | None,
    subject: str,
    project: str | None,
    filenames: tuple[str, ...],
    list_all: bool,
    quiet: bool,
    database_url: str | None,
) -> None:
    """May SUBJECT do VERB on RESOURCE[/NAME[/TOOL]]? Prints yes or no and why; exit 0 yes, 1 no.

    VERB is a role (view, create, edit, delete, run) with a RESOURCE (servers, prompts, ... or *),
    or an operation (backup, logs, impersonate, audit) alone. With -f the question is asked of that
    config repo (no store needed); without, of the live store.
    """
    failures_exit_at_least(2)  # 1 means "no", so a failure must not read as one
    # The policy and the models load only now, so `auth --help` and TAB stay light.
    from mcpctl.policy import OPERATIONS, check_request, parse_subject

    who = parse_subject(subject, project)
    if list_all:
        if verb is not None:
            raise UsageError("--list takes no VERB or RESOURCE")
    elif verb is None:
        raise UsageError("give VERB [RESOURCE[/NAME[/TOOL]]], or --list")
    elif verb in OPERATIONS and target is not None:
        raise UsageError(f'"{verb}" is an operation: it takes no RESOURCE')
    resource, name, tool = parse_target(target)
    if verb is not None:
        check_request(verb, resource, name, tool)
    permissions = load_policy(filenames, database_url).permissions_of(who)
    if list_all:
        click.echo(render_list(permissions.in_project(project) if project else permissions, project))
        return
    assert verb is not None
    decision = permissions.decide(verb, resource, name, tool, project)
    if not quiet:
        click.echo("yes" if decision.allowed else "no")
        click.echo(f"  {decision.reason}")
    sys.exit(0 if decision.allowed else 1)
