"""The live store: open it, read resources, tokens, history and audit, and write under the apply lock.

Every database error reaches callers as `mcpctl.errors.StoreError` with a one-line detail.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Text, cast, delete, insert, select, true, update
from sqlalchemy.exc import SQLAlchemyError

from mcpctl.errors import McpctlError, StoreError, StoreMissing
from mcpctl.schemas import KINDS, Identity, LiveResource, McpTokenSpec, ResourceModel

from ._audit_event import AuditEvent, AuditSession
from ._audit_query import (
    AuditQuery,
    event_row,
    events_statement,
    latest_id_statement,
    row_event,
    row_session,
    sessions_statement,
)
from ._changes import ChangeFeed
from ._codec import canonical_kind, load_resource
from ._engine import make_engine
from ._lock import APPLY_LOCK, begin_locked
from ._migrate import current_revision, head_revision
from ._migrate import upgrade as migrate
from ._prompt_requests import (
    PromptProposal,
    PromptRequest,
    RequestStatus,
    decide,
    select_requests,
    upsert_proposal,
)
from ._records import Revision, TokenRecord
from ._tables import AUDIT_EVENTS, GLOBAL, KIND_TABLES, LOCKS, MCP_TOKENS, REVISIONS, STORE_STATE
from ._transaction import StoreTransaction
from ._url import DatabaseUrl, default_database_url, sqlalchemy_url, sqlite_file

TOUCH_INTERVAL = timedelta(minutes=1)
"""A token's LAST USED is written at most this often per process."""
_MAX_THROTTLED_TOKENS = 10_000


COMMIT_DELAY_ENV = "MCPCTL_TEST_COMMIT_DELAY"
"""Test hook: seconds to wait once every row of a transaction is written, just before it commits
(so a test can kill the process while the rows are in the database but uncommitted)."""


def _pause_before_commit() -> None:
    delay = float(os.environ.get(COMMIT_DELAY_ENV, "0") or 0)
    if delay:
        print(f"{COMMIT_DELAY_ENV}: rows written, committing in {delay} s", file=sys.stderr, flush=True)
        time.sleep(delay)


