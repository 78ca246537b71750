"""Migrations: they build exactly the tables the models describe, run once, and run safely in parallel."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from mcpctl.errors import StoreError
from mcpctl.store import Store
from mcpctl.store._migrate import alembic_config, head_revision
from mcpctl.store._tables import KIND_TABLES, Base
from mcpctl.store._url import sqlalchemy_url


def test_models_and_migrations_agree(store: Store, database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    expected = {table.__tablename__ for table in KIND_TABLES.values()}  # type: ignore[attr-defined]
    expected |= {"project_servers", "group_members", "audit_events", "revisions", "locks", "store_state"}
    assert tables == expected | {"alembic_version"}


def test_head_revision_agrees_with_alembic() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_is_idempotent_and_reports_the_head(store: Store) -> None:
    assert store.schema_revision() == head_revision() == "0001"
    store.upgrade()
    reopened = Store.open(store.url)
    try:
        assert reopened.schema_revision() == "0001"
        assert reopened.generation() == 0
    finally:
        reopened.close()


def test_open_without_migrating_needs_a_current_schema(database_url: str) -> None:
    with pytest.raises(StoreError, match="run `mcpctl db upgrade`"):
        Store.open(database_url, migrate=False)
    Store.open(database_url).close()
    store = Store.open(database_url, migrate=False)
    assert store.generation() == 0
    store.close()


def test_processes_opening_a_new_store_at_once_migrate_it_once(database_url: str) -> None:
    code = "import sys; from mcpctl.store import Store; print(Store.open(sys.argv[1]).generation())"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, database_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs == ["0\n"] * 3
