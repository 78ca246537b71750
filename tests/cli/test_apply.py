"""`mcpctl apply`: confirmation rules, tokens shown once or written 0600, saved plans, prune ownership."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from _samples import doc
from mcpctl.cli import cli
from mcpctl.schemas import CLI_MANAGER, parse_resource
from mcpctl.store import Store, hash_token

MCPCTL = str(Path(sys.executable).with_name("mcpctl"))


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def repo(tmp_path: Path, *docs: dict[str, object]) -> str:
    path = tmp_path / "repo"
    path.mkdir(exist_ok=True)
    (path / "all.yaml").write_text(yaml.safe_dump_all(list(docs)))
    return str(path)


PROJECT = doc("Project", "team", {})
TOKEN = doc("McpToken", "ci", {"expires": "30d"}, project="team")


@pytest.fixture
def url(sqlite_database_url: str) -> str:
    return sqlite_database_url


def test_refuses_without_tty_and_without_yes(url: str, tmp_path: Path) -> None:
    result = run("apply", "-f", repo(tmp_path, PROJECT), "--database-url", url)
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr and 'Project "team"' in result.stdout
    store = Store.open(url)
    try:
        assert store.list_resources() == []
    finally:
        store.close()


def test_token_value_printed_once_and_never_regenerated(url: str, tmp_path: Path) -> None:
    source = repo(tmp_path, PROJECT, TOKEN)
    first = run("apply", "-f", source, "--database-url", url, "--yes")
    assert first.exit_code == 0, first.output
    (line,) = [line for line in first.stdout.splitlines() if line.startswith("McpToken/team/ci: ")]
    value = line.split(": ", 1)[1]
    assert value.startswith("mcpctl_pat_") and len(value) >= len("mcpctl_pat_") + 43
    second = run("apply", "-f", source, "--database-url", url, "--yes")
    assert "mcpctl_pat_" not in second.stdout and "No changes." in second.stdout
    store = Store.open(url)
    try:
        assert store.find_token(hash_token(value)) is not None
    finally:
        store.close()


def test_token_output_dir_gets_0600_files_and_stdout_no_value(url: str, tmp_path: Path) -> None:
    out = tmp_path / "tokens"
    result = run(
        "apply",
        "-f",
        repo(tmp_path, PROJECT, TOKEN),
        "--database-url",
        url,
        "--yes",
        "--token-output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    path = out / "team.ci.token"
    value = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert value not in result.output and str(path) in result.stdout


def test_token_spec_change_is_a_replace_with_a_new_value(url: str, tmp_path: Path) -> None:
    first = run("apply", "-f", repo(tmp_path, PROJECT, TOKEN), "--database-url", url, "--yes")
    old = first.stdout.split("McpToken/team/ci: ", 1)[1].split()[0]
    changed = doc("McpToken", "ci", {"expires": "never"}, project="team")
    second = run("apply", "-f", repo(tmp_path, PROJECT, changed), "--database-url", url, "--yes")
    assert "-/+ McpToken" in second.stdout and "immutable" in second.stdout
    new = second.stdout.split("McpToken/team/ci: ", 1)[1].split()[0]
    assert new != old
    store = Store.open(url)
    try:
        assert store.find_token(hash_token(old)) is None and store.find_token(hash_token(new)) is not None
    finally:
        store.close()


def test_prune_leaves_cli_created_resources_unless_prune_all(url: str, tmp_path: Path) -> None:
    store = Store.open(url)
    try:
        with store.transaction() as tx:
            tx.put(parse_resource(doc("User", "manual", {"email": "m@x.io"})), managed_by=CLI_MANAGER)
    finally:
        store.close()
    source = repo(tmp_path, PROJECT)
    kept = run("apply", "-f", source, "--database-url", url, "--yes")
    assert "User/manual" in kept.stdout and "0 destroyed" in kept.stdout
    pruned = run("apply", "-f", source, "--database-url", url, "--yes", "--prune-all")
    assert pruned.exit_code == 0 and "1 destroyed" in pruned.stdout


def test_plan_file_and_filenames_together_is_a_usage_error(url: str, tmp_path: Path) -> None:
    result = run("apply", str(tmp_path / "plan.json"), "-f", repo(tmp_path, PROJECT), "--database-url", url)
    assert result.exit_code == 2 and "not both" in result.stderr


def test_real_process_apply_from_stdin(url: str) -> None:
    text = yaml.safe_dump(doc("User", "ada", {"email": "ada@example.com"}))
    done = subprocess.run(
        [MCPCTL, "apply", "-f", "-", "--yes", "--database-url", url],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in done.stdout and "Apply complete!" in done.stdout


def test_on_a_tty_it_asks_and_colours(url: str, tmp_path: Path) -> None:
    import os
    import pty
    import select

    source = repo(tmp_path, PROJECT)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}

    def session(answer: bytes) -> tuple[int, str]:
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            [MCPCTL, "apply", "-f", source, "--database-url", url],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
        )
        os.close(terminal)
        output, answered = b"", False
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                process.kill()
                raise AssertionError(f"no output; so far: {output!r}")
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Apply these changes?" in output:
                os.write(controller, answer + b"\n")
                answered = True
        os.close(controller)
        return process.wait(timeout=60), output.decode(errors="replace")

    code, text = session(b"n")
    assert code == 1 and "\x1b[32m" in text and "cancelled" in text
    code, text = session(b"y")
    assert code == 0, text
    assert "Apply complete! Resources: 1 added" in text


def test_token_output_never_silently_overwrites_another_stores_token(tmp_path: Path) -> None:
    # The README tour's trap: a second apply into another store, into the same --token-output DIR.
    out, source = tmp_path / "tokens", repo(tmp_path, PROJECT, TOKEN)
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    assert (
        run("apply", "-f", source, "--yes", "--database-url", first, "--token-output", str(out)).exit_code
        == 0
    )
    kept = (out / "team.ci.token").read_text()
    refused = run("apply", "-f", source, "--yes", "--database-url", second, "--token-output", str(out))
    assert refused.exit_code == 1
    assert f"{out / 'team.ci.token'}" in refused.stderr and "--overwrite-tokens" in refused.stderr
    assert "nothing was applied" in refused.stderr
    assert (out / "team.ci.token").read_text() == kept
    with Store.open(second) as store:
        assert store.list_resources() == []
    with Store.open(first) as store:
        assert store.find_token(hash_token(kept.strip())) is not None
    forced = run(
        "apply",
        "-f",
        source,
        "--yes",
        "--database-url",
        second,
        "--token-output",
        str(out),
        "--overwrite-tokens",
    )
    assert forced.exit_code == 0, forced.output
    with Store.open(second) as store:
        assert store.find_token(hash_token((out / "team.ci.token").read_text().strip())) is not None


def test_token_replacement_rewrites_its_own_file(url: str, tmp_path: Path) -> None:
    out = tmp_path / "tokens"
    assert run("apply", "-f", repo(tmp_path, PROJECT, TOKEN), "--yes", "--database-url", url,
               "--token-output", str(out)).exit_code == 0  # fmt: skip
    old = (out / "team.ci.token").read_text()
    changed = doc("McpToken", "ci", {"expires": "never"}, project="team")
    replaced = run("apply", "-f", repo(tmp_path, PROJECT, changed), "--yes", "--database-url", url,
                   "--token-output", str(out))  # fmt: skip
    assert replaced.exit_code == 0, replaced.output
    new = (out / "team.ci.token").read_text()
    assert new != old and sorted(p.name for p in out.iterdir()) == ["team.ci.token"]
    with Store.open(url) as store:
        assert store.find_token(hash_token(new.strip())) is not None
        assert store.find_token(hash_token(old.strip())) is None


def test_token_files_never_follow_a_planted_symlink(url: str, tmp_path: Path) -> None:
    out, victim = tmp_path / "tokens", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("precious\n")
    (out / "team.ci.token").symlink_to(victim)
    (out / "team.ci.token.new").symlink_to(victim)
    source = repo(tmp_path, PROJECT, TOKEN)
    refused = run("apply", "-f", source, "--yes", "--database-url", url, "--token-output", str(out))
    assert refused.exit_code == 1 and "team.ci.token" in refused.stderr
    forced = run(
        "apply",
        "-f",
        source,
        "--yes",
        "--database-url",
        url,
        "--token-output",
        str(out),
        "--overwrite-tokens",
    )
    assert forced.exit_code == 0, forced.output
    assert victim.read_text() == "precious\n"
    written = out / "team.ci.token"
    assert not written.is_symlink() and written.read_text().startswith("mcpctl_pat_")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600 and not (out / "team.ci.token.new").exists()


def test_hand_edited_saved_plan_is_refused(url: str, tmp_path: Path) -> None:
    import json

    assert run("create", "user", "manual", "--email", "m@x.io", "--database-url", url).exit_code == 0
    source, saved = repo(tmp_path, PROJECT), tmp_path / "plan.json"
    assert run("plan", "-f", source, "--database-url", url, "-out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text())
    data["changes"].append(
        {**data["changes"][0], "action": "delete", "symbol": "-", "kind": "User", "name": "manual",
         "address": "User/manual", "before": data["changes"][0]["after"], "after": None}
    )  # fmt: skip
    saved.write_text(json.dumps(data))
    refused = run("apply", str(saved), "--database-url", url)
    assert refused.exit_code == 2 and "changed after `mcpctl plan -out` wrote it" in refused.stderr
    with Store.open(url) as store:
        assert [str(item.identity) for item in store.list_resources()] == ["User/manual"]


def test_get_yaml_applies_back_with_references_to_the_store(database_url: str, tmp_path: Path) -> None:
    examples = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")
    applied = run("apply", "-f", examples, "--yes", "--database-url", database_url)
    assert applied.exit_code == 0, applied.output
    before = {live.identity for live in Store.open(database_url).list_resources()}
    # One project (its servers live only in the store), then a List of prompts (their projects too).
    project = run("get", "project", "platform", "-o", "yaml", "--database-url", database_url).stdout
    back = run("apply", "-f", "-", "--yes", "--database-url", database_url, stdin=project)
    assert back.exit_code == 0, back.output
    assert "0 added, 1 changed, 0 destroyed" in back.stdout  # stdin takes over the project, nothing else
    prompts = run("get", "prompts", "-o", "yaml", "--database-url", database_url).stdout
    assert "kind: List" in prompts
    planned = run("plan", "-f", "-", "--database-url", database_url, stdin=prompts)
    assert planned.exit_code == 0, planned.output
    assert "0 to add, 5 to change, 0 to destroy" in planned.stdout
    with Store.open(database_url) as store:
        assert {live.identity for live in store.list_resources()} == before
    # A reference to nothing, in the store or the input, is still an error with its position.
    ghost = project.replace("- time", "- ghost")
    refused = run("apply", "-f", "-", "--yes", "--database-url", database_url, stdin=ghost)
    assert refused.exit_code == 1
    assert "<stdin>:" in refused.stderr and "unknown Server 'ghost'" in refused.stderr


def test_references_to_what_the_plan_prunes_are_errors(url: str, tmp_path: Path) -> None:
    server = doc("Server", "time", {"transport": "stdio", "command": "mcp-server-time"})
    source = repo(tmp_path, server, doc("Project", "team", {"servers": ["time"]}))
    assert run("apply", "-f", source, "--yes", "--database-url", url).exit_code == 0
    # The server leaves the repository while the project still names it: prune would leave it dangling.
    (Path(source) / "all.yaml").write_text(yaml.safe_dump(doc("Project", "team", {"servers": ["time"]})))
    refused = run("plan", "-f", source, "--database-url", url)
    assert refused.exit_code == 1 and "unknown Server 'time'" in refused.stderr
