"""Initial store schema: one table per kind, relation tables, audit, revisions, locks, generation.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (migrations never import the live models).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)

KIND_TABLES = (
    "templates",
    "servers",
    "projects",
    "prompts",
    "users",
    "groups",
    "role_bindings",
    "mcp_tokens",
    "proxy_models",
)


def _resource_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("managed_by", sa.Text(), nullable=False),
        sa.Column("source_revision", sa.String(255), nullable=True),
        sa.Column("prevent_destroy", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    for table in KIND_TABLES:
        extra: list[sa.Column[object]] = []
        constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]
        if table == "mcp_tokens":
            extra = [
                sa.Column("token_hash", sa.String(64), nullable=False),
                sa.Column("token_prefix", sa.String(32), nullable=False),
                sa.Column("expires_at", TIMESTAMP, nullable=True),
                sa.Column("revoked", sa.Boolean(), nullable=False),
            ]
            constraints.append(sa.UniqueConstraint("token_hash", name="uq_mcp_tokens_token_hash"))
        op.create_table(table, *_resource_columns(), *extra, *constraints)
        op.create_index(f"ix_{table}_project_name", table, ["project", "name"], unique=True)

    op.create_table(
        "project_servers",
        sa.Column("project_name", sa.String(253), nullable=False),
        sa.Column("server_name", sa.String(253), nullable=False),
        sa.PrimaryKeyConstraint("project_name", "server_name", name="pk_project_servers"),
    )
    op.create_index("ix_project_servers_server_name", "project_servers", ["server_name"])
    op.create_table(
        "group_members",
        sa.Column("group_name", sa.String(253), nullable=False),
        sa.Column("user_name", sa.String(253), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "user_name", name="pk_group_members"),
    )
    op.create_index("ix_group_members_user_name", "group_members", ["user_name"])

    op.create_table(
        "audit_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("project", sa.String(253), nullable=True),
        sa.Column("token_name", sa.String(253), nullable=True),
        sa.Column("user_name", sa.String(253), nullable=True),
        sa.Column("server", sa.String(253), nullable=True),
        sa.Column("tool", sa.String(253), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])
    op.create_index("ix_audit_events_project_ts", "audit_events", ["project", "ts"])
    op.create_index("ix_audit_events_token_name_ts", "audit_events", ["token_name", "ts"])
    op.create_index("ix_audit_events_user_name_ts", "audit_events", ["user_name", "ts"])

    op.create_table(
        "revisions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("revision", sa.String(255), nullable=True),
        sa.Column("plan_digest", sa.String(128), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("actor", sa.String(253), nullable=True),
        sa.Column("applied_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_locks"),
    )
    store_state = op.create_table(
        "store_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_state"),
    )
    op.bulk_insert(store_state, [{"id": 1, "generation": 0}])


def downgrade() -> None:
    for table in ("store_state", "locks", "revisions", "audit_events", "group_members", "project_servers"):
        op.drop_table(table)
    for table in reversed(KIND_TABLES):
        op.drop_table(table)
