"""Prompt requests on the command line: `get promptrequests`, `describe promptrequest`, `approve`, `reject`.

A PromptRequest is store-only (what a session proposed with `propose_prompt`); approving one commits the
Prompt's YAML to a new branch of the config repo, from where review and the reconciler take it.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mcpctl.errors import ResourceNotFound, UsageError
from mcpctl.schemas import description_findings, printable

from ._completion import REQUEST_WORDS, complete_projects
from ._main import cli
from ._options import database_option, open_store
from ._output import age, table, yaml_text

if TYPE_CHECKING:
    from mcpctl.schemas import Prompt
    from mcpctl.store import PromptRequest, Store

MAX_REASON_CHARS = 2000
_LABEL_WIDTH = 18


def _proposer(request: PromptRequest) -> str:
    if request.token is None:
        return f"session {(request.session_id or '?')[:8]}"
    return f"token {request.token}" + (f" (User/{request.user})" if request.user else "")


def _document(request: PromptRequest) -> dict[str, Any]:
    return {
        "project": request.project,
        "name": request.name,
        "status": request.status,
        "proposedBy": {"token": request.token, "user": request.user, "session": request.session_id},
        "proposedAt": request.created_at.isoformat(),
        "updatedAt": request.updated_at.isoformat(),
        "decidedAt": request.decided_at.isoformat() if request.decided_at else None,
        "decidedBy": request.decided_by,
        "reason": request.reason,
        "branch": request.branch,
        "commit": request.commit,
        "spec": {"content": request.content, "tags": list(request.tags), "summary": request.summary},
    }


def render_requests(requests: list[PromptRequest], fmt: str, now: datetime | None = None) -> str:
    """`get promptrequests` in a table (`wide` adds the branch and summary), YAML, JSON or names."""
    if fmt == "name":
        return "\n".join(f"promptrequest/{r.name}" for r in requests)
    if fmt in ("yaml", "json"):
        documents = [_document(r) for r in requests]
        data: Any = {"items": documents} if len(documents) != 1 else documents[0]
        return json.dumps(data, indent=2) if fmt == "json" else yaml_text(data)
    moment = now or datetime.now(UTC)
    headers = ["PROJECT", "NAME", "STATUS", "PROPOSED-BY", "CHARS", "AGE"]
    if fmt == "wide":
        headers += ["BRANCH", "SUMMARY"]
    rows = []
    for r in requests:
        row = [r.project, r.name, r.status, _proposer(r), str(len(r.content)), age(r.created_at, moment)]
        if fmt == "wide":
            row += [r.branch or "", r.summary]
        rows.append(row)
    return table(headers, rows)


def show_requests(project: str | None, fmt: str, database_url: str | None, names: tuple[str, ...]) -> None:
    """What `get promptrequests [NAME...] [-p PROJECT]` prints."""
    store = open_store(database_url, read_only=True)
    try:
        requests = store.prompt_requests(project)
    finally:
        store.close()
    if names:
        requests = [r for r in requests if r.name in names]
        missing = sorted(set(names) - {r.name for r in requests})
        if missing:
            raise ResourceNotFound(
                f"no prompt request {missing[0]!r}" + (f" in project {project}" if project else "")
            )
    if not requests and fmt in ("table", "wide", "name"):
        click.echo(f"No prompt requests found{f' in project {project}' if project else ''}.", err=True)
        return
    click.echo(render_requests(requests, fmt))


def find_request(store: Store, name: str, project: str | None) -> PromptRequest:
    """The request named `name` (in `project`, or the only project that has one of that name)."""
    found = [r for r in store.prompt_requests(project) if r.name == name]
    if not found:
        raise ResourceNotFound(f"no prompt request {name!r}" + (f" in project {project}" if project else ""))
    if len(found) > 1:
        projects = ", ".join(r.project for r in found)
        raise UsageError(f"prompt request {name!r} is in several projects ({projects}): pass -p PROJECT")
    return found[0]


def _field(label: str, value: str) -> str:
    return f"{label + ':':<{_LABEL_WIDTH}}{printable(value)}"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "<none>"
    return f"{moment.isoformat(timespec='seconds')} ({age(moment, now)} ago)"


def render_request(request: PromptRequest, now: datetime | None = None) -> str:
    """`describe promptrequest`: who proposed what, the review's outcome, hygiene findings, the content."""
    moment = now or datetime.now(UTC)
    lines = [
        _field("Name", request.name),
        _field("Project", request.project),
        _field("Status", request.status),
        _field("Proposed by", _proposer(request)),
        _field("Proposed", _when(request.created_at, moment)),
        _field("Updated", _when(request.updated_at, moment)),
        _field("Tags", ",".join(request.tags) or "<none>"),
        _field("Summary", request.summary or "<none>"),
    ]
    if request.status != "pending":
        lines.append(_field("Decided", f"{_when(request.decided_at, moment)} by {request.decided_by or '?'}"))
    if request.branch:
        lines.append(_field("Branch", f"{request.branch} ({(request.commit or '')[:12]})"))
    if request.reason:
        lines.append(_field("Reason", request.reason))
    # A reviewer should see what in the text is aimed at a model rather than a reader.
    findings = description_findings(request.content)
    lines.append("Findings:" + ("" if findings else " <none>"))
    lines += [f"  {printable(str(finding))}" for finding in findings]
    lines.append(f"Content ({len(request.content)} characters):")
    lines += [f"  {line}" if line else "" for line in printable(request.content).splitlines()]
    return "\n".join(lines)


