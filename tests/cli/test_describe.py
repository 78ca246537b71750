"""`mcpctl describe`: header fields, spec and the relation sections of each kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mcpctl.store import Store, hash_token

from .test_get import res, run, seed


@pytest.fixture
def url(database_url: str) -> str:
    seed(
        database_url,
        res(
            "Template",
            "git",
            {
                "parameters": [{"name": "repo", "required": True}],
                "server": {
                    "transport": "stdio",
                    "command": "mcp-server-git",
                    "args": ["--repository", "{{ repo }}"],
                },
            },
        ),
        res("Server", "time", {"transport": "stdio", "command": "mcp-server-time"}),
        res("Server", "git", {"fromTemplate": {"name": "git", "values": {"repo": "."}}}),
        res(
            "Project",
            "alpha",
            {"servers": ["git", "time", "gone"], "instructions": "Line one.\nLine two."},
            labels={"team": "a"},
            annotations={"mcpctl.dev/prevent-destroy": "true"},
        ),
        res("Prompt", "intro", {"content": "hi", "priority": 8, "tags": ["x"]}, project="alpha"),
        res("User", "ada", {"email": "ada@example.com"}),
        res("Group", "devs", {"members": ["ada"]}),
        res(
            "RoleBinding",
            "devs-run",
            {
                "subjects": [{"kind": "Group", "name": "devs"}],
                "rules": [{"role": "run", "resource": "servers", "names": ["time"]}],
            },
        ),
        res(
            "McpToken", "laptop", {"rbac": "clone", "owner": "ada", "expires": "2020-01-01"}, project="alpha"
        ),
        res(
            "McpToken",
            "ci",
            {"revoked": True, "bindings": [{"role": "run", "resource": "servers"}]},
            project="alpha",
        ),
    )
    return database_url


def section(text: str, title: str) -> list[list[str]]:
    """The rows (split on whitespace) under `title:` up to the next unindented line."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        rows.append(line.split())
    return rows


def test_project_shows_fields_spec_and_relations(url: str) -> None:
    result = run(url, "describe", "project", "alpha")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Name:             alpha\n" in out and "Kind:             Project\n" in out
    assert "Labels:           team=a\n" in out and "Prevent-Destroy:  true\n" in out
    assert "Managed-By:       gitops:/repo\n" in out and "Source-Revision:  c0ffee\n" in out
    assert "  instructions: |-\n    Line one.\n    Line two.\n" in out
    assert section(out, "Servers") == [
        ["NAME", "STATUS"],
        ["git", "present"],
        ["gone", "missing"],
        ["time", "present"],
    ]
    assert section(out, "Prompts") == [["NAME", "PRIORITY", "TAGS"], ["intro", "8", "x"]]
    assert section(out, "Tokens")[1:] == [
        ["ci", "revoked", "empty", "never"],
        ["laptop", "expired", "clone", "2020-01-01"],
    ]
    assert section(out, "Role bindings") == [["<none>"]]
    assert section(out, "Content pipeline (default)") == [
        ["ORDER", "STAGE", "SETTINGS"],
        ["1", "paginate", "maxResponseChars=80000", "pageChars=40000"],
    ]


def test_builtin_and_stored_proxy_models_show_their_stages_and_projects(database_url: str) -> None:
    seed(
        database_url,
        res("ProxyModel", "brief", {"stages": [{"type": "summarize", "maxChars": 500}]}),
        res("Project", "docs", {"proxyModel": "content-pipeline", "pagination": {"maxResponseChars": 20000}}),
        res("Project", "terse", {"proxyModel": "brief"}),
    )
    builtin = run(database_url, "describe", "proxymodel", "content-pipeline")
    assert builtin.exit_code == 0, builtin.output
    assert "Managed-By:       builtin\n" in builtin.stdout
    assert section(builtin.stdout, "Stages") == [
        ["ORDER", "STAGE", "SETTINGS"],
        ["1", "paginate", "maxResponseChars=80000", "pageChars=40000"],
        ["2", "split-sections", "maxSectionChars=20000"],
    ]
    assert section(builtin.stdout, "Projects") == [["NAME"], ["docs"]]
    stored = run(database_url, "describe", "proxymodel", "brief").stdout
    assert section(stored, "Stages")[1:] == [["1", "summarize", "maxChars=500", "tier=heavy"]]
    assert section(stored, "Projects") == [["NAME"], ["terse"]]
    # A project shows what it runs: its own limit in the built-in's paginate stage; a stored model's
    # stages with the paginate stage every project gets.
    docs = run(database_url, "describe", "project", "docs").stdout
    assert section(docs, "Content pipeline (content-pipeline)")[1] == [
        "1",
        "paginate",
        "maxResponseChars=20000",
        "pageChars=20000",
    ]
    terse = run(database_url, "describe", "project", "terse").stdout
    assert [row[1] for row in section(terse, "Content pipeline (brief)")[1:]] == ["summarize", "paginate"]
    assert run(database_url, "describe", "proxymodel", "nope").exit_code == 1


