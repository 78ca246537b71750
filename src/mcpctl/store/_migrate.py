"""Alembic migrations of the store, run in code: a Config pointing into this package, our connection.

Upgrades run under their own lock, so several processes opening a new store at once are safe. The
"already current?" check reads the version table with plain SQL so a normal open never imports alembic.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from ._lock import MIGRATE_LOCK, begin_locked

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATE_TIMEOUT = 120.0
_REVISION = re.compile(r'^revision = "(?P<id>[^"]+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = (None|"(?P<id>[^"]+)")$', re.MULTILINE)


def alembic_config() -> Config:
    """An alembic Config for the store's migrations (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revision() -> str:
    """The newest migration shipped with this version of mcpctl (the one no other revises)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text()
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            continue
        revisions.add(revision.group("id"))
        if down.group("id"):
            revised.add(down.group("id"))
    (head,) = revisions - revised
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if version is None else str(version)


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (a no-op when it is there already)."""
    if current_revision(engine) == head_revision():
        return
    from alembic import command

    connection = begin_locked(engine, MIGRATE_LOCK, _MIGRATE_TIMEOUT)
    try:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    finally:
        connection.close()
