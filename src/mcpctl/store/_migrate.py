"""Alembic migrations of the store, run in code: a Config pointing into this package, our connection.

Upgrades run under their own lock, so several processes opening a new store at once are safe.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ._lock import MIGRATE_LOCK, begin_locked

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATE_TIMEOUT = 120.0


def alembic_config() -> Config:
    """An alembic Config for the store's migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revision() -> str | None:
    """The newest migration shipped with this version of mcpctl."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (a no-op when it is there already)."""
    if current_revision(engine) == head_revision():
        return
    connection = begin_locked(engine, MIGRATE_LOCK, _MIGRATE_TIMEOUT)
    try:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    finally:
        connection.close()
