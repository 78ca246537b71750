"""`mcpctl history`: past applies from the store as a table or JSON, newest first."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mcpctl.cli import cli
from mcpctl.schemas import parse_resource
from mcpctl.store import Store


def seed(store: Store) -> None:
    with store.transaction(actor="alice") as tx:
        tx.put(
            parse_resource(
                {
                    "apiVersion": "mcpctl.dev/v1",
                    "kind": "User",
                    "metadata": {"name": "alice"},
                    "spec": {"email": "alice@example.com"},
                }
            ),
            managed_by="gitops:repo",
        )
        tx.record_revision(
            source="https://git.example/org/cfg.git",
            revision="0123456789abcdef0123",
            plan_digest="sha256:feedface0123456789",
            counts={"create": 1, "update": 0, "delete": 0},
        )
    with store.transaction() as tx:
        tx.record_revision(source="examples/config-repo", revision=None, plan_digest="sha256:00", counts={})


def test_history_table(store: Store) -> None:
    seed(store)
    result = CliRunner().invoke(cli, ["history", "--database-url", store.url])
    assert result.exit_code == 0, result.output
    header, newest, oldest = result.stdout.splitlines()
    assert header.split() == ["ID", "GENERATION", "APPLIED", "SOURCE", "REVISION", "CHANGES", "ACTOR", "PLAN"]
    assert newest.split()[:2] == ["2", "1"] and "examples/config-repo" in newest
    assert oldest.split()[:2] == ["1", "1"]
    for cell in ("https://git.example/org/cfg.git", "0123456789ab", "create=1 update=0 delete=0", "alice"):
        assert cell in oldest
    assert "sha256:feedf" in oldest and "0123456789abcdef0123" not in oldest


def test_history_json_and_limit(store: Store) -> None:
    seed(store)
    result = CliRunner().invoke(cli, ["history", "-o", "json", "--limit", "1", "--database-url", store.url])
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.stdout)
    assert only["id"] == 2 and only["source"] == "examples/config-repo" and only["revision"] is None
    keys = {"id", "generation", "source", "revision", "planDigest", "counts", "actor", "appliedAt"}
    assert set(only) == keys


def test_empty_history(store: Store) -> None:
    result = CliRunner().invoke(cli, ["history", "--database-url", store.url])
    assert result.exit_code == 0
    assert result.stdout == "" and "No applies recorded." in result.stderr
    result = CliRunner().invoke(cli, ["history", "-o", "json", "--database-url", store.url])
    assert json.loads(result.stdout) == []
