"""Apply against real stores (SQLite and PostgreSQL): convergence, atomicity, staleness, tokens, prune."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from _samples import res
from mcpctl.errors import PlanRefused, StalePlan
from mcpctl.plan import Action, Plan, load_plan, save_plan
from mcpctl.reconciler import DesiredState, FileSource, apply_plan, plan_against, token_file
from mcpctl.schemas import CLI_MANAGER, PREVENT_DESTROY_ANNOTATION, ResourceModel
from mcpctl.store import AuditEvent, Store, StoreTransaction, hash_token
from plan._samples import stdio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


def state(*resources: ResourceModel, source: str = "/repo") -> DesiredState:
    return DesiredState(tuple(resources), source)


def snapshot(store: Store) -> dict[str, tuple[str, str, bool]]:
    """Everything observable about the stored resources, to compare before and after."""
    return {
        str(item.identity): (item.resource.content_hash(), item.managed_by, item.prevent_destroy)
        for item in store.list_resources()
    }


def apply(store: Store, desired: DesiredState, **kwargs: object) -> Plan:
    plan = plan_against(store, desired)
    apply_plan(store, plan, **kwargs)  # type: ignore[arg-type]
    return plan


BASE = (
    res("Server", "time", stdio("uvx", "mcp-server-time")),
    res("Server", "git", stdio("uvx", "mcp-server-git")),
    res("Project", "team", {"servers": ["git", "time"]}),
    res("Prompt", "hello", {"content": "hi"}, project="team"),
    res("User", "ada", {"email": "ada@example.com"}),
    res("Group", "devs", {"members": ["ada"]}),
    res("McpToken", "ci", {"expires": "30d"}, project="team"),
)


def test_example_config_repo_applies_then_plans_no_changes(store: Store) -> None:
    desired = FileSource((str(EXAMPLES),)).load().require_valid()
    first = plan_against(store, desired)
    assert first.applyable and first.counts["add"] == len(desired.resources)
    result = apply_plan(store, first)
    assert result.revision_id is not None
    again = plan_against(store, desired)
    assert not again.has_changes, [str(c.identity) for c in again.changes]
    assert again.unchanged == len(desired.resources)
    (revision,) = store.history()
    assert revision.counts == first.counts and revision.source == desired.source


def test_update_replace_and_delete_round_trip(store: Store) -> None:
    apply(store, state(*BASE))
    changed = (
        res("Server", "time", stdio("uvx", "mcp-server-time", "--local-timezone", "UTC")),
        res("Project", "team", {"servers": ["time"]}),
        res("Prompt", "hello", {"content": "hi"}, project="team"),
        res("User", "ada", {"email": "ada@example.com"}),
        res("Group", "devs", {"members": ["ada"]}),
        res("McpToken", "ci", {"expires": "never"}, project="team"),
    )
    plan = plan_against(store, state(*changed))
    assert {str(c.identity): c.action for c in plan.changes} == {
        "Server/git": Action.DELETE,
        "Server/time": Action.UPDATE,
        "Project/team": Action.UPDATE,
        "McpToken/team/ci": Action.REPLACE,
    }
    result = apply_plan(store, plan)
    assert [str(t.identity) for t in result.tokens] == ["McpToken/team/ci"]
    assert not plan_against(store, state(*changed)).has_changes
    assert store.get_resource(res("Server", "git", stdio()).identity) is None


def test_tokens_are_created_once_and_written_0600(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "tokens"
    plan = plan_against(store, state(*BASE))
    result = apply_plan(store, plan, token_output=out)
    (token,) = result.tokens
    assert token.value.startswith("mcpctl_pat_") and token.value not in repr(result)
    path = token_file(out, token.identity)
    assert token.path == path and path.read_text().strip() == token.value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = store.find_token(hash_token(token.value))
    assert record is not None and record.name == "ci"
    # Re-applying the same state never regenerates the token.
    again = plan_against(store, state(*BASE))
    assert not again.has_changes
    assert apply_plan(store, again).tokens == ()
    assert store.find_token(hash_token(token.value)) is not None


def test_revoking_a_token_keeps_its_value(store: Store) -> None:
    result = apply_plan(store, plan_against(store, state(*BASE)))
    (token,) = result.tokens
    revoked = (*BASE[:-1], res("McpToken", "ci", {"expires": "30d", "revoked": True}, project="team"))
    plan = plan_against(store, state(*revoked))
    assert [c.action for c in plan.changes] == [Action.UPDATE]
    assert apply_plan(store, plan).tokens == ()
    record = store.find_token(hash_token(token.value))
    assert record is not None and record.revoked


@pytest.mark.parametrize("fail_at", [2, 4])
def test_failure_injected_mid_apply_leaves_store_as_before(
    store: Store, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    apply(store, state(*BASE[:3]))
    before, generation = snapshot(store), store.generation()
    original = StoreTransaction.put
    calls = {"n": 0}

    def failing_put(self: StoreTransaction, resource: ResourceModel, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            # Puts are buffered: write those so far to the database first (uncommitted), and check
            # they are there, so the rollback has real rows to undo.
            self._flush()
            users = self._connection.execute(text("SELECT count(*) FROM users")).scalar_one()
            servers = self._connection.execute(text("SELECT spec_hash FROM servers")).scalars().all()
            assert (users, servers) != written_before, "nothing reached the database before the failure"
            raise RuntimeError("injected failure")
        original(self, resource, **kwargs)  # type: ignore[arg-type]

    with store.transaction() as tx:
        written_before = (
            tx._connection.execute(text("SELECT count(*) FROM users")).scalar_one(),
            tx._connection.execute(text("SELECT spec_hash FROM servers")).scalars().all(),
        )
    monkeypatch.setattr(StoreTransaction, "put", failing_put)
    # The first put changes Server/time: failing at the second or fourth, rows are already written.
    changed = (res("Server", "time", stdio("other")), *BASE[1:], res("User", "bob", {"email": "b@x.io"}))
    with pytest.raises(RuntimeError, match="injected"):
        apply(store, state(*changed))
    assert snapshot(store) == before and store.generation() == generation
    assert len(store.history()) == 1


def test_failure_while_writing_rows_rolls_everything_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(store, state(*BASE[:3]))
    before = snapshot(store)

    flush = StoreTransaction._flush

    def flush_then_fail(self: StoreTransaction) -> None:
        flush(self)
        raise RuntimeError("injected after the resource rows were written")

    # The rows of every kind are written (uncommitted) when the failure comes.
    monkeypatch.setattr(StoreTransaction, "_flush", flush_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        apply(store, state(*BASE))
    assert snapshot(store) == before


def test_stale_saved_plan_is_refused(store: Store, tmp_path: Path) -> None:
    plan = plan_against(store, state(*BASE))
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    apply(store, state(BASE[0], source="/other"))  # the store moves on
    with pytest.raises(StalePlan, match="generation"):
        apply_plan(store, load_plan(path))
    assert {str(i) for i in (item.identity for item in store.list_resources())} == {"Server/time"}


def test_saved_plan_applies_exactly(store: Store, tmp_path: Path) -> None:
    plan = plan_against(store, state(*BASE))
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    apply_plan(store, load_plan(path))
    assert not plan_against(store, state(*BASE)).has_changes


def test_prevent_destroy_holds_after_yaml_removed(store: Store) -> None:
    guarded = res("Server", "db", stdio("db"), annotations={PREVENT_DESTROY_ANNOTATION: "true"})
    apply(store, state(guarded, *BASE))
    plan = plan_against(store, state(*BASE))  # the YAML of the guarded server is gone
    assert plan.errored and "Server/db" in plan.errors[0]
    before = snapshot(store)
    with pytest.raises(PlanRefused):
        apply_plan(store, plan)
    assert snapshot(store) == before
    # Removing the annotation first (an update) and then the YAML does delete it.
    apply(store, state(res("Server", "db", stdio("db")), *BASE))
    apply(store, state(*BASE))
    assert "Server/db" not in snapshot(store)


def test_prune_never_touches_resources_it_does_not_own(store: Store) -> None:
    apply(store, state(res("User", "other", {"email": "o@x.io"}), source="/elsewhere"))
    with store.transaction() as tx:
        tx.put(res("User", "manual", {"email": "m@x.io"}), managed_by=CLI_MANAGER)
    apply(store, state(*BASE))
    plan = apply(store, state(*BASE[:2]))  # shrink: prunes only what /repo applied
    deleted = {str(c.identity) for c in plan.changes if c.action is Action.DELETE}
    assert deleted == {str(r.identity) for r in BASE[2:]}
    assert {str(i) for i in plan.unmanaged} >= {"User/other", "User/manual"}
    remaining = snapshot(store)
    assert remaining["User/other"][1] == "gitops:/elsewhere" and remaining["User/manual"][1] == CLI_MANAGER


def test_no_change_apply_records_nothing(store: Store) -> None:
    apply(store, state(*BASE))
    generation = store.generation()
    result = apply_plan(store, plan_against(store, state(*BASE)))
    assert result.revision_id is None and store.generation() == generation and len(store.history()) == 1


def test_moved_store_is_replanned_under_the_lock_when_the_changes_are_the_same(store: Store) -> None:
    mine = state(*BASE)
    plan = plan_against(store, mine)
    apply(store, state(res("User", "other", {"email": "o@x.io"}), source="/elsewhere"))
    with pytest.raises(StalePlan):
        apply_plan(store, plan)
    result = apply_plan(store, plan, refresh=mine)
    assert result.plan is not None and result.plan.base_generation == plan.base_generation + 1  # type: ignore[operator]
    assert not plan_against(store, mine).has_changes


def test_moved_store_with_different_changes_is_refused_unless_accepted(store: Store) -> None:
    mine = state(*BASE)
    plan = plan_against(store, mine)
    apply(store, state(BASE[0]))  # the same source applied something else meanwhile
    with pytest.raises(StalePlan, match="differ"):
        apply_plan(store, plan, refresh=mine)
    result = apply_plan(store, plan, refresh=mine, accept_different=True)
    assert result.counts["add"] == len(BASE) - 1


def test_plan_without_a_store_generation_is_treated_as_stale(store: Store) -> None:
    import dataclasses

    plan = dataclasses.replace(plan_against(store, state(*BASE)), base_generation=None)
    with pytest.raises(StalePlan, match="no store generation"):
        apply_plan(store, plan)
    assert store.list_resources() == []
    # With the desired state it came from, it is planned again under the lock, as a stale -f plan is.
    assert apply_plan(store, plan, refresh=state(*BASE)).revision_id is not None


def test_hand_made_delete_of_a_resource_of_another_manager_is_refused(store: Store) -> None:
    import dataclasses

    from mcpctl.plan import Change

    manual = res("User", "manual", {"email": "m@x.io"})
    with store.transaction() as tx:
        tx.put(manual, managed_by=CLI_MANAGER)
    plan = plan_against(store, state(*BASE))
    forged = dataclasses.replace(
        plan, changes=(Change(Action.DELETE, manual.identity, manual, None), *plan.changes)
    )
    before = snapshot(store)
    with pytest.raises(PlanRefused, match="managed by cli"):
        apply_plan(store, forged)
    assert snapshot(store) == before


def test_an_apply_is_audited_in_its_own_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_against(store, state(*BASE))
    cause = AuditEvent("reconcile", detail={"commit": "abc", "drift_repaired": 0})
    result = apply_plan(store, plan, actor="alice", audit=[cause])
    reconcile_event, apply_event = reversed(store.query_audit())  # the cause was made first
    assert (apply_event.kind, apply_event.user, apply_event.outcome) == ("apply", "alice", "ok")
    assert apply_event.detail == {
        "revision": result.revision_id,
        "source": "/repo",
        "commit": None,
        "add": len(BASE),
        "change": 0,
        "destroy": 0,
    }
    assert reconcile_event.kind == "reconcile" and reconcile_event.detail["commit"] == "abc"
    assert reconcile_event.correlation_id == apply_event.correlation_id != cause.correlation_id

    # An apply that rolls back leaves no event either; one with nothing to do records none.
    flush = StoreTransaction._flush

    def flush_then_fail(self: StoreTransaction) -> None:
        flush(self)
        raise RuntimeError("injected")

    with monkeypatch.context() as patched:
        patched.setattr(StoreTransaction, "_flush", flush_then_fail)
        with pytest.raises(RuntimeError, match="injected"):
            apply(store, state(*BASE[:2], res("Project", "team", {"servers": ["git"]})), audit=[cause])
    apply_plan(store, plan_against(store, state(*BASE)), audit=[cause])
    assert len(store.query_audit()) == 2
