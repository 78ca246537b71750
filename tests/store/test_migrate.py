"""Migrations: they build exactly the tables the models describe, run once, run safely in parallel, and
keep the rows of earlier revisions."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, create_engine, insert, inspect, table, text
from sqlalchemy.types import TypeEngine

from _samples import token
from mcpctl.errors import StoreError
from mcpctl.store import AuditEvent, AuditQuery, DatabaseUrl, Store, hash_token
from mcpctl.store._engine import make_engine
from mcpctl.store._migrate import alembic_config, head_revision
from mcpctl.store._tables import JSON_TYPE, KIND_TABLES, METADATA, UTCDateTime
from mcpctl.store._url import sqlalchemy_url

from ._samples import resource


def test_models_and_migrations_agree(store: Store, database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, METADATA) == []
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    expected = {table.name for table in KIND_TABLES.values()}
    expected |= {"audit_events", "revisions", "locks", "store_state"}
    expected |= {"prompt_requests"}
    assert tables == expected | {"alembic_version"}


def test_head_revision_agrees_with_alembic() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_is_idempotent_and_reports_the_head(store: Store) -> None:
    assert store.schema_revision() == head_revision() == "0005"
    store.upgrade()
    reopened = Store.open(store.url)
    try:
        assert reopened.schema_revision() == "0005"
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


def _at_revision(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command

    engine = make_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def test_upgrade_to_the_audit_trail_keeps_existing_rows(database_url: str) -> None:
    _at_revision(database_url, "0001")
    early = Store(make_engine(sqlalchemy_url(database_url)), DatabaseUrl(database_url))
    try:
        assert early.schema_revision() == "0001"
        with early.transaction() as tx:
            value = tx.create_token(token(), managed_by="cli")
        with early._engine.begin() as connection:
            connection.execute(
                insert(table("audit_events", *(column(n, OLD_TYPES.get(n)) for n in OLD_AUDIT_COLUMNS))),
                [
                    {**OLD_ROW, "correlation_id": "a", "event_type": "tool.call", "tool": "echo"},
                    {**OLD_ROW, "correlation_id": "b", "event_type": "auth.failure", "outcome": "denied"},
                    {**OLD_ROW, "correlation_id": "c", "event_type": "rbac.decision", "outcome": "denied"},
                    {**OLD_ROW, "correlation_id": "d", "event_type": "session.start"},
                ],
            )
    finally:
        early.close()

    with Store.open(database_url) as store:
        assert store.schema_revision() == "0005"
        events = store.query_audit()
        assert [(e.correlation_id, e.kind, e.outcome) for e in reversed(events)] == [
            ("a", "tool_call", "ok"),
            ("b", "auth_failure", "denied"),
            ("c", "access_denied", "denied"),
            ("d", "session_open", "ok"),
        ]
        assert events[-1].tool == "echo" and events[-1].project == "platform"
        assert events[-1].session_id is None and events[-1].args_digest is None
        assert events[-1].detail == {"argumentsDigest": "sha256:ab"}
        record = store.find_token(hash_token(value))
        assert record is not None and record.name == "ci-bot" and record.last_used_at is None
        assert store.touch_token(hash_token(value))
        store.write_audit_events([AuditEvent("session_open", session_id="s1")])
        assert store.query_audit(AuditQuery(session_id="s1"))[0].kind == "session_open"

    # And back down and up again, rows kept.
    _at_revision(database_url, "0001", down=True)
    with Store.open(database_url) as store:
        assert store.schema_revision() == "0005"
        assert len(store.query_audit()) == 5
        assert store.token_record("platform", "ci-bot") is not None


def test_relation_tables_are_dropped_and_refilled_on_downgrade(store: Store, database_url: str) -> None:
    with store.transaction() as tx:
        for kind in ("Server", "Project", "User", "Group"):
            tx.put(resource(kind), managed_by="cli")
    _at_revision(database_url, "0004", down=True)
    assert _rows(database_url, "SELECT project_name, server_name FROM project_servers ORDER BY 2") == [
        ("platform", "git"),
        ("platform", "time"),
    ]
    assert _rows(database_url, "SELECT group_name, user_name FROM group_members ORDER BY 2") == [
        ("devs", "alice"),
        ("devs", "bob"),
    ]
    with Store.open(database_url) as reopened:
        assert reopened.schema_revision() == "0005"
        assert [live.identity.name for live in reopened.list_resources("Group")] == ["devs"]
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert not tables & {"project_servers", "group_members"}


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


OLD_AUDIT_COLUMNS = (
    "ts",
    "correlation_id",
    "event_type",
    "project",
    "token_name",
    "user_name",
    "server",
    "tool",
    "outcome",
    "duration_ms",
    "detail",
)
OLD_TYPES: dict[str, TypeEngine[Any]] = {"ts": UTCDateTime(), "detail": JSON_TYPE}
OLD_ROW = {
    "ts": datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    "project": "platform",
    "token_name": "ci-bot",
    "user_name": None,
    "server": "time",
    "tool": None,
    "outcome": "ok",
    "duration_ms": 1.5,
    "detail": {"argumentsDigest": "sha256:ab"},
}


def test_every_migrations_first_docstring_paragraph_is_one_line() -> None:
    # Alembic logs that paragraph at every upgrade; a second line would break the one-line log format.
    versions = Path(__file__).parents[2] / "src" / "mcpctl" / "store" / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        lines = doc.splitlines()
        assert lines and (len(lines) == 1 or not lines[1].strip()), path.name
