"""Token files on both stores: staged beside the old file, moved after the commit, recovered, refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from _samples import res
from mcpctl.reconciler import DesiredState, apply_plan, plan_against, token_file
from mcpctl.reconciler._token_files import TokenFiles, pending_file
from mcpctl.schemas import Identity
from mcpctl.store import Store, hash_token

TOKEN = Identity("McpToken", "team", "ci")


def state(expires: str) -> DesiredState:
    return DesiredState(
        (res("Project", "team", {}), res("McpToken", "ci", {"expires": expires}, project="team")), "/repo"
    )


def accepted(store: Store, path: Path) -> bool:
    record = store.find_token(hash_token(path.read_text().strip()))
    return record is not None and (record.project, record.name) == ("team", "ci")


def test_failed_transaction_keeps_the_old_file_and_leaves_nothing_staged(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_plan(store, plan_against(store, state("30d")), token_output=tmp_path)
    path = token_file(tmp_path, TOKEN)
    old = path.read_text()

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C inside the transaction, after the new value was staged

    monkeypatch.setattr("mcpctl.store.StoreTransaction.record_revision", broken)
    with pytest.raises(KeyboardInterrupt):
        apply_plan(store, plan_against(store, state("never")), token_output=tmp_path)
    assert path.read_text() == old and accepted(store, path)
    assert not pending_file(path).exists()


def test_interrupted_between_commit_and_rename_is_recovered_by_the_next_apply(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_plan(store, plan_against(store, state("30d")), token_output=tmp_path)
    path = token_file(tmp_path, TOKEN)

    def interrupted(self: TokenFiles) -> None:
        raise KeyboardInterrupt  # the store committed; the rename never happened

    with monkeypatch.context() as patch:
        patch.setattr(TokenFiles, "commit", interrupted)
        with pytest.raises(KeyboardInterrupt):
            apply_plan(store, plan_against(store, state("never")), token_output=tmp_path)
    assert not accepted(store, path) and accepted(store, pending_file(path))
    # The next apply into the same directory (even one with nothing to do) moves the live value into place.
    result = apply_plan(store, plan_against(store, state("never")), token_output=tmp_path)
    assert result.counts["add"] == 0 and accepted(store, path) and not pending_file(path).exists()


def test_orphaned_staged_file_is_removed_when_its_token_is_written(store: Store, tmp_path: Path) -> None:
    orphan = pending_file(token_file(tmp_path, TOKEN))
    orphan.write_text("mcpctl_pat_never-saved\n")
    apply_plan(store, plan_against(store, state("30d")), token_output=tmp_path)
    assert not orphan.exists() and accepted(store, token_file(tmp_path, TOKEN))