class Store:
    """The live store on SQLite or PostgreSQL; use `Store.open()`, and `close()` when done."""

    def __init__(self, engine: Engine, url: DatabaseUrl) -> None:
        self._engine = engine
        self.url = url
        """The database URL; its value is the real URL, printing it masks the password."""
        self._touched: dict[str, datetime] = {}
        self._touch_lock = threading.Lock()

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        """Open the store at `url` (default: `default_database_url()`), migrating it unless told not to.

        With `migrate=False` nothing is created or changed: a missing SQLite file or a database
        without the schema is `StoreMissing`, an older schema StoreError; both say to run
        `mcpctl db upgrade`.
        """
        location = DatabaseUrl(url if url is not None else default_database_url())
        if not migrate:
            path = sqlite_file(location)
            if path is not None and not path.exists():
                raise StoreMissing(
                    f"no store at {path}: the SQLite file does not exist (check --database-url or "
                    "MCPCTL_DATABASE_URL); to create one, run `mcpctl db upgrade` or apply desired state"
                )
        store = cls(make_engine(sqlalchemy_url(location)), location)
        try:
            if migrate:
                store.upgrade()
            else:
                store._check_schema()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def change_feed(self) -> ChangeFeed | None:
        """The feed of generations committed by any process (PostgreSQL LISTEN/NOTIFY); None on SQLite,
        whose readers poll `generation()`."""
        if self._engine.dialect.name != "postgresql":
            return None
        return ChangeFeed(str.__str__(self.url))

    def upgrade(self) -> None:
        """Apply pending migrations (alembic upgrade head)."""
        with self._errors("upgrade"):
            migrate(self._engine)

    def schema_revision(self) -> str | None:
        """The migration the database is at (None when empty)."""
        with self._errors("read"):
            return current_revision(self._engine)

    def generation(self) -> int:
        """The store-wide generation; it grows by one with every transaction that changed resources."""
        with self._reading() as connection:
            return _generation(connection)

    def list_resources(
        self,
        kind: str | None = None,
        project: str | None = None,
        *,
        reuse: Mapping[str, ResourceModel] | None = None,
    ) -> list[LiveResource]:
        """Stored resources in kind dependency order, then by project and name; optionally filtered.

        `reuse` maps content hashes (`ResourceModel.content_hash`) to resources the caller holds: a row
        whose stored hash is among them comes back with that resource instead of its JSON being
        validated again (an equal hash is an equal document, as writes already rely on). This is what
        keeps a plan with few changes from re-validating the whole store.
        """
        kinds = [canonical_kind(kind)] if kind is not None else list(KINDS)
        held = reuse or {}
        found: list[LiveResource] = []
        with self._reading() as connection:
            for name in kinds:
                table = KIND_TABLES[name]
                query = _resource_select(table).order_by(table.c.project, table.c.name)
                if project is not None:
                    query = query.where(table.c.project == project)
                found.extend(_live(name, row, held.get(row.spec_hash)) for row in connection.execute(query))
        return found

    def get_resource(self, identity: Identity) -> LiveResource | None:
        """One stored resource by (kind, project, name), or None."""
        kind = canonical_kind(identity.kind)
        table = KIND_TABLES[kind]
        query = _resource_select(table).where(
            table.c.project == (identity.project or GLOBAL), table.c.name == identity.name
        )
        with self._reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else _live(kind, row)

    @contextmanager
    def transaction(
        self, *, lock_timeout: float = 30.0, actor: str | None = None
    ) -> Iterator[StoreTransaction]:
        """Take the apply lock (waiting up to `lock_timeout` s, then LockTimeout) and open one transaction.

        It commits when the block ends normally and rolls back on any exception: nothing half-applied.
        """
        with self._errors("write"):
            connection = begin_locked(self._engine, APPLY_LOCK, lock_timeout)
        try:
            with self._errors("write"):
                generation = _generation(connection)
                _record_holder(connection, actor)
            transaction = StoreTransaction(connection, generation, actor)
            yield transaction
            with self._errors("write"):
                transaction._finish()
                _pause_before_commit()
                connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def history(self, limit: int = 50) -> list[Revision]:
        """The newest `limit` applies, newest first."""
        table = REVISIONS
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        with self._reading() as connection:
            rows = connection.execute(query).all()
        return [
            Revision(
                id=row.id,
                generation=row.generation,
                source=row.source,
                revision=row.revision,
                plan_digest=row.plan_digest,
                counts=_ordered_counts(row.counts),
                actor=row.actor,
                applied_at=row.applied_at,
            )
            for row in rows
        ]

    def find_token(self, token_hash: str) -> TokenRecord | None:
        """The token whose value has this SHA-256 hex digest (see `hash_token`), or None."""
        return self._token_where(MCP_TOKENS.c.token_hash == token_hash)

    def token_record(self, project: str, name: str) -> TokenRecord | None:
        """The stored record (prefix, expiry, revocation) of token `name` in `project`, or None."""
        table = MCP_TOKENS
        return self._token_where((table.c.project == project) & (table.c.name == name))

    def token_records(self, project: str | None = None) -> list[TokenRecord]:
        """The stored records of every token (of one project), in one query; sorted by project, name."""
        table = MCP_TOKENS
        condition = table.c.project == project if project is not None else true()
        return self._tokens_where(condition)

    def _token_where(self, condition: ColumnElement[bool]) -> TokenRecord | None:
        found = self._tokens_where(condition)
        return found[0] if found else None

    def _tokens_where(self, condition: ColumnElement[bool]) -> list[TokenRecord]:
        table = MCP_TOKENS
        query = select(
            table.c.project,
            table.c.name,
            table.c.token_prefix,
            table.c.spec,
            table.c.created_at,
            table.c.expires_at,
            table.c.revoked,
            table.c.token_hash,
            table.c.last_used_at,
        ).where(condition)
        with self._reading() as connection:
            rows = connection.execute(query.order_by(table.c.project, table.c.name)).all()
        return [
            TokenRecord(
                project=row.project,
                name=row.name,
                prefix=row.token_prefix,
                spec=McpTokenSpec.model_validate(row.spec),
                created_at=row.created_at,
                expires_at=row.expires_at,
                revoked=row.revoked,
                token_hash=row.token_hash,
                last_used_at=row.last_used_at,
            )
            for row in rows
        ]

    def propose_prompt(self, proposal: PromptProposal, *, max_pending: int = 100) -> PromptRequest:
        """Store a session's prompt proposal as a pending PromptRequest (see `upsert_proposal`)."""
        with self._errors("write"), self._engine.begin() as connection:
            return upsert_proposal(connection, proposal, max_pending=max_pending)

    def prompt_requests(
        self, project: str | None = None, status: RequestStatus | None = None
    ) -> list[PromptRequest]:
        """Stored prompt requests (of one project, with one status), sorted by project and name."""
        with self._reading() as connection:
            return select_requests(connection, project, status=status)

    def prompt_request(self, project: str, name: str) -> PromptRequest | None:
        """One prompt request, or None."""
        with self._reading() as connection:
            found = select_requests(connection, project, name)
        return found[0] if found else None

    def decide_prompt_request(
        self,
        project: str,
        name: str,
        status: RequestStatus,
        *,
        by: str | None,
        reason: str | None = None,
        branch: str | None = None,
        commit: str | None = None,
    ) -> PromptRequest:
        """Record the decision on a pending request (approved with its branch, or rejected with why)."""
        with self._errors("write"), self._engine.begin() as connection:
            return decide(
                connection, project, name, status, by=by, reason=reason, branch=branch, commit=commit
            )

    def write_audit_events(self, events: Sequence[AuditEvent]) -> None:
        """Insert a batch of audit events in one short transaction (use `AuditWriter` on hot paths)."""
        if not events:
            return
        with self._errors("write"), self._engine.begin() as connection:
            connection.execute(insert(AUDIT_EVENTS), [event_row(event) for event in events])

    def query_audit(self, query: AuditQuery | None = None) -> list[AuditEvent]:
        """Audit events matching `query` (default: the newest 100), newest first; with
        `query.after_id`, the events stored after that id, oldest first."""
        with self._reading() as connection:
            rows = connection.execute(events_statement(query or AuditQuery())).all()
        return [row_event(row) for row in rows]

    def audit_sessions(self, query: AuditQuery | None = None) -> list[AuditSession]:
        """MCP sessions among the events `query` selects (its limit counts sessions), latest first."""
        with self._reading() as connection:
            rows = connection.execute(sessions_statement(query or AuditQuery())).all()
        return [row_session(row) for row in rows]

    def explain_audit(self, query: AuditQuery | None = None, *, sessions: bool = False) -> str:
        """The database's plan for `query_audit(query)` (or `audit_sessions`), to check which index
        serves a filter: SQLite's EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN, one line per step."""
        query = query or AuditQuery()
        statement = sessions_statement(query) if sessions else events_statement(query)
        with self._reading() as connection:
            sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
            rows = connection.exec_driver_sql(prefix + str(sql)).all()
        return "\n".join(str(row[-1]) for row in rows)

    def latest_audit_id(self) -> int:
        """The id of the newest stored audit event (0 when there is none): a follower's start."""
        with self._reading() as connection:
            return int(connection.execute(latest_id_statement()).scalar() or 0)

    def delete_audit_before(self, before: datetime, *, limit: int = 5000) -> int:
        """Delete up to `limit` of the oldest events older than `before` in one short transaction;
        returns how many went (see `prune_audit`, which repeats it until none are left)."""
        table = AUDIT_EVENTS
        oldest = select(table.c.id).where(table.c.ts < before).order_by(table.c.ts).limit(limit)
        with self._errors("write"), self._engine.begin() as connection:
            return int(connection.execute(delete(table).where(table.c.id.in_(oldest))).rowcount)

    def touch_token(self, token_hash: str, when: datetime | None = None) -> bool:
        """Record that the token with this hash was used at `when` (default now) as its LAST USED.

        At most one UPDATE per token and TOUCH_INTERVAL in this process (an in-memory throttle), so
        the gateway may call it on every request; True when it wrote.
        """
        moment = when or datetime.now(UTC)
        with self._touch_lock:
            last = self._touched.get(token_hash)
            if last is not None and abs(moment - last) < TOUCH_INTERVAL:
                return False
            if len(self._touched) >= _MAX_THROTTLED_TOKENS:
                self._touched.clear()
            self._touched[token_hash] = moment
        table = MCP_TOKENS
        statement = (
            update(table)
            .where(table.c.token_hash == token_hash)
            .where(table.c.last_used_at.is_(None) | (table.c.last_used_at < moment))
            .values(last_used_at=moment)
        )
        try:
            with self._errors("write"), self._engine.begin() as connection:
                connection.execute(statement)
        except StoreError:
            with self._touch_lock:
                self._touched.pop(token_hash, None)
            raise
        return True

    def tokens_last_used(self, project: str | None = None) -> dict[tuple[str, str], datetime]:
        """When each token (by project and name) was last used; tokens never used are absent."""
        table = MCP_TOKENS
        query = select(table.c.project, table.c.name, table.c.last_used_at).where(
            table.c.last_used_at.is_not(None)
        )
        if project is not None:
            query = query.where(table.c.project == project)
        with self._reading() as connection:
            return {(row.project, row.name): row.last_used_at for row in connection.execute(query)}

    def _check_schema(self) -> None:
        revision = self.schema_revision()
        if revision is None:
            raise StoreMissing(
                f"the database at {self.url} holds no mcpctl store yet; to create one, run "
                "`mcpctl db upgrade` or apply desired state"
            )
        if revision != head_revision():
            raise StoreError(f"the store at {self.url} is not at the current schema; run `mcpctl db upgrade`")

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._errors("read"), self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # One snapshot for all statements of a read (SQLite's read transaction already is one).
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except McpctlError:
            raise
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            detail = reason[0] if reason else type(error).__name__
            raise StoreError(f"store {action} failed ({self.url}): {detail}") from error