def test_server_shows_projects_and_template(url: str) -> None:
    out = run(url, "describe", "srv", "git").stdout
    assert section(out, "Projects") == [["NAME", "PROXY-MODEL"], ["alpha", "default"]]
    assert section(out, "Template") == [["NAME", "STATUS"], ["git", "present"]]
    assert section(run(url, "describe", "template", "git").stdout, "Servers") == [["NAME"], ["git"]]


def test_user_shows_groups_and_effective_permissions(url: str) -> None:
    out = run(url, "describe", "user", "ada").stdout
    assert section(out, "Groups") == [["NAME"], ["devs"]]
    assert section(out, "Effective permissions") == [
        ["PROJECT", "VERB", "RESOURCE", "NAMES", "TOOLS", "VIA", "FROM", "NARROWED-BY"],
        ["*", "run", "servers", "time", "*", "group", "devs", "RoleBinding/devs-run", "spec.rules[0]", "-"],
    ]
    assert section(out, "Owned tokens")[1:] == [["alpha", "laptop", "clone"]]
    group = run(url, "describe", "group", "devs").stdout
    assert section(group, "Members") == [["NAME", "STATUS"], ["ada", "present"]]
    assert section(group, "Effective permissions")[1][:6] == ["*", "run", "servers", "time", "*", "direct"]


def test_token_shows_status_expiry_and_rules(url: str) -> None:
    laptop = run(url, "describe", "token", "laptop").stdout
    assert "Status:           expired\n" in laptop
    assert "Expires-At:       2020-01-01T00:00:00+00:00\n" in laptop
    # Cloned from its owner, with the way it came: owner ada, through her group devs.
    assert section(laptop, "Effective permissions")[1][:9] == [
        "alpha", "run", "servers", "time", "*", "owner", "ada", "via", "group",
    ]  # fmt: skip
    # No token value anywhere: only its display prefix, on its own line.
    assert [line for line in laptop.splitlines() if "mcpctl_pat_" in line] == [
        line for line in laptop.splitlines() if line.startswith("Token-Prefix:")
    ]
    ci = run(url, "describe", "mcptoken", "ci", "-p", "alpha").stdout
    assert "Status:           revoked\n" in ci and "Expires-At:       never\n" in ci
    assert "Last-Used:        never\n" in ci
    # The display prefix of the generated value, never the value itself.
    prefix = next(line for line in ci.splitlines() if line.startswith("Token-Prefix:")).split()[1]
    assert prefix.startswith("mcpctl_pat_") and prefix.endswith("…") and len(prefix) == 20
    assert section(ci, "Bindings") == [["ROLE", "RESOURCE", "NAMES", "TOOLS"], ["run", "servers", "*", "*"]]


def test_missing_resource_and_unknown_kind(url: str) -> None:
    missing = run(url, "describe", "user", "nobody")
    assert missing.exit_code == 1 and missing.stderr.strip() == 'error: User "nobody" not found'
    assert run(url, "describe", "usr", "nobody", "-p", "x").exit_code == 1
    assert run(url, "describe", "things", "x").exit_code == 2


