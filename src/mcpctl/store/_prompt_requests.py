"""Prompt requests: prompts an MCP session proposed with `propose_prompt`, and what review decided.

Store-only records, not a kind of desired state: approving one writes a Prompt into the config repo,
which then reaches the store through review and the reconciler like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, delete, func, insert, select, update

from mcpctl.errors import AlreadyExists, ResourceNotFound, UsageError

from ._tables import PROMPT_REQUESTS

RequestStatus = Literal["pending", "approved", "rejected"]
REQUEST_STATUSES: tuple[RequestStatus, ...] = get_args(RequestStatus)


@dataclass(frozen=True, slots=True)
class PromptProposal:
    """What a session proposes (already validated as a Prompt by the gateway) and who proposes it."""

    project: str
    name: str
    content: str
    tags: tuple[str, ...] = ()
    summary: str = ""
    token: str | None = None
    """The proposing McpToken's name (None when the gateway runs without auth)."""
    user: str | None = None
    """The User the token acts for."""
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class PromptRequest:
    """One stored proposal and its review."""

    project: str
    name: str
    content: str
    tags: tuple[str, ...]
    summary: str
    status: RequestStatus
    token: str | None
    user: str | None
    session_id: str | None
    created_at: datetime
    updated_at: datetime
    """When the proposal was last (re)proposed or decided."""
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    """Why it was rejected (given with `mcpctl reject`)."""
    branch: str | None = None
    """The config-repo branch the approval committed the Prompt to."""
    commit: str | None = None

    def proposed_by(self, proposal: PromptProposal) -> bool:
        """Whether `proposal` is by whoever made this one: the same token (without auth: the same session)."""
        if self.token is not None or proposal.token is not None:
            return self.token == proposal.token
        return self.session_id == proposal.session_id


_COLUMN_NAMES = {"token": "token_name", "user": "user_name"}
"""Fields of `PromptRequest` whose column is named otherwise (the rest are named alike)."""


def _record(row: Any) -> PromptRequest:
    values = {f.name: getattr(row, _COLUMN_NAMES.get(f.name, f.name)) for f in fields(PromptRequest)}
    return PromptRequest(**values | {"tags": tuple(row.tags)})


def replace_requests(connection: Connection, requests: list[PromptRequest]) -> None:
    """Make the table hold exactly `requests`, each as it was (status, decision, times): a restore."""
    connection.execute(delete(PROMPT_REQUESTS))
    if requests:
        connection.execute(insert(PROMPT_REQUESTS), [_row(request) for request in requests])


def count_requests(connection: Connection) -> int:
    """How many prompt requests the store holds, of any status."""
    return int(connection.execute(select(func.count()).select_from(PROMPT_REQUESTS)).scalar_one())


def column_length(field: str) -> int | None:
    """The longest value the column of `PromptRequest` field `field` holds; None for unbounded text."""
    column = PROMPT_REQUESTS.c[_COLUMN_NAMES.get(field, field)]
    length = getattr(column.type, "length", None)
    return length if isinstance(length, int) else None


def _row(request: PromptRequest) -> dict[str, Any]:
    row = {_COLUMN_NAMES.get(f.name, f.name): getattr(request, f.name) for f in fields(request)}
    return row | {"tags": list(request.tags)}


def select_requests(
    connection: Connection, project: str | None = None, name: str | None = None, status: str | None = None
) -> list[PromptRequest]:
    """Stored requests (of one project, name, status), sorted by project and name."""
    table = PROMPT_REQUESTS
    query = select(table)
    if project is not None:
        query = query.where(table.c.project == project)
    if name is not None:
        query = query.where(table.c.name == name)
    if status is not None:
        query = query.where(table.c.status == status)
    return [_record(row) for row in connection.execute(query.order_by(table.c.project, table.c.name))]


def upsert_proposal(
    connection: Connection, proposal: PromptProposal, *, max_pending: int, now: datetime | None = None
) -> PromptRequest:
    """Store `proposal` as a pending request; its proposer may revise it while it is pending.

    A name whose earlier request was decided starts over as a new proposal. AlreadyExists when another
    proposer's request of that name is pending; UsageError when the project already holds `max_pending`.
    """
    table = PROMPT_REQUESTS
    moment = now or datetime.now(UTC)
    found = select_requests(connection, proposal.project, proposal.name)
    existing = found[0] if found else None
    if existing is not None and existing.status == "pending" and not existing.proposed_by(proposal):
        raise AlreadyExists(
            f"another session's proposal {proposal.name!r} is pending review in project {proposal.project}"
        )
    if existing is None or existing.status != "pending":
        pending = connection.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.project == proposal.project, table.c.status == "pending")
        ).scalar_one()
        if pending >= max_pending:
            raise UsageError(
                f"project {proposal.project} already has {pending} prompt proposals pending review "
                f"(at most {max_pending}); try again once some are approved or rejected"
            )
    values: dict[str, Any] = {
        "content": proposal.content,
        "tags": list(proposal.tags),
        "summary": proposal.summary,
        "status": "pending",
        "token_name": proposal.token,
        "user_name": proposal.user,
        "session_id": proposal.session_id,
        "updated_at": moment,
        "decided_at": None,
        "decided_by": None,
        "reason": None,
        "branch": None,
        "commit": None,
    }
    if existing is None:
        connection.execute(
            insert(table).values(project=proposal.project, name=proposal.name, created_at=moment, **values)
        )
    else:
        if existing.status != "pending":
            values["created_at"] = moment
        connection.execute(
            update(table)
            .where(table.c.project == proposal.project, table.c.name == proposal.name)
            .values(**values)
        )
    return select_requests(connection, proposal.project, proposal.name)[0]


def decide(
    connection: Connection,
    project: str,
    name: str,
    status: RequestStatus,
    *,
    by: str | None,
    reason: str | None = None,
    branch: str | None = None,
    commit: str | None = None,
    now: datetime | None = None,
) -> PromptRequest:
    """Mark a pending request approved or rejected; ResourceNotFound / UsageError when it is not pending."""
    if status == "pending":
        raise ValueError("a decision is approved or rejected")
    table = PROMPT_REQUESTS
    moment = now or datetime.now(UTC)
    changed = connection.execute(
        update(table)
        .where(table.c.project == project, table.c.name == name, table.c.status == "pending")
        .values(
            status=status,
            decided_at=moment,
            updated_at=moment,
            decided_by=by,
            reason=reason,
            branch=branch,
            commit=commit,
        )
    ).rowcount
    found = select_requests(connection, project, name)
    if not found:
        raise ResourceNotFound(f"no prompt request {name!r} in project {project}")
    if not changed:
        raise UsageError(f"prompt request {project}/{name} is already {found[0].status}")
    return found[0]
