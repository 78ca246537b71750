"""`mcpctl auth can-i`: answers and reasons from a config repo and from the live store, exit codes, --list."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mcpctl.cli import cli

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def applied(database_url: str, tmp_path: Path) -> str:
    """A store holding the example config repo."""
    done = run(
        "apply", "-f", EXAMPLES, "--yes", "--database-url", database_url, "--token-output", str(tmp_path)
    )
    assert done.exit_code == 0, done.output
    return database_url


# (arguments, exit code, first line, text in the reason)
QUESTIONS = [
    (["run", "servers/git/git_log", "--as", "McpToken/platform/ci-bot"], 0, "yes", "spec.bindings[0]"),
    (
        ["run", "servers/git/git_commit", "--as", "McpToken/platform/ci-bot"],
        1,
        "no",
        "nearest: run servers/git",
    ),
    (["run", "srv/time", "--as", "token/platform/ci-bot"], 0, "yes", "spec.bindings[1]"),
    (["run", "servers/time", "--as", "McpToken/ci-bot", "-p", "platform"], 0, "yes", "spec.bindings[1]"),
    (["run", "servers/time", "--as", "McpToken/platform/ci-bot", "-p", "research"], 1, "no", "acts only in"),
    (["run", "servers/*/git_log", "--as", "McpToken/platform/ci-bot"], 1, "no", "no rule grants it"),
    (["view", "prompts", "-p", "research", "--as", "User/carol"], 0, "yes", "via Group/researchers"),
    (["view", "prompts", "--as", "User/carol"], 1, "no", "it holds in project research"),
    (["edit", "Server/git", "--as", "User/alice"], 0, "yes", "RoleBinding/platform-admins spec.rules[0]"),
    (["view", "*", "--as", "User/bob"], 0, "yes", "edit implies view"),
    (["audit", "--as", "Group/platform-team"], 0, "yes", "spec.operations[0]"),
    (["backup", "--as", "ServiceAccount/backup-job"], 0, "yes", "RoleBinding/backup"),
    (["audit", "--as", "McpToken/platform/review-agent"], 1, "no", "no rule grants it"),
    (
        ["run", "servers/git/git_show", "--as", "McpToken/platform/review-agent"],
        0,
        "yes",
        "cloned from owner User/bob",
    ),
]


@pytest.mark.parametrize(("args", "code", "answer", "why"), QUESTIONS)
def test_can_i_of_a_config_repo(args: list[str], code: int, answer: str, why: str) -> None:
    result = run("auth", "can-i", *args, "-f", EXAMPLES)
    assert result.exit_code == code, result.output
    first, reason = result.output.splitlines()
    assert first == answer and why in reason


def test_can_i_of_the_live_store_answers_as_the_repo_does(applied: str) -> None:
    for args, code, answer, why in QUESTIONS:
        result = run("auth", "can-i", *args, "--database-url", applied)
        assert result.exit_code == code, (args, result.output)
        assert result.output.splitlines()[0] == answer and why in result.output


def test_the_store_answer_follows_the_store(applied: str) -> None:
    question = ["auth", "can-i", "delete", "servers/git", "--as", "User/carol", "--database-url", applied]
    assert run(*question).exit_code == 1
    created = run(
        "create",
        "rolebinding",
        "carol-prunes",
        "--user",
        "carol",
        "--rule",
        "delete:servers:git",
        "--database-url",
        applied,
    )
    assert created.exit_code == 0, created.output
    result = run(*question)
    assert result.exit_code == 0 and "RoleBinding/carol-prunes spec.rules[0]" in result.output


def test_quiet_answers_with_the_exit_code_only() -> None:
    yes = run("auth", "can-i", "audit", "--as", "User/alice", "-q", "-f", EXAMPLES)
    no = run("auth", "can-i", "backup", "--as", "User/alice", "-q", "-f", EXAMPLES)
    assert (yes.exit_code, yes.output, no.exit_code, no.output) == (0, "", 1, "")


def test_list_shows_every_grant_with_provenance() -> None:
    result = run("auth", "can-i", "--list", "--as", "McpToken/platform/review-agent", "-f", EXAMPLES)
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["PROJECT", "VERB", "RESOURCE", "NAMES", "TOOLS", "VIA", "FROM", "NARROWED-BY"]
    assert [row.split()[:5] for row in rows] == [
        ["platform", "view", "prompts", "*", "*"],
        ["platform", "run", "servers", "git", "git_diff*,git_log,git_show"],
    ]
    assert "owner bob via group platform-team" in rows[1]
    assert "McpToken/platform/review-agent spec.bindings[1]" in rows[1]


def test_list_in_a_project_and_nothing_at_all() -> None:
    alice = run("auth", "can-i", "--list", "--as", "User/alice", "-p", "research", "-f", EXAMPLES)
    assert [row.split()[1] for row in alice.output.splitlines()[1:]] == [
        "edit",
        "view",
        "run",
        "audit",
        "logs",
    ]
    assert "audit    -" in alice.output.replace("   ", "    ")
    carol = run("auth", "can-i", "--list", "--as", "User/carol", "-p", "platform", "-f", EXAMPLES)
    assert (carol.exit_code, carol.output) == (0, "User/carol may do nothing in project platform\n")
    token = run(
        "auth", "can-i", "--list", "--as", "McpToken/platform/ci-bot", "-p", "research", "-f", EXAMPLES
    )
    assert "acts only in project platform" in token.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rn", "servers", "--as", "User/alice"], 'unknown verb "rn"; did you mean "run"?'),
        (["run", "sevrers", "--as", "User/alice"], 'unknown resource "sevrers"; did you mean "servers"?'),
        (["run", "proxymodels", "--as", "User/alice"], 'unknown resource "proxymodels"'),
        (["run", "servers", "--as", "Usr/alice"], 'unknown subject kind "Usr"'),
        (["run", "servers", "--as", "User/alise"], 'User/alise is not defined; did you mean "User/alice"?'),
        (["run", "servers", "--as", "McpToken/research/ci-bot"], "McpToken/research/ci-bot is not defined"),
        (["run", "servers", "--as", "ServiceAccount/nobody"], "ServiceAccount/nobody is not defined"),
        (["audit", "servers", "--as", "User/alice"], '"audit" is an operation: it takes no RESOURCE'),
        (["view", "servers/git/git_log", "--as", "User/alice"], "only run on servers has tools"),
        (["--as", "User/alice"], "give VERB [RESOURCE[/NAME[/TOOL]]], or --list"),
        (["run", "servers", "--list", "--as", "User/alice"], "--list takes no VERB or RESOURCE"),
        (["view", "--as", "User/alice"], '"view" needs a resource'),
    ],
)
def test_usage_errors_exit_2_with_a_hint(args: list[str], message: str) -> None:
    result = run("auth", "can-i", *args, "-f", EXAMPLES)
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.output


def test_an_invalid_repo_is_an_error_never_a_no(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo)
    bindings = repo / "rbac" / "bindings.yaml"
    bindings.write_text(
        bindings.read_text().replace("{role: run, resource: servers}", "{role: rn, resource: servers}")
    )
    result = run("auth", "can-i", "run", "servers", "--as", "User/alice", "-f", str(repo))
    assert result.exit_code == 2
    assert "rbac/bindings.yaml:12:14: RoleBinding/platform-admins: spec.rules[1].role" in result.output


def test_a_store_question_needs_no_repo_but_a_store(sqlite_database_url: str) -> None:
    result = run(
        "auth", "can-i", "run", "servers", "--as", "User/alice", "--database-url", sqlite_database_url
    )
    assert result.exit_code == 2 and "User/alice is not defined" in result.output


def test_auth_is_listed_in_help() -> None:
    assert "auth" in run("--help").output
    assert "can-i" in run("auth", "--help").output
