"""Audit trail: more event columns, an index per filter, kind names renamed, tokens' last use.

(Alembic logs the first paragraph as "Running upgrade ..., <it>", so it stays on one line.) The events
gain session, token prefix, argument digest and result size; each filter gets an index (column, ts, id);
the early dotted kind names are renamed; and each McpToken records when it was last used.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("session_id", sa.String(128), nullable=True),
        sa.Column("token_prefix", sa.String(32), nullable=True),
        sa.Column("args_digest", sa.String(71), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
    ]


FILTER_COLUMNS = ("project", "token_name", "user_name", "session_id", "event_type")
"""Each gets a (column, ts, id) index: the filter, then the newest-first order, whole."""
OLD_INDEXES = {
    "ix_audit_events_project_ts": ["project", "ts"],
    "ix_audit_events_token_name_ts": ["token_name", "ts"],
    "ix_audit_events_user_name_ts": ["user_name", "ts"],
}
"""The first schema's indexes, which left PostgreSQL a sort on id after each lookup."""
RENAMED_KINDS = {
    "session.start": "session_open",
    "tool.call": "tool_call",
    "auth.failure": "auth_failure",
}
"""Event types the first schema's docstring named, as the kinds they became (`rbac.decision` rows
that denied become `access_denied`)."""


def upgrade() -> None:
    # Nullable columns without defaults: a catalog change on both databases, no table rewrite.
    for column in _audit_columns():
        op.add_column("audit_events", column)
    events = sa.table("audit_events", sa.column("event_type", sa.String), sa.column("outcome", sa.String))
    for old, new in RENAMED_KINDS.items():
        op.execute(events.update().where(events.c.event_type == old).values(event_type=new))
    op.execute(
        events.update()
        .where((events.c.event_type == "rbac.decision") & (events.c.outcome == "denied"))
        .values(event_type="access_denied")
    )
    for name in OLD_INDEXES:
        op.drop_index(name, "audit_events")
    for filtered in FILTER_COLUMNS:
        op.create_index(f"ix_audit_events_{filtered}_ts_id", "audit_events", [filtered, "ts", "id"])
    op.add_column("mcp_tokens", sa.Column("last_used_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mcp_tokens") as batch:
        batch.drop_column("last_used_at")
    for filtered in FILTER_COLUMNS:
        op.drop_index(f"ix_audit_events_{filtered}_ts_id", "audit_events")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "audit_events", columns)
    with op.batch_alter_table("audit_events") as batch:
        for column in _audit_columns():
            batch.drop_column(column.name)