def describe_request(name: str, project: str | None, database_url: str | None) -> None:
    store = open_store(database_url, read_only=True)
    try:
        request = find_request(store, name, project)
    finally:
        store.close()
    click.echo(render_request(request))


def request_prompt(request: PromptRequest) -> Prompt:
    """The Prompt an approval writes (validated by its model; priority left at its default)."""
    from mcpctl.schemas import Prompt

    return Prompt.model_validate(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Prompt",
            "metadata": {"name": request.name, "project": request.project},
            "spec": {"content": request.content, "tags": list(request.tags), "summary": request.summary},
        }
    )


def _reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _audit(store: Store, request: PromptRequest) -> None:
    from mcpctl.store import AuditEvent

    detail: dict[str, str | None] = {"prompt": request.name, "status": request.status}
    if request.branch:
        detail |= {"branch": request.branch, "commit": request.commit}
    store.write_audit_events(
        [AuditEvent("prompt_decided", project=request.project, user=request.decided_by, detail=detail)]
    )


def _check_word(what: str) -> None:
    if what.lower() not in REQUEST_WORDS:
        raise UsageError(f'only prompt requests are approved or rejected: "promptrequest", not "{what}"')


def _message(request: PromptRequest) -> str:
    proposer = _proposer(request)
    body = f"Proposed by {proposer} through propose_prompt; approved by {_reviewer()} with mcpctl approve."
    summary = f"\n\n{request.summary}" if request.summary else ""
    return f"Prompt {request.project}/{request.name}: add as proposed{summary}\n\n{body}\n"


@cli.command("approve")
@click.argument("what", metavar="promptrequest")
@click.argument("name")
@click.option(
    "-p", "--project", metavar="PROJECT", shell_complete=complete_projects, help="The request's project."
)
@click.option(
    "--repo",
    "repo",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The config repo's git working copy (its root: where the layout's projects/ lives).",
)
@click.option("--branch", metavar="NAME", help="Branch to create (default: prompt/<project>/<name>).")
@click.option(
    "--author", metavar='"NAME <EMAIL>"', help="Commit author (default: git's user.name and user.email)."
)
@click.option("--push", is_flag=True, help="Push the branch to the remote (origin) too.")
@click.option("--remote", default="origin", show_default=True, help="The remote --push pushes to.")
@database_option
def approve(
    what: str,
    name: str,
    project: str | None,
    repo: Path,
    branch: str | None,
    author: str | None,
    push: bool,
    remote: str,
    database_url: str | None,
) -> None:
    """Commit a pending prompt request's Prompt to a new branch of the config repo and mark it approved.

    Nothing reaches the store here: the branch goes through review and the reconciler like any change.
    """
    from mcpctl.reconciler import commit_prompt

    _check_word(what)
    store = open_store(database_url)
    try:
        request = find_request(store, name, project)
        if request.status != "pending":
            raise UsageError(f"prompt request {request.project}/{request.name} is already {request.status}")
        target = branch or f"prompt/{request.project}/{request.name}"
        done = commit_prompt(
            repo,
            request_prompt(request),
            branch=target,
            message=_message(request),
            author=author,
            push=push,
            remote=remote,
        )
        decided = store.decide_prompt_request(
            request.project, request.name, "approved", by=_reviewer(), branch=done.branch, commit=done.commit
        )
        _audit(store, decided)
    finally:
        store.close()
    pushed = f", pushed to {remote}" if done.pushed else ""
    click.echo(f"committed {done.path} as {done.commit[:12]} on branch {done.branch}{pushed}", err=True)
    click.echo(done.branch)


@cli.command("reject")
@click.argument("what", metavar="promptrequest")
@click.argument("name")
@click.option(
    "-p", "--project", metavar="PROJECT", shell_complete=complete_projects, help="The request's project."
)
@click.option("--reason", required=True, help="Why (the proposing session reads it).")
@database_option
def reject(what: str, name: str, project: str | None, reason: str, database_url: str | None) -> None:
    """Mark a pending prompt request rejected, with the reason its proposer will read."""
    _check_word(what)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise UsageError(f"--reason must be 1 to {MAX_REASON_CHARS} characters")
    store = open_store(database_url)
    try:
        request = find_request(store, name, project)
        decided = store.decide_prompt_request(
            request.project, request.name, "rejected", by=_reviewer(), reason=reason
        )
        _audit(store, decided)
    finally:
        store.close()
    click.echo(f"promptrequest/{decided.name} rejected")
