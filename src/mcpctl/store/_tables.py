"""The store's tables as SQLAlchemy 2 typed ORM models: one table per kind plus bookkeeping tables.

Global resources keep `project = ''` (not NULL) so that (project, name) is unique on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from mcpctl.schemas import KIND_INFO, KindInfo

JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")
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


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (alembic compares by name)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def table_of(model: type[Any]) -> Table:
    """The Core `Table` of an ORM model, typed as such (statements here are written in Core)."""
    table: Table = model.__table__
    return table


class ResourceRow:
    """Columns every kind's table shares."""

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(253), default=GLOBAL)
    name: Mapped[str] = mapped_column(String(253))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_TYPE)
    spec_hash: Mapped[str] = mapped_column(String(64))
    managed_by: Mapped[str] = mapped_column(Text)
    source_revision: Mapped[str | None] = mapped_column(String(255))
    prevent_destroy: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(BigInteger)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        return (Index(None, "project", "name", unique=True),)


class McpTokenRow(ResourceRow, Base):
    """A token: its spec plus the SHA-256 of its value and a display prefix (never the value)."""

    __tablename__ = "mcp_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the gateway last accepted the token (kept to the minute: see `Store.touch_token`)."""


_OWN_ROWS: dict[str, type[ResourceRow]] = {"McpToken": McpTokenRow}
"""Kinds whose table has columns beyond the shared ones; every other kind's is made from its descriptor."""


def _kind_row(info: KindInfo) -> type[ResourceRow]:
    own = _OWN_ROWS.get(info.kind)
    if own is not None:
        if table_of(own).name != info.table:
            raise LookupError(f"{info.kind}: its row class's table is not {info.table!r} (schemas/_kinds.py)")
        return own
    row = type(f"{info.kind}Row", (ResourceRow, Base), {"__tablename__": info.table, "__module__": __name__})
    return cast("type[ResourceRow]", row)


KIND_TABLES: dict[str, type[ResourceRow]] = {kind: _kind_row(info) for kind, info in KIND_INFO.items()}
"""The table of every kind (named by its descriptor), in the dependency order of `mcpctl.schemas.KINDS`."""


class PromptRequestRow(Base):
    """A prompt a session proposed (store-only, not a kind): what, by whom, and the review's outcome."""

    __tablename__ = "prompt_requests"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON_TYPE)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    token_name: Mapped[str | None] = mapped_column(String(253))
    user_name: Mapped[str | None] = mapped_column(String(253))
    session_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(253))
    reason: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(String(255))
    commit: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "project", "name", unique=True),)


class AuditEventRow(Base):
    """One audit event (see `AuditEvent`; never arguments, token values or secrets).

    Column names predate the event's field names: `ts` is `time`, `event_type` is `kind`,
    `token_name` is `token`, `user_name` is `user`. Each (column, ts, id) index serves one filter of
    `query_audit`, newest first; `ts` alone serves unfiltered listings, time ranges and retention.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(String(253))
    session_id: Mapped[str | None] = mapped_column(String(128))
    token_name: Mapped[str | None] = mapped_column(String(253))
    token_prefix: Mapped[str | None] = mapped_column(String(32))
    user_name: Mapped[str | None] = mapped_column(String(253))
    server: Mapped[str | None] = mapped_column(String(253))
    tool: Mapped[str | None] = mapped_column(String(253))
    outcome: Mapped[str] = mapped_column(String(64))
    duration_ms: Mapped[float | None] = mapped_column(Float)
    args_digest: Mapped[str | None] = mapped_column(String(71))
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)

    __table_args__ = tuple(
        # `id` last: the whole ORDER BY ts DESC, id DESC comes from the index, so a LIMIT stops early.
        Index(None, column, "ts", "id")
        for column in ("project", "token_name", "user_name", "session_id", "event_type")
    )


class RevisionRow(Base):
    """One apply: where it came from, what it did, who ran it and when."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)
    revision: Mapped[str | None] = mapped_column(String(255))
    plan_digest: Mapped[str] = mapped_column(String(128))
    counts: Mapped[dict[str, int]] = mapped_column(JSON_TYPE)
    actor: Mapped[str | None] = mapped_column(String(253))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LockRow(Base):
    """Who last took a store lock (written inside the locked transaction, for diagnostics)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreStateRow(Base):
    """A single row (id 1) holding the store-wide generation."""

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)
