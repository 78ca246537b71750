"""Tests of `mcpctl validate`: text and JSON output, exit codes, stdin, and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from mcpctl.cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "schemas" / "fixtures"
VALID = str(FIXTURES / "valid")
INVALID_PROJECT = str(FIXTURES / "invalid" / "project.yaml")
MCPCTL = Path(sys.executable).with_name("mcpctl")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_valid_repo_exits_zero_with_a_summary() -> None:
    code, out, err = run("validate", VALID)
    assert (code, out, err) == (0, "16 documents, 0 errors, 0 warnings\n", "")


def test_invalid_repo_prints_every_problem_on_stderr_and_exits_one() -> None:
    code, out, err = run("validate", VALID, INVALID_PROJECT)
    assert code == 1
    expected = (FIXTURES / "invalid" / "project.expected").read_text().splitlines()
    assert [line.split(": ", 1)[1] for line in err.splitlines()] == [
        line.split(": ", 1)[1] for line in expected
    ]
    assert err.splitlines()[0].startswith(f"{INVALID_PROJECT}:8:7: ")
    assert out == "20 documents, 7 errors, 0 warnings\n"


def test_json_output_lists_problems_on_stdout() -> None:
    code, out, err = run("validate", "-o", "json", VALID, INVALID_PROJECT)
    assert code == 1
    assert err == ""
    document = json.loads(out)
    assert document["valid"] is False
    assert (document["documents"], document["errors"], document["warnings"]) == (20, 7, 0)
    first = document["problems"][0]
    assert first == {
        "path": INVALID_PROJECT,
        "line": 8,
        "col": 7,
        "kind": "Project",
        "name": "team-c",
        "field": "spec.servers[1]",
        "message": "unknown Server 'tiem'; did you mean 'time'?",
        "severity": "error",
    }


def test_warnings_alone_exit_zero() -> None:
    text = (
        "apiVersion: mcpctl.dev/v1\nkind: Server\nmetadata:\n  name: s\nspec:\n"
        "  transport: streamable-http\n  url: https://x.example.com/mcp\n  headers:\n    X-Api-Key: abc\n"
    )
    code, out, err = run("validate", "-", stdin=text)
    assert code == 0
    assert out == "1 documents, 0 errors, 1 warnings\n"
    assert err == (
        "<stdin>:9:16: Server/s: spec.headers.X-Api-Key: warning: literal value for secret-looking"
        " 'X-Api-Key'; use secretRef or fromEnv\n"
    )
    assert "abc" not in err


def test_usage_errors_exit_two() -> None:
    assert run("validate")[0] == 2
    code, _, err = run("validate", "does/not/exist.yaml")
    assert code == 2
    assert "does not exist" in err
    assert run("validate", "-o", "xml", VALID)[0] == 2
    code, _, err = run("validate", "--path", "config", VALID)
    assert code == 2
    assert "--repo" in err


def test_real_subprocess_reads_stdin_and_reports_syntax_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: mcpctl.dev/v1\nkind: User\nmetadata:\n  name: u\n  name: v\n")
    completed = subprocess.run(
        [str(MCPCTL), "validate", str(bad), "-"],
        input=b"apiVersion: mcpctl.dev/v1\nkind: User\nmetadata: {name: ann}\nspec: {email: a@example.com}\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.decode() == f"{bad}:5:3: duplicate key 'name' (first at line 4)\n"
    assert completed.stdout.decode() == "1 documents, 1 errors, 0 warnings\n"


def test_commands_shown_in_docs_validation_md_run() -> None:
    # Every `$ mcpctl ...` line of docs/validation.md, run from the repository root.
    root = FIXTURES.parents[2]
    lines = [
        line[2:]
        for line in (root / "docs" / "validation.md").read_text().splitlines()
        if line.startswith("$ ") and "mcpctl " in line
    ]
    assert len(lines) >= 5
    for line in lines:
        completed = subprocess.run(
            line,
            shell=True,
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
            env={"PATH": f"{MCPCTL.parent}:/usr/bin:/bin"},
        )
        assert completed.returncode == 0, (line, completed.stderr.decode())


def test_fifo_in_a_directory_is_skipped_not_waited_on(tmp_path: Path) -> None:
    import os

    (tmp_path / "user.yaml").write_text(
        "apiVersion: mcpctl.dev/v1\nkind: User\nmetadata: {name: ada}\nspec: {email: ada@example.com}\n"
    )
    os.mkfifo(tmp_path / "pipe.yaml")
    done = subprocess.run([MCPCTL, "validate", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pipe.yaml: warning: not a regular file" in done.stderr
    assert done.stdout.strip() == "1 documents, 0 errors, 1 warnings"


def test_document_and_problem_limits_stop_with_a_clear_error(tmp_path: Path, monkeypatch: object) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("---\na: 1\n" * 50)
    code, out, err = run("validate", str(many), "--max-problems", "5")
    # Two problems a document: the sixth, in the third document, stops the run.
    assert code == 1 and out.strip() == "3 documents, 6 errors, 0 warnings"
    assert err.count("\n") == 6 and "validation stopped after 5 problems, the limit" in err
    assert "--max-problems or MCPCTL_MAX_PROBLEMS" in err
    code, out, err = run("validate", str(many), "--max-documents", "10", "--max-problems", "1000")
    assert code == 1 and "more than 10 documents in one run, the limit" in err
    assert f"{many}:22:1: more than 10" in err and out.startswith("10 documents")
    # The environment sets the same limits (for plan, apply and reconcile too).
    result = CliRunner().invoke(cli, ["validate", str(many)], env={"MCPCTL_MAX_DOCUMENTS": "3"})
    assert result.exit_code == 1 and "more than 3 documents" in result.stderr
    bad = CliRunner().invoke(cli, ["plan", "-f", str(many)], env={"MCPCTL_MAX_DOCUMENTS": "lots"})
    assert bad.exit_code == 2 and "MCPCTL_MAX_DOCUMENTS must be a whole number" in bad.stderr


def test_a_million_tiny_documents_cost_little(tmp_path: Path) -> None:
    # Once 2.19 GB and 67 s: now the problem limit stops the run within its first thousand documents,
    # and without it the document limit stops it at 100,000.
    flood = tmp_path / "flood.yaml"
    flood.write_text("---\na: 1\n" * 1_000_000)
    script = (
        "import resource, subprocess, sys, time\n"
        "started = time.monotonic()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(done.returncode, rss, time.monotonic() - started, done.stderr.splitlines()[-1])\n"
    )
    for extra in ((), ("--max-problems", "1000000000")):
        measured = subprocess.run(
            [sys.executable, "-c", script, str(MCPCTL), "validate", str(flood), *extra],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout.split(maxsplit=3)
        code, rss_mb, seconds, last = int(measured[0]), int(measured[1]), float(measured[2]), measured[3]
        assert code == 1 and rss_mb < 400, (rss_mb, last)
        assert ("validation stopped" if not extra else "more than 100,000 documents") in last
        assert seconds < 120


def test_help_states_the_schemas_own_limit_defaults() -> None:
    from mcpctl.cli._validate import MAX_DOCUMENTS_HELP, MAX_PROBLEMS_HELP
    from mcpctl.schemas import MAX_DOCUMENTS_ENV, MAX_PROBLEMS_ENV, Limits

    assert f"default {Limits().max_documents:,}; or {MAX_DOCUMENTS_ENV}" == MAX_DOCUMENTS_HELP
    assert f"default {Limits().max_problems:,}; or {MAX_PROBLEMS_ENV}" == MAX_PROBLEMS_HELP
