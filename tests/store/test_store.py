"""Store reads and the gateway-facing parts: errors, in-memory use, masking itself (audit: test_audit_*)."""

from __future__ import annotations

import pytest

from _samples import server
from mcpctl.errors import StoreError
from mcpctl.store import Store


def test_in_memory_store() -> None:
    store = Store.open("sqlite://")
    try:
        with store.transaction() as tx:
            tx.put(server("a"), managed_by="cli")
        assert [i.identity.name for i in store.list_resources()] == ["a"]
    finally:
        store.close()


def test_unreachable_postgres_is_a_one_line_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql://admin:s3cret@127.0.0.1:1/mcpctl?connect_timeout=2")
    detail = caught.value.detail
    assert "\n" not in detail and "s3cret" not in detail
    assert "postgresql://admin:***@127.0.0.1:1/mcpctl" in detail


def test_store_is_a_context_manager_and_masks_itself(database_url: str) -> None:
    with Store.open(database_url) as store:
        assert store.generation() == 0
        assert repr(store) == f"Store({store.url.masked!r})"


def test_list_resources_hands_back_held_resources_whose_hash_matches(store: Store) -> None:
    same, before = server("same"), server("edited")
    with store.transaction() as tx:
        tx.put(same, managed_by="cli")
        tx.put(before, managed_by="cli")
    after = server("edited", command="mcp-server-other")
    # An equal but distinct object: `is` tells a reused resource from one validated from the row.
    held = server("same")
    listed = {
        item.identity.name: item
        for item in store.list_resources(reuse={r.content_hash(): r for r in (held, after)})
    }
    assert listed["same"].resource is held
    assert listed["same"].managed_by == "cli"
    assert listed["edited"].resource is not after
    assert listed["edited"].resource == before
    assert [item.resource for item in store.list_resources()] == [before, same]
