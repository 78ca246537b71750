"""The store-wide apply lock: a PostgreSQL transaction advisory lock, or `BEGIN IMMEDIATE` on SQLite.

Both are released by the database when the transaction ends or its process dies, so a crash never
leaves the store locked.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError

from mcpctl.errors import LockTimeout

from ._engine import SQLITE_BEGIN

APPLY_LOCK = "apply"
MIGRATE_LOCK = "migrate"


def lock_timeout_error(waited: float) -> LockTimeout:
    """The error for a lock not obtained in time."""
    return LockTimeout(
        f"another apply holds the store lock (waited {waited:g}s); try again or raise --lock-timeout"
    )


def begin_locked(engine: Engine, name: str, timeout: float) -> Connection:
    """A connection inside a new transaction that holds lock `name`; LockTimeout after `timeout` s."""
    if engine.dialect.name == "sqlite":
        return _begin_sqlite(engine, timeout)
    connection = engine.connect()
    try:
        connection.begin()
        _advisory_lock(connection, name, timeout)
    except BaseException:
        connection.close()
        raise
    return connection


def _begin_sqlite(engine: Engine, timeout: float) -> Connection:
    # SQLite has one writer at a time; BEGIN IMMEDIATE takes that slot, waiting up to busy_timeout.
    connection = engine.connect().execution_options(**{SQLITE_BEGIN: ("BEGIN IMMEDIATE", timeout * 1000)})
    try:
        connection.begin()
    except OperationalError as error:
        connection.close()
        if "locked" in str(error.orig) or "busy" in str(error.orig):
            raise lock_timeout_error(timeout) from None
        raise
    except BaseException:
        connection.close()
        raise
    return connection


def _advisory_lock(connection: Connection, name: str, timeout: float) -> None:
    key = _lock_key(connection, name)
    deadline = time.monotonic() + timeout
    pause = 0.01
    while not connection.execute(select(func.pg_try_advisory_xact_lock(key))).scalar_one():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise lock_timeout_error(timeout)
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.2)


def _lock_key(connection: Connection, name: str) -> int:
    # Advisory locks are database-wide; keying by schema keeps stores in different schemas apart.
    where = connection.execute(text("SELECT current_database() || '.' || current_schema()")).scalar_one()
    digest = hashlib.sha256(f"mcpctl:{where}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
