"""Writes through StoreTransaction on SQLite and PostgreSQL: round trips, generation, rollback, relations."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from _samples import server, token
from mcpctl.errors import PlanRefused, StoreError
from mcpctl.schemas import KINDS, Identity, gitops_manager
from mcpctl.store import Store
from mcpctl.store._url import sqlalchemy_url

from ._samples import DOCUMENTS, resource

MANAGER = gitops_manager("examples/config-repo")


def put_all(store: Store) -> str:
    """Store one resource of every kind; returns the token value."""
    with store.transaction(actor="tester") as tx:
        for kind in KINDS:
            if kind == "McpToken":
                value = tx.create_token(resource(kind), managed_by=MANAGER, source_revision="abc123")  # type: ignore[arg-type]
            else:
                tx.put(resource(kind), managed_by=MANAGER, source_revision="abc123")
    return value


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_every_kind_round_trips(store: Store) -> None:
    put_all(store)
    live = store.list_resources()
    assert [item.resource.kind_name() for item in live] == list(KINDS)
    for item in live:
        assert item.resource == resource(item.resource.kind_name())
        assert item.managed_by == MANAGER
        assert item.source_revision == "abc123"
        assert item.created_at is not None and item.created_at.tzinfo is not None
        assert item.created_at == item.updated_at
    assert store.get_resource(Identity("Server", None, "time")).prevent_destroy  # type: ignore[union-attr]
    assert not store.get_resource(Identity("User", None, "alice")).prevent_destroy  # type: ignore[union-attr]


def test_generation_bumps_once_per_changing_transaction(store: Store) -> None:
    assert store.generation() == 0
    with store.transaction() as tx:
        assert tx.generation == 0
        tx.put(server("a"), managed_by="cli")
        tx.put(server("b"), managed_by="cli")
    assert store.generation() == 1
    with store.transaction() as tx:
        tx.put(server("a"), managed_by="cli")  # same content: not a change
    assert store.generation() == 1
    with store.transaction() as tx:
        assert tx.generation == 1
        tx.delete(Identity("Server", None, "b"))
    assert store.generation() == 2
    assert [item.resource.metadata.name for item in store.list_resources("Server")] == ["a"]


def test_update_keeps_created_at_and_records_generation(store: Store, database_url: str) -> None:
    with store.transaction() as tx:
        tx.put(server("a"), managed_by="cli")
    before = store.get_resource(Identity("Server", None, "a"))
    with store.transaction() as tx:
        tx.put(server("a", command="other"), managed_by=MANAGER, source_revision="def")
    after = store.get_resource(Identity("Server", None, "a"))
    assert before is not None and after is not None
    assert after.created_at == before.created_at
    assert after.updated_at is not None and before.updated_at is not None
    assert after.updated_at > before.updated_at
    assert after.resource.spec.command == "other"  # type: ignore[attr-defined]
    assert (after.managed_by, after.source_revision) == (MANAGER, "def")
    assert rows(database_url, "SELECT generation FROM servers") == [(2,)]


def test_exception_rolls_everything_back(store: Store) -> None:
    put_all(store)
    before = store.list_resources()
    generation = store.generation()
    with pytest.raises(RuntimeError, match="injected"), store.transaction() as tx:
        tx.put(server("new"), managed_by="cli")
        tx.put(resource("Project", spec={"servers": ["new"]}), managed_by="cli")
        tx.delete(Identity("User", None, "alice"))
        tx.record_revision(source="x", revision=None, plan_digest="d", counts={"create": 1})
        raise RuntimeError("injected")
    assert store.list_resources() == before
    assert store.generation() == generation
    assert store.history() == []


def test_failure_inside_the_write_rolls_back(store: Store) -> None:
    with store.transaction() as tx:
        tx.put(server("a"), managed_by="cli")
    with pytest.raises(StoreError, match="create_token"), store.transaction() as tx:
        tx.put(server("b"), managed_by="cli")
        tx.put(token(), managed_by="cli")  # a token without a value cannot be stored
    assert [item.resource.metadata.name for item in store.list_resources("Server")] == ["a"]


def test_filters_and_kind_aliases(store: Store) -> None:
    put_all(store)
    assert [i.identity for i in store.list_resources(project="platform")] == [
        Identity("Prompt", "platform", "review"),
        Identity("RoleBinding", "platform", "devs-run"),
        Identity("McpToken", "platform", "ci-bot"),
    ]
    assert [i.identity.name for i in store.list_resources("srv")] == ["time"]
    assert store.get_resource(Identity("prompts", "platform", "review")) is not None
    assert store.get_resource(Identity("Prompt", "other", "review")) is None
    with pytest.raises(StoreError, match="unknown kind"):
        store.list_resources("Gadget")


def test_global_and_project_names_do_not_collide(store: Store) -> None:
    binding = DOCUMENTS["RoleBinding"]
    with store.transaction() as tx:
        tx.put(resource("RoleBinding"), managed_by="cli")
        tx.put(resource("RoleBinding", metadata={**binding["metadata"], "project": None}), managed_by="cli")
    assert [i.identity for i in store.list_resources("RoleBinding")] == [
        Identity("RoleBinding", None, "devs-run"),
        Identity("RoleBinding", "platform", "devs-run"),
    ]


def test_delete_rules(store: Store) -> None:
    put_all(store)
    with pytest.raises(StoreError, match="not found"), store.transaction() as tx:
        tx.delete(Identity("Server", None, "nope"))
    with pytest.raises(PlanRefused, match="prevent-destroy"), store.transaction() as tx:
        tx.delete(Identity("Server", None, "time"))
    assert store.get_resource(Identity("Server", None, "time")) is not None
    # The mark lives in the store: dropping the annotation is a put, then the delete is allowed.
    with store.transaction() as tx:
        tx.put(resource("Server", metadata={"annotations": {}}), managed_by=MANAGER)
        tx.delete(Identity("Server", None, "time"))
    assert store.get_resource(Identity("Server", None, "time")) is None
    with store.transaction() as tx:
        tx.put(server("x"), managed_by="cli")
        tx.delete(Identity("Server", None, "x"))  # put then delete in one transaction: nothing stored
    assert store.get_resource(Identity("Server", None, "x")) is None


def test_delete_then_put_replaces_the_row(store: Store) -> None:
    with store.transaction() as tx:
        tx.put(server("a"), managed_by="cli")
    first = store.get_resource(Identity("Server", None, "a"))
    with store.transaction() as tx:
        tx.delete(Identity("Server", None, "a"))
        tx.put(server("a", command="again"), managed_by="cli")
    second = store.get_resource(Identity("Server", None, "a"))
    assert first is not None and second is not None and first.created_at is not None
    assert second.created_at is not None and second.created_at > first.created_at
    assert second.resource.spec.command == "again"  # type: ignore[attr-defined]


def test_revision_carries_the_committed_generation(store: Store) -> None:
    with store.transaction(actor="alice") as tx:
        revision_id = tx.record_revision(
            source="git@example.com:org/cfg.git",
            revision="0123456789abcdef",
            plan_digest="sha256:ff",
            counts={"create": 1, "update": 0, "delete": 0},
        )
        tx.put(server("a"), managed_by="cli")
    with store.transaction() as tx:
        tx.record_revision(source="dir", revision=None, plan_digest="sha256:00", counts={}, actor="bob")
    newest, oldest = store.history()
    assert (oldest.id, oldest.generation, oldest.actor, oldest.revision) == (
        revision_id,
        1,
        "alice",
        "0123456789abcdef",
    )
    assert oldest.counts == {"create": 1, "update": 0, "delete": 0}
    assert list(oldest.counts) == ["create", "update", "delete"]  # plan order on both databases
    assert (newest.generation, newest.actor, newest.counts) == (1, "bob", {})
    assert newest.applied_at >= oldest.applied_at
    assert [r.id for r in store.history(limit=1)] == [newest.id]
