"""A store write transaction: buffers puts and deletes, then writes them in bulk when it commits.

Existing keys are read once per kind and transaction, and writes go out as executemany batches, so
10,000 puts cost a handful of statements rather than 20,000 round trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from mcpctl.errors import PlanRefused, StoreError
from mcpctl.schemas import PREVENT_DESTROY_ANNOTATION, Identity, McpToken, ResourceModel

from ._audit_event import AuditEvent, new_correlation_id
from ._audit_query import event_row
from ._changes import notify_change
from ._codec import canonical_kind, resource_values
from ._prompt_requests import PromptRequest, count_requests, replace_requests
from ._tables import AUDIT_EVENTS, GLOBAL, KIND_TABLES, REVISIONS, STORE_STATE
from ._tokens import display_prefix, generate_token, hash_token

_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    spec_hash: str
    managed_by: str
    source_revision: str | None
    prevent_destroy: bool


@dataclass(slots=True)
class _Put:
    resource: ResourceModel
    values: dict[str, Any]
    replace: bool
    """True when a row of this identity exists and must be deleted first (delete, then put again)."""
    token: dict[str, Any] | None = None
    """Hash, prefix and expiry of a newly created token value."""
    kept: dict[str, Any] | None = None
    """Column values written as given (timestamps, a token's hash): what a restore puts back."""


@dataclass(slots=True)
class _Delete:
    """A pending delete: the identity it removes is the key it is stored under."""


class StoreTransaction:
    """Writes to the store under its lock; get one from `Store.transaction()`, never construct it.

    Puts and deletes are buffered and written when the block ends, so `Store` reads made inside the
    block see the store as it was when the transaction began (which is what a plan is made against).
    Within one transaction: delete then put/create_token of the same identity replaces the row (new
    created_at); put then delete stores nothing; a put identical to the stored row is not a change.
    """

    def __init__(self, connection: Connection, generation: int, actor: str | None) -> None:
        self.generation = generation
        """The store generation read under the lock when the transaction began."""
        self.actor = actor
        self.correlation_id = new_correlation_id()
        """Shared by every audit event this transaction writes (its apply and what caused it)."""
        self._connection = connection
        self._existing: dict[str, dict[tuple[str, str], _Existing]] = {}
        self._pending: dict[Identity, _Put | _Delete] = {}
        self._revision_ids: list[int] = []
        self._changed = False

    def put(self, resource: ResourceModel, *, managed_by: str, source_revision: str | None = None) -> None:
        """Create or update a resource (created_at and a token's hash are kept on update)."""
        identity = resource.identity
        existing = self._existing_row(identity)
        previous = self._pending.get(identity)
        values = resource_values(resource) | {"managed_by": managed_by, "source_revision": source_revision}
        token: dict[str, Any] | None = None
        if isinstance(resource, McpToken):
            if isinstance(previous, _Put) and previous.token is not None:
                token = previous.token
            elif existing is None or isinstance(previous, _Delete):
                raise StoreError(f"{identity} has no token value yet: create it with create_token, not put")
        replace = existing is not None and (
            isinstance(previous, _Delete) or (isinstance(previous, _Put) and previous.replace)
        )
        if previous is None and existing is not None and _unchanged(existing, values):
            return
        self._pending[identity] = _Put(resource, values, replace=replace, token=token)

    def delete(self, identity: Identity, *, force: bool = False) -> None:
        """Delete a resource; StoreError if absent, PlanRefused if it is prevent-destroy (unless force)."""
        identity = Identity(canonical_kind(identity.kind), identity.project or None, identity.name)
        existing = self._existing_row(identity)
        previous = self._pending.get(identity)
        if isinstance(previous, _Delete) or (previous is None and existing is None):
            raise StoreError(f"{identity} not found in the store")
        if isinstance(previous, _Put):
            protected = bool(previous.values["prevent_destroy"])
        else:
            protected = existing is not None and existing.prevent_destroy
        if protected and not force:
            raise PlanRefused(
                f"{identity} is protected by {PREVENT_DESTROY_ANNOTATION}; remove the mark first"
            )
        if existing is None:
            del self._pending[identity]
        else:
            self._pending[identity] = _Delete()

    def create_token(self, resource: McpToken, *, managed_by: str, source_revision: str | None = None) -> str:
        """Create (or regenerate) a token; returns its value, which is stored only as a SHA-256 hash."""
        identity = resource.identity
        existing = self._existing_row(identity)
        value = generate_token()
        created_at = datetime.now(UTC)
        token = {
            "token_hash": hash_token(value),
            "token_prefix": display_prefix(value),
            "expires_at": resource.spec.expiry(created_at),
            # The row's created_at is the moment the value was made, which the expiry counts from.
            "created_at": created_at,
            "updated_at": created_at,
        }
        values = resource_values(resource) | {"managed_by": managed_by, "source_revision": source_revision}
        self._pending[identity] = _Put(resource, values, replace=existing is not None, token=token)
        return value

    def restore(
        self,
        resource: ResourceModel,
        *,
        managed_by: str,
        source_revision: str | None,
        created_at: datetime,
        updated_at: datetime,
        token: Mapping[str, Any] | None = None,
    ) -> None:
        """Write a resource exactly as a backup holds it: its manager, revision and timestamps, and for a
        token its `token_hash`, `token_prefix` and `expires_at` (so its value keeps working)."""
        identity = resource.identity
        if isinstance(resource, McpToken) and token is None:
            raise StoreError(f"{identity}: a restored token needs its token_hash, token_prefix, expires_at")
        existing = self._existing_row(identity)
        values = resource_values(resource) | {"managed_by": managed_by, "source_revision": source_revision}
        kept = {"created_at": created_at, "updated_at": updated_at, **(token or {})}
        self._pending[identity] = _Put(resource, values, replace=existing is not None, kept=kept)

    def restore_prompt_requests(self, requests: list[PromptRequest]) -> None:
        """Replace every stored prompt request with `requests`, as a backup holds them."""
        replace_requests(self._connection, requests)

    def prompt_request_count(self) -> int:
        """How many prompt requests the store holds (read in this transaction)."""
        return count_requests(self._connection)

    def record_revision(
        self,
        *,
        source: str,
        revision: str | None,
        plan_digest: str,
        counts: Mapping[str, int],
        actor: str | None = None,
    ) -> int:
        """Add an apply to the history (and its `apply` audit event); its generation is the one this
        transaction commits."""
        applied_at = datetime.now(UTC)
        actor = actor if actor is not None else self.actor
        row = {
            "generation": self.generation,
            "source": source,
            "revision": revision,
            "plan_digest": plan_digest,
            "counts": dict(counts),
            "actor": actor,
            "applied_at": applied_at,
        }
        table = REVISIONS
        new_id = int(self._connection.execute(insert(table).returning(table.c.id), row).scalar_one())
        self._revision_ids.append(new_id)
        self.record_audit(
            AuditEvent(
                "apply",
                time=applied_at,
                user=actor,
                detail={"revision": new_id, "source": source, "commit": revision, **counts},
            )
        )
        return new_id

    def record_audit(self, *events: AuditEvent) -> None:
        """Write audit events in this transaction (they commit or roll back with it), each with the
        transaction's correlation id. `record_revision` writes the `apply` event itself."""
        if events:
            rows = [event_row(replace(event, correlation_id=self.correlation_id)) for event in events]
            self._connection.execute(insert(AUDIT_EVENTS), rows)

    def _existing_row(self, identity: Identity) -> _Existing | None:
        rows = self._existing.get(identity.kind)
        if rows is None:
            table = KIND_TABLES[identity.kind]
            result = self._connection.execute(
                select(
                    table.c.id,
                    table.c.project,
                    table.c.name,
                    table.c.spec_hash,
                    table.c.managed_by,
                    table.c.source_revision,
                    table.c.prevent_destroy,
                )
            )
            rows = {
                (r.project, r.name): _Existing(
                    r.id, r.spec_hash, r.managed_by, r.source_revision, r.prevent_destroy
                )
                for r in result
            }
            self._existing[identity.kind] = rows
        return rows.get((identity.project or GLOBAL, identity.name))

    def _finish(self) -> None:
        """Write everything pending and, when anything changed, bump the generation (once)."""
        self._flush()
        if not self._changed:
            return
        new_generation = self.generation + 1
        state = STORE_STATE
        self._connection.execute(update(state).where(state.c.id == 1).values(generation=new_generation))
        notify_change(self._connection, new_generation)  # delivered by PostgreSQL when this commits
        if self._revision_ids:
            revisions = REVISIONS
            self._connection.execute(
                update(revisions)
                .where(revisions.c.id.in_(self._revision_ids))
                .values(generation=new_generation)
            )

    def _flush(self) -> None:
        """Write the pending puts and deletes to the database (still uncommitted)."""
        if not self._pending:
            return
        new_generation = self.generation + 1
        now = datetime.now(UTC)
        deletes: dict[str, list[int]] = {}
        updates: dict[str, list[dict[str, Any]]] = {}
        inserts: dict[str, list[dict[str, Any]]] = {}
        for identity, operation in self._pending.items():
            existing = self._existing_row(identity)
            if existing is not None and (isinstance(operation, _Delete) or operation.replace):
                deletes.setdefault(identity.kind, []).append(existing.id)
            if isinstance(operation, _Delete):
                continue
            row = operation.values | {"generation": new_generation, "updated_at": now}
            if existing is None or operation.replace:
                row["created_at"] = now
            if operation.token is not None:
                row |= operation.token
            if isinstance(operation.resource, McpToken):
                row["revoked"] = operation.resource.spec.revoked
            if operation.kept is not None:
                row |= operation.kept
            if existing is None or operation.replace:
                inserts.setdefault(identity.kind, []).append(row)
            else:
                updates.setdefault(identity.kind, []).append(row | {"row_id": existing.id})
        for kind, ids in deletes.items():
            table = KIND_TABLES[kind]
            for start in range(0, len(ids), _CHUNK):
                self._connection.execute(delete(table).where(table.c.id.in_(ids[start : start + _CHUNK])))
        for kind, rows in updates.items():
            self._update_rows(KIND_TABLES[kind], rows)
        for kind, rows in inserts.items():
            self._connection.execute(insert(KIND_TABLES[kind]), rows)
        self._changed = True
        self._pending.clear()
        self._existing.clear()

    def _update_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # Rows of one kind may differ in which columns they set (tokens with a new value); group by keys.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            by_columns.setdefault(tuple(sorted(row)), []).append(row)
        for columns, group in by_columns.items():
            statement = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({column: bindparam(column) for column in columns if column != "row_id"})
            )
            self._connection.execute(statement, group)


def _unchanged(existing: _Existing, values: Mapping[str, Any]) -> bool:
    return bool(
        existing.spec_hash == values["spec_hash"]
        and existing.managed_by == values["managed_by"]
        and existing.source_revision == values["source_revision"]
    )
