"""Prompt requests: prompts proposed by MCP sessions (`propose_prompt`), waiting for review (store-only).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (migrations never import the live models).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
TABLE = "prompt_requests"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token_name", sa.String(253), nullable=True),
        sa.Column("user_name", sa.String(253), nullable=True),
        sa.Column("session_id", sa.String(128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.String(253), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("branch", sa.String(255), nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_project_name", TABLE, ["project", "name"], unique=True)
    op.create_index(f"ix_{TABLE}_status", TABLE, ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_status", table_name=TABLE)
    op.drop_index(f"ix_{TABLE}_project_name", table_name=TABLE)
    op.drop_table(TABLE)
