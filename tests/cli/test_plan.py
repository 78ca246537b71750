"""`mcpctl plan` and `mcpctl diff`: formats, exit codes, saved plans, invalid input, errored plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from mcpctl.cli import cli
from mcpctl.schemas import load_and_validate
from mcpctl.store import Store

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples" / "config-repo")
EXAMPLE_DOCUMENTS = load_and_validate([EXAMPLES]).documents


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def user(name: str, **metadata: object) -> dict[str, object]:
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "User",
        "metadata": {"name": name, **metadata},
        "spec": {"email": f"{name}@example.com"},
    }


def write(path: Path, *docs: dict[str, object]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(docs)))
    return str(path)


@pytest.fixture
def url(sqlite_database_url: str) -> str:
    return sqlite_database_url


def test_plan_of_examples_then_no_changes_after_apply(database_url: str) -> None:
    planned = run("plan", "-f", EXAMPLES, "--database-url", database_url)
    assert planned.exit_code == 0, planned.output
    last = planned.stdout.rstrip().splitlines()[-1]
    assert last.startswith(f"Plan: {EXAMPLE_DOCUMENTS} to add, 0 to change, 0 to destroy")
    detailed = run("plan", "-f", EXAMPLES, "--database-url", database_url, "--detailed-exitcode")
    assert detailed.exit_code == 2
    applied = run("apply", "-f", EXAMPLES, "--database-url", database_url, "--yes")
    assert applied.exit_code == 0, applied.output
    again = run("plan", "-f", EXAMPLES, "--database-url", database_url, "--detailed-exitcode")
    assert again.exit_code == 0
    assert again.stdout.rstrip().endswith("No changes. The live store matches the desired state.")


def test_output_formats(url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "repo" / "users.yaml", user("ada"))
    data = json.loads(run("plan", "-f", source, "--database-url", url, "-o", "json").stdout)
    assert data["format_version"] == "1" and data["summary"]["add"] == 1
    assert data["changes"][0]["address"] == "User/ada"
    markdown = run("plan", "-f", source, "--database-url", url, "-o", "markdown").stdout
    assert markdown.startswith("### ") and "<details>" in markdown
    text = run("plan", "-f", source, "--database-url", url).stdout
    assert '+ User "ada" {' in text and "\x1b[" not in text  # no colour off a TTY


def test_saved_plan_then_apply_it(url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "repo" / "users.yaml", user("ada"), user("bob"))
    plan_file = tmp_path / "plan.json"
    saved = run("plan", "-f", source, "--database-url", url, "-out", str(plan_file))
    assert saved.exit_code == 0 and plan_file.exists()
    applied = run("apply", str(plan_file), "--database-url", url)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.stdout
    again = run("apply", str(plan_file), "--database-url", url)
    assert again.exit_code == 1
    assert "stale" in again.stderr.lower() or "generation" in again.stderr
    # Refused before the plan is shown: a stale plan's changes are not what would happen.
    assert again.stdout == "" and "run plan again" in again.stderr


def test_invalid_input_prints_the_same_problems_as_validate_and_plans_nothing(
    url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "repo" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(
        "apiVersion: mcpctl.dev/v1\nkind: Project\nmetadata:\n  name: p\nspec:\n  servers: [missing]\n"
        "---\napiVersion: mcpctl.dev/v1\nkind: Usr\nmetadata:\n  name: x\n"
    )
    validated = run("validate", str(bad.parent))
    problems = [line for line in validated.stderr.splitlines() if line.startswith(str(bad))]
    assert validated.exit_code == 1 and len(problems) >= 2
    for command in ("plan", "diff", "apply"):
        extra = ["--yes"] if command == "apply" else []
        result = run(command, "-f", str(bad.parent), "--database-url", url, *extra)
        assert result.exit_code != 0
        got = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
        assert got == problems, command
    store = Store.open(url)
    try:
        assert store.list_resources() == [] and store.history() == []
    finally:
        store.close()


def test_errored_plan_exits_1_and_names_the_resource(url: str, tmp_path: Path) -> None:
    guarded = user("ada", annotations={"mcpctl.dev/prevent-destroy": "true"})
    repo = tmp_path / "repo"
    write(repo / "users.yaml", guarded, user("bob"))
    assert run("apply", "-f", str(repo), "--database-url", url, "--yes").exit_code == 0
    write(repo / "users.yaml", user("bob"))
    result = run("plan", "-f", str(repo), "--database-url", url, "--detailed-exitcode")
    assert result.exit_code == 1
    assert "Error: User/ada has mcpctl.dev/prevent-destroy" in result.stdout
    assert "nothing will be applied" in result.stderr


def test_diff_exit_codes(url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "repo" / "users.yaml", user("ada"))
    changed = run("diff", "-f", source, "--database-url", url)
    assert changed.exit_code == 1 and '+ User "ada"' in changed.stdout
    assert run("apply", "-f", source, "--database-url", url, "--yes").exit_code == 0
    assert run("diff", "-f", source, "--database-url", url).exit_code == 0
    missing = run("diff", "--database-url", url)
    assert missing.exit_code == 2 and "-f PATH" in missing.stderr


SHAPED_SECRETS = ("ARGSECRET", "EQSECRET", "DBPASSWORD", "DSNKEY", "URLQUERYSECRET")


def shaped_secret_servers() -> list[dict[str, object]]:
    """Servers whose secrets sit under names that do not look secret (found by value shape or flag)."""
    stdio = {
        "transport": "stdio",
        "command": "srv",
        "args": ["--api-key", "ARGSECRET", "--token=EQSECRET", "--port", "8080"],
        "env": {
            "DATABASE_URL": "postgres://app:DBPASSWORD@db.internal/app",
            "SENTRY_DSN": "https://DSNKEY@o1.ingest.sentry.io/42",
        },
    }
    http = {"transport": "streamable-http", "url": "https://h.example/mcp?api_key=URLQUERYSECRET"}
    return [
        {"apiVersion": "mcpctl.dev/v1", "kind": "Server", "metadata": {"name": "db"}, "spec": stdio},
        {"apiVersion": "mcpctl.dev/v1", "kind": "Server", "metadata": {"name": "api"}, "spec": http},
    ]


def test_secrets_found_by_value_shape_are_masked_in_every_plan_format(url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "repo" / "servers.yaml", *shaped_secret_servers())
    for fmt in ("text", "json", "markdown"):
        shown = run("plan", "-f", source, "--database-url", url, "-o", fmt).output
        assert "(sensitive)" in shown and "8080" in shown, fmt
        assert not [s for s in SHAPED_SECRETS if s in shown], (fmt, shown)
    # An update shows old and new as (sensitive) too.
    assert run("apply", "-f", source, "--database-url", url, "--yes").exit_code == 0
    changed = (tmp_path / "repo" / "servers.yaml").read_text().replace("DBPASSWORD", "NEWPASSWORD")
    (tmp_path / "repo" / "servers.yaml").write_text(changed)
    text = run("plan", "-f", source, "--database-url", url).output
    assert "spec.env.DATABASE_URL = (sensitive) → (sensitive)" in text
    assert "NEWPASSWORD" not in text and "DBPASSWORD" not in text


def test_escape_sequences_from_resources_never_reach_the_terminal(url: str, tmp_path: Path) -> None:
    hostile = user("ada", description="\x1b]0;owned\x07\x1b[2J", labels={"team": "a\x9b31mb"})
    hostile["spec"] = {"email": "ada@example.com", "displayName": "\u202eevil\x1b[31m"}
    source = write(tmp_path / "repo" / "users.yaml", hostile)
    for fmt in ("text", "json", "markdown"):
        shown = run("plan", "-f", source, "--database-url", url, "-o", fmt).output
        assert not any(c in shown for c in "\x1b\x07\x9b\u202e"), (fmt, shown)
    text = run("plan", "-f", source, "--database-url", url).output
    assert "\\u001b[2J" in text and "\\u202eevil" in text


def test_plan_source_pauses_the_collector_and_restores_it(url: str) -> None:
    import gc

    from mcpctl.cli._plan import plan_source
    from mcpctl.reconciler import DesiredState

    seen: list[bool] = []

    class Probe:
        name = "probe"
        revision = None

        def load(self) -> DesiredState:
            seen.append(gc.isenabled())
            return DesiredState((), "probe")

    assert gc.isenabled()
    plan, _ = plan_source(url, Probe(), prune_all=False)
    assert seen == [False]
    assert gc.isenabled()
    assert not plan.has_changes
