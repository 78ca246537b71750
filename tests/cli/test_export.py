"""`mcpctl export`: export then plan shows "No changes." (hypothesis), layout, stdout, no secrets."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _samples import doc
from mcpctl.cli import cli
from mcpctl.reconciler import source_name_for_paths
from mcpctl.schemas import CLI_MANAGER, ResourceModel, gitops_manager, load_and_validate, parse_resource
from mcpctl.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"
NAMES = st.sampled_from(["a", "b", "c-1", "d.e", "x_y", "time", "git"])
# Strings YAML likes to reinterpret, plus free text with quotes, colons, hashes and newlines.
TRICKY = st.sampled_from(
    ["true", "no", "null", "8080", "1e3", "2027-01-01", " lead", "a: b", "# c", "x\ny\n", ""]
)
TEXT = st.one_of(TRICKY, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30))


@st.composite
def estates(draw: st.DrawFn) -> list[ResourceModel]:
    users = draw(st.lists(NAMES, unique=True, max_size=3))
    servers = draw(st.lists(NAMES, unique=True, max_size=3))
    projects = draw(st.lists(NAMES, unique=True, max_size=2))
    docs: list[dict[str, Any]] = []
    for name in users:
        docs.append(doc("User", name, {"email": f"{name}@example.com", "displayName": draw(TEXT)}))
    if users:
        docs.append(doc("Group", "team", {"members": draw(st.lists(st.sampled_from(users), min_size=1))}))
    for name in servers:
        env: dict[str, Any] = draw(st.dictionaries(st.sampled_from(["A", "B_2", "PORT"]), TEXT, max_size=2))
        if draw(st.booleans()):
            env["TOKEN"] = {"secretRef": {"name": "s", "key": "token"}}
        docs.append(
            doc(
                "Server",
                name,
                {
                    "transport": "stdio",
                    "command": "run",
                    "args": draw(st.lists(TEXT, max_size=3)),
                    "env": env,
                },
                labels=draw(st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["x", "8"]))),
                description=draw(TEXT),
            )
        )
    for name in projects:
        chosen = draw(st.lists(st.sampled_from(servers), unique=True)) if servers else []
        docs.append(doc("Project", name, {"servers": chosen, "instructions": draw(TEXT)}))
        if draw(st.booleans()):
            content = draw(TEXT) or "x"
            docs.append(doc("Prompt", "p", {"content": content, "tags": ["b", "a"]}, project=name))
        if draw(st.booleans()):
            docs.append(doc("McpToken", "tok", {"expires": "30d", "description": draw(TEXT)}, project=name))
    return [parse_resource(d) for d in docs]


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=estates())
def test_export_then_plan_shows_no_changes(resources: list[ResourceModel]) -> None:
    root = Path(tempfile.mkdtemp(prefix="mcpctl-export-"))
    try:
        url = f"sqlite:///{root / 'store.db'}"
        out = root / "repo"
        manager = gitops_manager(source_name_for_paths([str(out)]))
        with Store.open(url) as store, store.transaction() as tx:
            for resource in resources:
                if resource.kind_name() == "McpToken":
                    tx.create_token(resource, managed_by=manager)  # type: ignore[arg-type]
                else:
                    tx.put(resource, managed_by=manager)
        exported = run("export", str(out), "--database-url", url)
        assert exported.exit_code == 0, exported.output
        planned = run("plan", "-f", str(out), "--database-url", url, "--detailed-exitcode")
        assert planned.exit_code == 0, planned.output
        assert "No changes." in planned.output
        again = run("export", str(out), "--database-url", url)
        assert "0 file(s) written" in again.output and "0 removed" in again.output
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_example_estate_round_trips_on_both_stores(database_url: str, store: Store, tmp_path: Path) -> None:
    applied = run(
        "apply",
        "-f",
        str(EXAMPLES),
        "--yes",
        "--database-url",
        database_url,
        "--token-output",
        str(tmp_path / "tokens"),
    )
    assert applied.exit_code == 0, applied.output
    out = tmp_path / "repo"
    exported = run("export", str(out), "--database-url", database_url)
    assert exported.exit_code == 0, exported.output
    documents = load_and_validate([str(EXAMPLES)]).documents
    assert f"Exported {documents} resource(s)" in exported.output
    assert (out / "tokens" / "platform" / "ci-bot.yaml").exists()
    assert (out / "projects" / "research" / "prompts" / "web-research.yaml").exists()
    text = "".join(p.read_text() for p in out.rglob("*.yaml"))
    for token_file in (tmp_path / "tokens").iterdir():
        assert token_file.read_text().strip() not in text
    assert "mcpctl_pat_" not in text
    assert "secretRef" in text  # secrets stay references
    # Same store, the example repo itself as the source: exporting into a copy of it changes nothing.
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLES, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.yaml")}
    run("export", str(copy), "--database-url", database_url)
    assert {p: p.read_bytes() for p in copy.rglob("*.yaml")} == before


def test_cli_built_estate_is_adopted_without_field_changes(
    database_url: str, store: Store, tmp_path: Path
) -> None:
    url = database_url
    assert (
        run("create", "user", "alice", "--email", "alice@example.com", "--database-url", url).exit_code == 0
    )
    assert run("create", "group", "devs", "--member", "alice", "--database-url", url).exit_code == 0
    out = tmp_path / "adopt"
    assert run("export", str(out), "--database-url", url).exit_code == 0
    planned = run("plan", "-f", str(out), "-o", "json", "--database-url", url)
    changes = json.loads(planned.output)["changes"]
    assert sorted(c["address"] for c in changes) == ["Group/devs", "User/alice"]
    for change in changes:
        # Adoption: ownership moves from the CLI to the exported repo; not one field differs.
        assert change["action"] == "update" and change["previous_manager"] == CLI_MANAGER
        assert change["field_changes"] == []
    assert {item.managed_by for item in store.list_resources()} == {CLI_MANAGER}


def test_export_to_stdout_with_filters(database_url: str, store: Store) -> None:
    url = database_url
    run("apply", "-f", str(EXAMPLES), "--yes", "--database-url", url, "--token-output", tempfile.mkdtemp())
    result = run("export", "-", "-p", "research", "--database-url", url)
    assert result.exit_code == 0
    assert "kind: Project\nmetadata:\n  name: research" in result.output
    assert "name: platform\n" not in result.output
    servers = run("export", "-", "--kind", "srv", "--database-url", url)
    assert servers.output.count("kind: Server\n") == 6 and "kind: Project" not in servers.output
    refused = run("export", "somewhere", "--kind", "srv", "--database-url", url)
    assert refused.exit_code == 2 and "need DIR `-`" in refused.output


LITERAL_SECRETS = ("DBPASSWORD", "HEADERTOKEN", "URLPASSWORD", "DEFAULTSECRET", "ARGSECRET")


def literal_secret_repo(root: Path) -> Path:
    """A repo whose servers and template hold literal secrets (validation only warns about them)."""
    repo = root / "secrets-repo"
    repo.mkdir()
    documents = [
        doc(
            "Server",
            "db",
            {
                "transport": "stdio",
                "command": "db-mcp",
                "args": ["--api-key", "ARGSECRET", "--port", "5432"],
                "env": {"DATABASE_URL": "postgres://app:DBPASSWORD@db.internal/app", "LOG": "info"},
            },
        ),
        doc(
            "Server",
            "web",
            {
                "transport": "streamable-http",
                "url": "https://bot:URLPASSWORD@web.example/mcp",
                "headers": {"Authorization": "Bearer HEADERTOKEN", "X-Team": "core"},
            },
        ),
        doc(
            "Template",
            "gh",
            {
                "parameters": [{"name": "pat", "secret": True, "default": "DEFAULTSECRET"}],
                "server": {"transport": "stdio", "command": "gh", "env": {"GH_TOKEN": "{{ pat }}"}},
            },
        ),
    ]
    (repo / "all.yaml").write_text(yaml.safe_dump_all(documents))
    return repo


def test_export_withholds_literal_secrets_and_says_which(sqlite_database_url: str, tmp_path: Path) -> None:
    url = sqlite_database_url
    applied = run("apply", "-f", str(literal_secret_repo(tmp_path)), "--yes", "--database-url", url)
    assert applied.exit_code == 0, applied.output
    out = tmp_path / "out"
    exported = CliRunner().invoke(cli, ["export", str(out), "--database-url", url])
    assert exported.exit_code == 0, exported.output
    text = "".join(p.read_text() for p in sorted(out.rglob("*.yaml")))
    assert not [s for s in LITERAL_SECRETS if s in text], text
    assert text.count("<withheld>") == 5 and text.count("# withheld on export") == 5
    assert "DATABASE_URL: postgres://<withheld>@db.internal/app  # withheld on export: give a" in text
    assert "- <withheld>  # withheld on export: put the value back" in text
    assert "postgres://app:<withheld>@db.internal/app" not in text  # the whole userinfo is withheld
    assert "postgres://<withheld>@db.internal/app" in text and "https://<withheld>@web.example/mcp" in text
    assert "X-Team: core" in text and "- --port\n" in text and "LOG: info" in text
    for entry in (
        "Server/db: spec.args[1]",
        "Server/db: spec.env.DATABASE_URL",
        "Server/web: spec.url",
        "Server/web: spec.headers.Authorization",
        "Template/gh: spec.parameters[0].default",
    ):
        assert f"  {entry}\n" in exported.stderr
    assert "Withheld 5 literal secret value(s)" in exported.stderr
    # The placeholder never validates, so the export cannot silently replace a secret on apply.
    checked = run("validate", str(out))
    assert checked.exit_code == 1
    assert "spec.env.DATABASE_URL: a hidden-value placeholder" in checked.output
    assert checked.output.count("hidden-value placeholder") == 5
    # Standard output withholds the same way.
    piped = CliRunner().invoke(cli, ["export", "-", "--database-url", url])
    assert not [s for s in LITERAL_SECRETS if s in piped.stdout] and piped.stdout.count("<withheld>") == 5


def test_export_include_secrets_round_trips_and_warns(sqlite_database_url: str, tmp_path: Path) -> None:
    url = sqlite_database_url
    repo = literal_secret_repo(tmp_path)
    assert run("apply", "-f", str(repo), "--yes", "--database-url", url).exit_code == 0
    out = tmp_path / "out"
    exported = CliRunner().invoke(cli, ["export", str(out), "--include-secrets", "--database-url", url])
    assert exported.exit_code == 0
    assert "warning: --include-secrets: 5 literal secret value(s) written in clear" in exported.stderr
    text = "".join(p.read_text() for p in out.rglob("*.yaml"))
    assert all(s in text for s in LITERAL_SECRETS) and "<withheld>" not in text
    planned = run("plan", "-f", str(out), "--database-url", url, "-o", "json")
    assert [c["field_changes"] for c in json.loads(planned.stdout)["changes"]] == [[], [], []]
    # Exporting again without the flag keeps the values the files already hold (nothing new is revealed,
    # and the owner's own values are not replaced by placeholders).
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    again = CliRunner().invoke(cli, ["export", str(out), "--database-url", url])
    assert again.exit_code == 0 and "Withheld" not in again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == before
