"""The store's tables as SQLAlchemy Core `Table`s: one table per kind plus bookkeeping tables.

Global resources keep `project = ''` (not NULL) so that (project, name) is unique on every database.
Core, not the ORM: every statement here is written in Core, and declaring the tables through the ORM
cost every store command ~0.1 s of imports and mapper set-up for nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from mcpctl.schemas import KIND_INFO


class JSONDocument(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL.

    What `JSON().with_variant(JSONB(), "postgresql")` declares, but without importing the PostgreSQL
    dialect (~0.02 s) in every process that only ever opens SQLite.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSON_TYPE = JSONDocument()
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incrementing rowid."""

GLOBAL = ""
"""`project` of global resources."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


METADATA = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""Every table, with deterministic constraint names (alembic compares by name)."""


def _id() -> Column[int]:
    return Column("id", ID_TYPE, primary_key=True, autoincrement=True)


def _resource_table(name: str, *extra: Column[Any]) -> Table:
    """A kind's table: the columns every kind shares, then `extra`."""
    return Table(
        name,
        METADATA,
        _id(),
        Column("project", String(253), nullable=False, default=GLOBAL),
        Column("name", String(253), nullable=False),
        Column("spec", JSON_TYPE, nullable=False),
        Column("metadata", JSON_TYPE, nullable=False),
        Column("spec_hash", String(64), nullable=False),
        Column("managed_by", Text, nullable=False),
        Column("source_revision", String(255)),
        Column("prevent_destroy", Boolean, nullable=False, default=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("generation", BigInteger, nullable=False),
        *extra,
        Index(None, "project", "name", unique=True),
    )


_EXTRA_COLUMNS: dict[str, tuple[Column[Any], ...]] = {
    # A token: its spec plus the SHA-256 of its value and a display prefix (never the value).
    "McpToken": (
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("token_prefix", String(32), nullable=False),
        Column("expires_at", UTCDateTime),
        Column("revoked", Boolean, nullable=False, default=False),
        # When the gateway last accepted the token (kept to the minute: see `Store.touch_token`).
        Column("last_used_at", UTCDateTime),
    ),
}
"""Columns beyond the shared ones, for the kinds that have any."""

KIND_TABLES: dict[str, Table] = {
    kind: _resource_table(info.table, *_EXTRA_COLUMNS.get(kind, ())) for kind, info in KIND_INFO.items()
}
"""The table of every kind (named by its descriptor), in the dependency order of `mcpctl.schemas.KINDS`."""
if unknown := set(_EXTRA_COLUMNS) - set(KIND_TABLES):
    raise LookupError(f"extra store columns for unknown kinds {sorted(unknown)}")

MCP_TOKENS = KIND_TABLES["McpToken"]
"""The McpToken table, whose token columns some statements use."""

PROMPT_REQUESTS = Table(
    "prompt_requests",
    METADATA,
    _id(),
    Column("project", String(253), nullable=False),
    Column("name", String(253), nullable=False),
    Column("content", Text, nullable=False),
    Column("tags", JSON_TYPE, nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("token_name", String(253)),
    Column("user_name", String(253)),
    Column("session_id", String(128)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(253)),
    Column("reason", Text),
    Column("branch", String(255)),
    Column("commit", String(64)),
    Index(None, "project", "name", unique=True),
)
"""Prompts a session proposed (store-only, not a kind): what, by whom, and the review's outcome."""

AUDIT_EVENTS = Table(
    "audit_events",
    METADATA,
    _id(),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("correlation_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("project", String(253)),
    Column("session_id", String(128)),
    Column("token_name", String(253)),
    Column("token_prefix", String(32)),
    Column("user_name", String(253)),
    Column("server", String(253)),
    Column("tool", String(253)),
    Column("outcome", String(64), nullable=False),
    Column("duration_ms", Float),
    Column("args_digest", String(71)),
    Column("result_size", BigInteger),
    Column("detail", JSON_TYPE, nullable=False),
    # `id` last: the whole ORDER BY ts DESC, id DESC comes from the index, so a LIMIT stops early.
    *(
        Index(None, column, "ts", "id")
        for column in ("project", "token_name", "user_name", "session_id", "event_type")
    ),
)
"""Audit events (see `AuditEvent`; never arguments, token values or secrets).

Column names predate the event's field names: `ts` is `time`, `event_type` is `kind`, `token_name` is
`token`, `user_name` is `user`. Each (column, ts, id) index serves one filter of `query_audit`, newest
first; `ts` alone serves unfiltered listings, time ranges and retention.
"""

REVISIONS = Table(
    "revisions",
    METADATA,
    _id(),
    Column("generation", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("revision", String(255)),
    Column("plan_digest", String(128), nullable=False),
    Column("counts", JSON_TYPE, nullable=False),
    Column("actor", String(253)),
    Column("applied_at", UTCDateTime, nullable=False),
)
"""One row per apply: where it came from, what it did, who ran it and when."""

LOCKS = Table(
    "locks",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)
"""Who last took a store lock (written inside the locked transaction, for diagnostics)."""

STORE_STATE = Table(
    "store_state",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
)
"""A single row (id 1) holding the store-wide generation."""
