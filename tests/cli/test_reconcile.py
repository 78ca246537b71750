"""`mcpctl reconcile --once`, `reconcile status`, and `--repo/--ref/--path` on plan, diff and apply."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import git
import pytest
from click.testing import CliRunner, Result

from gateway.gateway_harness import free_port
from mcpctl.cli import cli
from mcpctl.cli._reconcile import parse_duration
from mcpctl.errors import UsageError
from mcpctl.schemas import load_and_validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"
EXAMPLE_DOCUMENTS = load_and_validate([str(EXAMPLES)]).documents


def run(*args: str | os.PathLike[str]) -> Result:
    return CliRunner().invoke(cli, [os.fspath(arg) for arg in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MCPCTL_RECONCILE_STATUS_DIR", str(tmp_path / "status"))


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    """A local repository whose `config/` folder holds the example config repo, plus a `v1` tag."""
    repository = git.Repo.init(tmp_path / "repo", initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    import shutil

    shutil.copytree(EXAMPLES, tmp_path / "repo" / "config")
    (tmp_path / "repo" / "README.md").write_text("not desired state\n")
    repository.git.add("-A")
    repository.index.commit("example estate")
    repository.create_tag("v1")
    return repository


def test_parse_duration() -> None:
    assert parse_duration("60s") == 60
    assert parse_duration("5m") == 300
    assert parse_duration("1h") == 3600
    assert parse_duration("250ms") == 0.25
    assert parse_duration("2.5") == 2.5
    for bad in ("soon", "0s", "-1", "5d"):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_source_flag_combinations_are_checked(sqlite_database_url: str, repo: git.Repo) -> None:
    both = run("plan", "-f", str(EXAMPLES), "--repo", repo.working_dir, "--database-url", sqlite_database_url)
    assert both.exit_code == 2 and "not both" in both.output
    ref_alone = run("plan", "--ref", "main", "--database-url", sqlite_database_url)
    assert ref_alone.exit_code == 2 and "--ref and --path need --repo" in ref_alone.output
    nothing = run("reconcile", "--once", "--database-url", sqlite_database_url)
    assert nothing.exit_code == 2 and "--repo URL" in nothing.output


def test_plan_apply_diff_from_a_repository(database_url: str, repo: git.Repo, tmp_path: Path) -> None:
    sha = repo.head.commit.hexsha
    planned = run("plan", "--repo", repo.working_dir, "--path", "config", "--database-url", database_url)
    assert planned.exit_code == 0, planned.output
    assert f"Plan: {EXAMPLE_DOCUMENTS} to add, 0 to change, 0 to destroy." in planned.output
    applied = run(
        "apply",
        "--repo",
        repo.working_dir,
        "--ref",
        "v1",
        "--path",
        "config",
        "--yes",
        "--database-url",
        database_url,
        "--token-output",
        str(tmp_path / "tokens"),
    )
    assert applied.exit_code == 0, applied.output
    history = run("history", "--database-url", database_url)
    assert sha[:12] in history.output
    same = run(
        "diff", "--repo", repo.working_dir, "--ref", sha, "--path", "config", "--database-url", database_url
    )
    assert same.exit_code == 0, same.output
    missing = run("plan", "--repo", repo.working_dir, "--ref", "gone", "--database-url", database_url)
    assert missing.exit_code == 1 and "branch or tag 'gone' not found" in missing.output
    whole = run("plan", "--repo", repo.working_dir, "--database-url", database_url)
    # Another source (no --path) holding the same resources would take every one of them over.
    assert whole.exit_code == 0
    assert f"Plan: 0 to add, {EXAMPLE_DOCUMENTS} to change, 0 to destroy." in whole.output


def test_once_and_status(sqlite_database_url: str, repo: git.Repo, tmp_path: Path) -> None:
    assert "No reconciler has run yet." in run("reconcile", "status").output
    once = run(
        "reconcile",
        "--once",
        "--repo",
        repo.working_dir,
        "--path",
        "config",
        "--database-url",
        sqlite_database_url,
        "--token-output",
        str(tmp_path / "tokens"),
    )
    assert once.exit_code == 0, once.output
    text = run("reconcile", "status").output
    assert f"{repo.working_dir}//config" in text
    assert f"last commit:  {repo.head.commit.hexsha}" in text
    assert "drift count:  0" in text and "last error:   -" in text
    rows = json.loads(run("reconcile", "status", "-o", "json").output)
    assert [row["state"] for row in rows] == ["applied"] and rows[0]["applies"] == 1

    broken = Path(repo.working_dir) / "config" / "servers" / "time.yaml"
    broken.write_text(broken.read_text().replace("transport:", "transprot:"))
    repo.git.commit("-am", "typo")
    failed = run(
        "reconcile",
        "--once",
        "--repo",
        repo.working_dir,
        "--path",
        "config",
        "--database-url",
        sqlite_database_url,
    )
    assert failed.exit_code == 1
    status = run("reconcile", "--repo", repo.working_dir, "--path", "config", "status", "-o", "json")
    (row,) = json.loads(status.output)
    assert row["state"] == "failing" and row["consecutive_failures"] == 1
    assert row["last_revision"] != repo.head.commit.hexsha
    assert "servers/time.yaml" in row["last_error"]


def test_status_marks_a_loop_that_died(tmp_path: Path) -> None:
    from mcpctl.reconciler._status import ReconcileStatus, status_path, write_status

    status = ReconcileStatus(source="https://***@git.example/r.git", state="in-sync", pid=2**22 + 12345)
    write_status(status, status_path(status.source))
    rows = json.loads(run("reconcile", "status", "-o", "json").output)
    assert rows[0]["state"] == "dead"
    assert rows[0]["source"] == "https://***@git.example/r.git"


def test_validate_a_repository(repo: git.Repo) -> None:
    valid = run("validate", "--repo", repo.working_dir, "--path", "config")
    assert valid.exit_code == 0, valid.output
    broken = Path(repo.working_dir) / "config" / "servers" / "time.yaml"
    broken.write_text(broken.read_text().replace("transport:", "transprot:"))
    repo.git.commit("-am", "typo")
    invalid = run("validate", "--repo", repo.working_dir, "--ref", "main", "--path", "config")
    assert invalid.exit_code == 1
    assert "config/servers/time.yaml:" in invalid.output and "/cache/" not in invalid.output
    assert run("validate", "--repo", repo.working_dir, "--ref", "v1", "--path", "config").exit_code == 0
    assert run("validate").exit_code == 2
    assert run("validate", str(EXAMPLES), "--repo", repo.working_dir).exit_code == 2


ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hook_runs_validate(tmp_path: Path) -> None:
    import os
    import shlex
    import shutil
    import subprocess
    import sys

    from ruamel.yaml import YAML

    (hook,) = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mcpctl-validate" and hook["pass_filenames"] is False
    command = [*shlex.split(hook["entry"]), *hook["args"]]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    shutil.copytree(EXAMPLES, tmp_path / "repo")
    ok = subprocess.run(command, cwd=tmp_path / "repo", env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "repo" / "servers" / "bad.yaml").write_text("apiVersion: mcpctl.dev/v1\nkind: Server\n")
    bad = subprocess.run(command, cwd=tmp_path / "repo", env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "servers/bad.yaml" in bad.stderr


def _doc_commands(text: str) -> list[list[str]]:
    import re
    import shlex

    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        match = re.search(r"(?:^|[\s;:(|])mcpctl\s+([a-z].*)", line)
        if match is None or line.lstrip().startswith(("#", "pip ", "$ ")) or "mcpctl[" in line:
            continue
        command = re.split(r"\s(?:>|;|&&|\|\||#)\s?", match.group(1))[0]
        words = shlex.split(re.sub(r"\"?\$\{?\{?[^\s\"]*\"?", "X", command))
        found.append([w for w in words if w != "..."])
    return found


@pytest.mark.parametrize("page", ["ci.md", "gitops.md"])
def test_commands_and_yaml_in_the_docs_parse(page: str) -> None:
    import re

    import click
    from ruamel.yaml import YAML

    text = (ROOT / "docs" / page).read_text()
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        YAML(typ="safe").load(block)
    code = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S))
    commands = _doc_commands(code)
    assert len(commands) >= 5
    for words in commands:
        group: click.Command = cli
        context = None
        while isinstance(group, click.Group) and words and not words[0].startswith("-"):
            name, words = words[0], words[1:]
            found = group.get_command(click.Context(group), name)
            assert found is not None, f"{page}: unknown command {name!r}"
            group = found
        context = group.make_context(group.name or "mcpctl", list(words), resilient_parsing=False)
        assert context is not None, words


def test_once_from_local_files_on_a_fresh_store(sqlite_database_url: str, tmp_path: Path) -> None:
    # The example mixes a global and a project RoleBinding: their identities must still sort.
    once = run(
        "reconcile",
        "--once",
        "-f",
        str(EXAMPLES),
        "--database-url",
        sqlite_database_url,
        "--token-output",
        str(tmp_path / "tokens"),
    )
    assert once.exit_code == 0, once.output
    assert "applied" in once.output and "Traceback" not in once.output
    # A new token is news, not a warning; its value never reaches the log.
    created = "INFO mcpctl.reconcile: token McpToken/platform/ci-bot created; its value was written to"
    assert created in once.output
    assert "WARNING" not in once.output and "mcpctl_pat_" not in once.output
    again = run("reconcile", "--once", "-f", str(EXAMPLES), "--database-url", sqlite_database_url)
    assert again.exit_code == 0 and "in sync" in again.output


def test_the_webhook_logs_where_it_listens(sqlite_database_url: str, tmp_path: Path) -> None:
    port = free_port()
    command = [str(Path(sys.executable).parent / "mcpctl"), "reconcile", "-f", str(EXAMPLES), "--no-watch"]
    command += ["--webhook-listen", f"127.0.0.1:{port}", "--database-url", sqlite_database_url]
    process = subprocess.Popen(
        [*command, "--interval", "1h"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MCPCTL_WEBHOOK_SECRET": "s3cret"},
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "webhook listening on" in line:
                where = f"http://127.0.0.1:{port}/api/v1/reconcile"
                assert f"mcpctl.reconcile: webhook listening on {where}" in line
                assert " INFO " in line and line.count(" - ") == 0  # mcpctl's format, not litestar's
                break
        else:
            raise AssertionError("the webhook address was never logged")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