def test_secret_looking_literals_are_masked(database_url: str) -> None:
    seed(
        database_url,
        res(
            "Template",
            "gh",
            {
                "parameters": [{"name": "pat", "secret": True}, {"name": "org"}],
                "server": {
                    "transport": "stdio",
                    "command": "gh",
                    "args": ["{{ org }}"],
                    "env": {"GH": "{{ pat }}"},
                },
            },
        ),
        res(
            "Server",
            "gh1",
            {"fromTemplate": {"name": "gh", "values": {"pat": "ghp_literal123", "org": "acme"}}},
        ),
        res(
            "Server",
            "api",
            {"transport": "stdio", "command": "api", "env": {"API_TOKEN": "tok-literal-9", "REGION": "eu"}},
        ),
    )
    api = run(database_url, "describe", "server", "api").stdout
    assert "API_TOKEN: (sensitive)" in api and "REGION: eu" in api and "tok-literal-9" not in api
    gh1 = run(database_url, "describe", "server", "gh1").stdout
    assert "pat: (sensitive)" in gh1 and "org: acme" in gh1 and "ghp_literal123" not in gh1


def test_secrets_found_by_value_shape_are_masked(sqlite_database_url: str) -> None:
    from mcpctl.schemas import parse_resource

    from .test_plan import SHAPED_SECRETS, shaped_secret_servers

    url = sqlite_database_url
    seed(url, *(parse_resource(doc) for doc in shaped_secret_servers()))
    for name in ("db", "api"):
        shown = run(url, "describe", "server", name).stdout
        assert "(sensitive)" in shown and not [s for s in SHAPED_SECRETS if s in shown], shown
    assert (
        "- --api-key\n    - (sensitive)\n    - (sensitive)\n    - --port"
        in run(url, "describe", "server", "db").stdout
    )
    for fmt in ("wide", "yaml", "json"):
        listed = run(url, "get", "servers", "-o", fmt).stdout
        assert not [s for s in SHAPED_SECRETS if s in listed], (fmt, listed)


def test_escape_sequences_in_fields_are_shown_escaped(sqlite_database_url: str) -> None:
    url = sqlite_database_url
    seed(
        url,
        res(
            "User",
            "mallory",
            {"email": "m@example.com", "displayName": "x\x1b[2J\x1b]0;pwned\x07"},
            description="\u202eevil\r\x9b31m",
            labels={"team": "a\x1b[31m"},
        ),
    )
    for args in (
        ("describe", "user", "mallory"),
        ("get", "users", "-o", "wide"),
        ("get", "users", "-o", "yaml"),
    ):
        shown = run(url, *args).stdout
        assert not any(c in shown for c in "\x1b\x07\x9b\u202e\r"), (args, shown)
    described = run(url, "describe", "user", "mallory").stdout
    assert "\\u202eevil\\u000d\\u009b31m" in described and "team=a\\u001b[31m" in described


def test_token_shows_when_it_was_last_used(database_url: str) -> None:
    with Store.open(database_url) as store:
        with store.transaction() as tx:
            token = res("McpToken", "bot", {"expires": "30d"}, project="alpha")
            value = tx.create_token(token, managed_by="cli")  # type: ignore[arg-type]
        used = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        store.touch_token(hash_token(value), used)
    out = run(database_url, "describe", "token", "bot").stdout
    (line,) = [line for line in out.splitlines() if line.startswith("Last-Used:")]
    assert line.startswith("Last-Used:        2026-05-01T12:00:00+00:00 (") and line.endswith(" ago)")


def test_token_description_is_shown(url: str) -> None:
    created = run(url, "create", "token", "described", "-p", "alpha", "--description", "For the nightly job")
    assert created.exit_code == 0, created.output
    out = run(url, "describe", "token", "described").stdout
    assert "Description:      For the nightly job\n" in out


def test_service_account_shows_its_bindings_and_permissions(url: str) -> None:
    seed(
        url,
        res(
            "RoleBinding",
            "backup",
            {
                "subjects": [{"kind": "ServiceAccount", "name": "backup-job"}],
                "rules": [{"role": "view", "resource": "*"}],
                "operations": [{"action": "backup"}],
            },
        ),
    )
    out = run(url, "describe", "sa", "backup-job").stdout
    assert "Kind:             ServiceAccount\n" in out
    assert section(out, "Role bindings") == [["NAME", "PROJECT"], ["backup", "*"]]
    rows = section(out, "Effective permissions")[1:]
    assert [row[:3] for row in rows] == [["*", "view", "*"], ["*", "backup", "-"]]
    missing = run(url, "describe", "serviceaccount", "nobody")
    assert (
        missing.exit_code != 0 and "ServiceAccount/nobody is not named by any role binding" in missing.output
    )
