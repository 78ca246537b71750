"""`mcpctl backup` / `mcpctl restore`: a store moved whole, its tokens still valid, across databases."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mcpctl.cli import cli
from mcpctl.store import PromptProposal, Store, hash_token

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--database-url", url])


def estate(url: str, tokens: Path) -> dict[str, str]:
    """The example estate, a CLI-made server and three prompt requests (pending, approved, rejected);
    the value of every token, by file name."""
    assert run(url, "apply", "-f", EXAMPLES, "--yes", "--token-output", str(tokens)).exit_code == 0
    made = run(url, "create", "server", "tokyo", "--command", "mcp-server-time")
    assert made.exit_code == 0, made.output
    with Store.open(url) as store:
        for name in ("style", "tone", "naming"):
            store.propose_prompt(
                PromptProposal(
                    "platform", name, f"Text of {name}.", ("writing",), "One line", "ci-bot", "alice", name
                )
            )
        store.decide_prompt_request(
            "platform", "tone", "approved", by="bob", branch="prompt/tone", commit="ab12"
        )
        store.decide_prompt_request("platform", "naming", "rejected", by="bob", reason="too vague")
    return {path.name: path.read_text().strip() for path in tokens.iterdir()}


def snapshot(url: str) -> list[object]:
    with Store.open(url) as store:
        rows = [
            (live.identity, live.resource, live.managed_by, live.source_revision, live.created_at)
            for live in store.list_resources()
        ]
        tokens = [(r.project, r.name, r.prefix, r.expires_at, r.token_hash) for r in store.token_records()]
        requests = store.prompt_requests()
    return [*rows, *tokens, *requests]


def check_round_trip(source: str, target: str, tmp_path: Path) -> None:
    values = estate(source, tmp_path / "tokens")
    backup = tmp_path / "estate.json"
    done = run(source, "backup", str(backup))
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    text = backup.read_text()
    assert json.loads(text)["format"] == "mcpctl.dev/backup"
    assert not any(value in text for value in values.values())  # hashes only, never a value
    restored = run(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    with Store.open(source) as store:
        count = len(store.list_resources())
        statuses = sorted(request.status for request in store.prompt_requests())
    assert statuses == ["approved", "pending", "rejected"]
    assert f"restored {count} resource(s) and 3 prompt request(s)" in restored.stdout
    assert snapshot(target) == snapshot(source)  # the requests with their reviews and times
    with Store.open(target) as store:
        for name, value in values.items():
            record = store.find_token(hash_token(value))
            assert record is not None and f"{record.project}.{record.name}.token" == name
        assert store.history(1)[0].source == "restore"


def test_backup_and_restore_keep_tokens_working(database_url: str, tmp_path: Path) -> None:
    # From each backend into a new SQLite store (and from SQLite into PostgreSQL below).
    check_round_trip(database_url, f"sqlite:///{tmp_path / 'restored.db'}", tmp_path)


def test_from_sqlite_to_postgresql(
    sqlite_database_url: str, postgres_database_url: str, tmp_path: Path
) -> None:
    check_round_trip(sqlite_database_url, postgres_database_url, tmp_path)


def test_restore_refuses_a_store_that_is_not_empty_unless_forced(database_url: str, tmp_path: Path) -> None:
    estate(database_url, tmp_path / "tokens")
    backup = tmp_path / "b.json"
    assert run(database_url, "backup", str(backup)).exit_code == 0
    assert run(database_url, "create", "user", "zed", "--email", "zed@example.com").exit_code == 0
    refused = run(database_url, "restore", str(backup))
    assert refused.exit_code == 1 and "is not empty" in refused.stderr and "--force" in refused.stderr
    with Store.open(database_url) as store:
        assert "zed" in {live.identity.name for live in store.list_resources("User")}
    forced = run(database_url, "restore", str(backup), "--force")
    assert forced.exit_code == 0, forced.output
    with Store.open(database_url) as store:
        assert "zed" not in {live.identity.name for live in store.list_resources("User")}


def test_a_store_holding_only_prompt_requests_is_not_empty(database_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(backup_with_requests())
    with Store.open(database_url) as store:
        store.propose_prompt(PromptProposal("platform", "style", "Be brief.", token="ci-bot"))
    refused = run(database_url, "restore", str(empty))
    assert refused.exit_code == 1 and "1 prompt request(s)" in refused.stderr
    forced = run(database_url, "restore", str(empty), "--force")
    assert forced.exit_code == 0, forced.output
    with Store.open(database_url) as store:
        assert store.prompt_requests() == []  # replaced by what the backup holds: none


def test_a_version_1_backup_still_restores(sqlite_database_url: str, tmp_path: Path) -> None:
    estate(sqlite_database_url, tmp_path / "tokens")
    backup = tmp_path / "b.json"
    assert run(sqlite_database_url, "backup", str(backup)).exit_code == 0
    document = json.loads(backup.read_text())
    del document["promptRequests"]
    backup.write_text(json.dumps({**document, "version": 1}))
    target = f"sqlite:///{tmp_path / 'target.db'}"
    restored = run(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "and 0 prompt request(s)" in restored.stdout


def backup_with_requests(*changes: dict[str, object]) -> str:
    """A version 2 backup with no resource and one prompt request per entry of `changes`."""
    request = {
        "project": "platform",
        "name": "style",
        "content": "Be brief.",
        "createdAt": "2026-01-01T00:00:00+00:00",
        "updatedAt": "2026-01-01T00:00:00+00:00",
    }
    entries = [request | change for change in changes]
    return json.dumps(
        {"format": "mcpctl.dev/backup", "version": 2, "resources": [], "promptRequests": entries}
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other"}', "not an mcpctl backup"),
        ('{"format": "mcpctl.dev/backup", "version": 99, "resources": []}', "version 99 is not supported"),
        (
            '{"format": "mcpctl.dev/backup", "version": 1, "resources": [{"document": {"apiVersion": '
            '"mcpctl.dev/v1", "kind": "McpToken", "metadata": {"name": "t", "project": "p"}, "spec": {}},'
            ' "createdAt": "2026-01-01T00:00:00+00:00", "updatedAt": "2026-01-01T00:00:00+00:00"}]}',
            "resources[0]: a token needs token.hash",
        ),
        (backup_with_requests({}), "promptRequests[0].status: expected one of pending, approved, rejected"),
        (
            backup_with_requests({"status": "pending", "name": ""}),
            "promptRequests[0].name: expected a non-empty",
        ),
        (backup_with_requests({"status": "pending", "commit": "c" * 65}), "promptRequests[0].commit: longer"),
        (backup_with_requests({"status": "pending", "tags": "a"}), "promptRequests[0].tags: expected a list"),
        (backup_with_requests({"status": "pending", "createdAt": "soon"}), "promptRequests[0].createdAt"),
        (backup_with_requests({"status": "pending"}, {"status": "pending"}), "promptRequests[1]: a second"),
        (
            '{"format": "mcpctl.dev/backup", "version": 2, "resources": [], "promptRequests": {}}',
            "expected a list",
        ),
    ],
)
def test_bad_backups_are_refused_and_change_nothing(
    sqlite_database_url: str, tmp_path: Path, content: str, message: str
) -> None:
    backup = tmp_path / "bad.json"
    backup.write_text(content)
    with Store.open(sqlite_database_url) as store:
        store.propose_prompt(PromptProposal("platform", "kept", "Be brief.", token="ci-bot"))
    result = run(sqlite_database_url, "restore", str(backup), "--force")
    assert result.exit_code in (1, 2) and message in result.stderr, result.output
    with Store.open(sqlite_database_url) as store:  # nothing written, nothing removed
        assert [request.name for request in store.prompt_requests()] == ["kept"]
