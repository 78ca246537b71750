"""Engines for the store: SQLite in WAL mode with foreign keys and explicit BEGIN modes, or psycopg 3.

SQLite transactions are begun by us (the driver's own handling is turned off), so a writer can ask for
`BEGIN IMMEDIATE` with a busy timeout: that is the store lock on SQLite, and it works across processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

SQLITE_BEGIN = "mcpctl_sqlite_begin"
"""Execution option: `(statement, busy_timeout_ms)` used to begin the next SQLite transaction."""

_READ_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: URL) -> Engine:
    """A pooled engine for `url` with the per-backend setup the store relies on."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # None = autocommit in the driver: we issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {_READ_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        statement, busy_ms = connection.get_execution_options().get(
            SQLITE_BEGIN, ("BEGIN", _READ_BUSY_TIMEOUT_MS)
        )
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy_ms)}")
        connection.exec_driver_sql(statement)

    return engine
