"""Alembic environment of the store: runs on the connection `mcpctl.store` hands it, online only.

`Store.upgrade()` builds the alembic Config in code and puts its open connection in `attributes`.
"""

from __future__ import annotations

from alembic import context

from mcpctl.errors import StoreError
from mcpctl.store._tables import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise StoreError("store migrations run through `mcpctl db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=METADATA,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
