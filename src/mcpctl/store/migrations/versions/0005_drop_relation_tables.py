"""Drop `project_servers` and `group_members`: written on every apply, never read.

Alembic logs this first paragraph as one line. The reference graph answers "which projects serve this
server" and "a user's groups" from the resources themselves.

Downgrade creates them again and fills them from the stored Project and Group specs, as 0004's code
kept them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies at this revision (migrations never import the live models).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
RELATIONS = (
    # table, owner column, member column, kind table, spec field
    ("project_servers", "project_name", "server_name", "projects", "servers"),
    ("group_members", "group_name", "user_name", "groups", "members"),
)


def upgrade() -> None:
    for table, _, member, _, _ in RELATIONS:
        op.drop_index(f"ix_{table}_{member}", table_name=table)
        op.drop_table(table)


def downgrade() -> None:
    connection = op.get_bind()
    for table, owner, member, kinds, field in RELATIONS:
        relation = op.create_table(
            table,
            sa.Column(owner, sa.String(253), nullable=False),
            sa.Column(member, sa.String(253), nullable=False),
            sa.PrimaryKeyConstraint(owner, member, name=f"pk_{table}"),
        )
        op.create_index(f"ix_{table}_{member}", table, [member])
        stored = sa.table(kinds, sa.column("name", sa.String()), sa.column("spec", JSON))
        rows = [
            {owner: name, member: item}
            for name, spec in connection.execute(sa.select(stored.c.name, stored.c.spec))
            for item in sorted(set((spec or {}).get(field, [])))
        ]
        if rows:
            op.bulk_insert(relation, rows)
