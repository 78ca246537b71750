"""Re-issuing a token in place: `rotate mcptoken` and `create mcptoken --force`, shown once or to a file."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner, Result

from mcpctl.cli import cli
from mcpctl.store import Store, hash_token

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--database-url", url])


def valid(url: str, value: str) -> bool:
    with Store.open(url) as store:
        record = store.find_token(hash_token(value))
    return record is not None and record.is_valid()


def test_rotate_replaces_the_value_and_keeps_the_token(database_url: str, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    assert run(database_url, "apply", "-f", EXAMPLES, "--yes", "--token-output", str(tokens)).exit_code == 0
    old = (tokens / "platform.ci-bot.token").read_text().strip()
    rotated = run(database_url, "rotate", "mcptoken", "ci-bot", "-p", "platform")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new.startswith("mcpctl_pat_") and new != old and "shown only once" in rotated.stderr
    assert valid(database_url, new) and not valid(database_url, old)
    # Same spec and manager: the config repo still matches, so nothing undoes the rotation.
    plan = run(database_url, "plan", "-f", EXAMPLES, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    with Store.open(database_url) as store:
        assert store.history(1)[0].counts["change"] == 1
    # To a file, mode 0600, nothing on stdout.
    written = run(database_url, "rotate", "token", "ci-bot", "--token-output", str(tmp_path / "out"))
    assert written.exit_code == 0, written.output
    path = tmp_path / "out" / "platform.ci-bot.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "mcpctl_pat_" not in written.stdout
    assert valid(database_url, path.read_text().strip()) and not valid(database_url, new)


def test_rotate_refuses_unknown_and_revoked_tokens(sqlite_database_url: str) -> None:
    url = sqlite_database_url
    assert run(url, "create", "project", "p").exit_code == 0
    missing = run(url, "rotate", "mcptoken", "nope", "-p", "p")
    assert missing.exit_code == 1 and "not found" in missing.stderr
    assert run(url, "create", "mcptoken", "old", "-p", "p").exit_code == 0
    with Store.open(url) as store, store.transaction() as tx:
        (live,) = store.list_resources("McpToken")
        spec = live.resource.spec.model_copy(update={"revoked": True})  # type: ignore[attr-defined]
        tx.create_token(live.resource.model_copy(update={"spec": spec}), managed_by="cli")  # type: ignore[arg-type]
    refused = run(url, "rotate", "mcptoken", "old", "-p", "p")
    assert refused.exit_code == 1 and "is revoked" in refused.stderr


def test_create_force_replaces_a_token_in_place(sqlite_database_url: str, tmp_path: Path) -> None:
    url = sqlite_database_url
    assert run(url, "create", "project", "p").exit_code == 0
    first = run(url, "create", "mcptoken", "ci", "-p", "p", "--rule", "run:servers").stdout.strip()
    again = run(url, "create", "mcptoken", "ci", "-p", "p")
    assert again.exit_code == 1 and "already exists" in again.stderr
    output = ["--token-output", str(tmp_path)]
    forced = run(url, "create", "mcptoken", "ci", "-p", "p", "--force", "--rule", "view:prompts", *output)
    assert forced.exit_code == 0, forced.output
    assert "mcptoken/ci replaced; token value written to" in forced.stdout
    second = (tmp_path / "p.ci.token").read_text().strip()
    assert valid(url, second) and not valid(url, first)
    shown = run(url, "get", "token", "ci", "-o", "wide").stdout
    assert "view:prompts" in shown and "run:servers" not in shown


def test_a_token_file_that_cannot_be_written_changes_nothing(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    url = sqlite_database_url
    assert run(url, "create", "project", "p").exit_code == 0
    first = run(url, "create", "mcptoken", "ci", "-p", "p").stdout.strip()
    (tmp_path / "a-file").write_text("")
    unwritable = str(tmp_path / "a-file" / "tokens")
    rotated = run(url, "rotate", "mcptoken", "ci", "-p", "p", "--token-output", unwritable)
    assert rotated.exit_code == 2 and "cannot write the token value" in rotated.stderr
    assert valid(url, first)  # rolled back: the old value still works
    created = run(url, "create", "mcptoken", "other", "-p", "p", "--token-output", unwritable)
    assert created.exit_code == 2
    with Store.open(url) as store:
        assert [live.identity.name for live in store.list_resources("McpToken")] == ["ci"]