def _resource_select(table: Any) -> Any:
    return select(
        table.c.project,
        cast(table.c.metadata, Text).label("metadata_json"),
        cast(table.c.spec, Text).label("spec_json"),
        table.c.managed_by,
        table.c.source_revision,
        table.c.created_at,
        table.c.updated_at,
        table.c.prevent_destroy,
        table.c.spec_hash,
    )


def _live(kind: str, row: Any, held: ResourceModel | None = None) -> LiveResource:
    return LiveResource(
        resource=held if held is not None else load_resource(kind, row.metadata_json, row.spec_json),
        managed_by=row.managed_by,
        source_revision=row.source_revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        prevent_destroy=row.prevent_destroy,
    )


_ACTION_ORDER = {"create": 0, "add": 0, "update": 1, "change": 1, "replace": 2, "delete": 3, "destroy": 3}


def _ordered_counts(counts: dict[str, int]) -> dict[str, int]:
    # PostgreSQL's jsonb does not keep key order; give both databases the same, plan-like order.
    return dict(sorted(counts.items(), key=lambda item: (_ACTION_ORDER.get(item[0], 9), item[0])))


def _generation(connection: Connection) -> int:
    table = STORE_STATE
    value = connection.execute(select(table.c.generation).where(table.c.id == 1)).scalar_one()
    return int(value)


def _record_holder(connection: Connection, actor: str | None) -> None:
    try:
        who = actor or getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    holder = f"{who}@{socket.gethostname()} pid {os.getpid()}"
    table = LOCKS
    values = {"holder": holder, "acquired_at": datetime.now(UTC)}
    if connection.execute(update(table).where(table.c.name == APPLY_LOCK).values(values)).rowcount == 0:
        connection.execute(insert(table).values(name=APPLY_LOCK, **values))
