"""Audit trail: session, token prefix, argument digest and result size on audit events, their query
indexes, the early dotted kind names renamed, and when each McpToken was last used.

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

AUDIT_COLUMNS = (
    sa.Column("session_id", sa.String(128), nullable=True),
    sa.Column("token_prefix", sa.String(32), nullable=True),
    sa.Column("args_digest", sa.String(71), nullable=True),
    sa.Column("result_size", sa.BigInteger(), nullable=True),
)
AUDIT_INDEXES = {
    "ix_audit_events_session_id_ts": ["session_id", "ts"],
    "ix_audit_events_event_type_ts": ["event_type", "ts"],
}
RENAMED_KINDS = {
    "session.start": "session_open",
    "tool.call": "tool_call",
    "auth.failure": "auth_failure",
}
"""Event types the first schema's docstring named, as the kinds they became (`rbac.decision` rows
that denied become `access_denied`)."""


def upgrade() -> None:
    # Nullable columns without defaults: a catalog change on both databases, no table rewrite.
    for column in AUDIT_COLUMNS:
        op.add_column("audit_events", column.copy())
    for name, columns in AUDIT_INDEXES.items():
        op.create_index(name, "audit_events", columns)
    events = sa.table("audit_events", sa.column("event_type", sa.String), sa.column("outcome", sa.String))
    for old, new in RENAMED_KINDS.items():
        op.execute(events.update().where(events.c.event_type == old).values(event_type=new))
    op.execute(
        events.update()
        .where((events.c.event_type == "rbac.decision") & (events.c.outcome == "denied"))
        .values(event_type="access_denied")
    )
    op.add_column("mcp_tokens", sa.Column("last_used_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mcp_tokens") as batch:
        batch.drop_column("last_used_at")
    for name in AUDIT_INDEXES:
        op.drop_index(name, "audit_events")
    with op.batch_alter_table("audit_events") as batch:
        for column in AUDIT_COLUMNS:
            batch.drop_column(column.name)
