"""`mcpctl delete`: dependents need --cascade, prevent-destroy always refuses, gitops needs --force."""

from __future__ import annotations

import pytest

from mcpctl.schemas import CLI_MANAGER, Identity, LiveResource, Project
from mcpctl.store import Store

from .test_get import res, run, seed


@pytest.fixture
def url(database_url: str) -> str:
    seed(
        database_url,
        res("Server", "time", {"transport": "stdio", "command": "mcp-server-time"}),
        res("Server", "git", {"transport": "stdio", "command": "mcp-server-git"}),
        res(
            "Server",
            "locked",
            {"transport": "stdio", "command": "x"},
            annotations={"mcpctl.dev/prevent-destroy": "true"},
        ),
        res("Project", "alpha", {"servers": ["git", "time"]}),
        res("Prompt", "intro", {"content": "hi"}, project="alpha"),
        res("McpToken", "ci", {}, project="alpha"),
        res(
            "RoleBinding",
            "ci-run",
            {
                "subjects": [{"kind": "McpToken", "name": "ci"}],
                "rules": [{"role": "run", "resource": "servers"}],
            },
            project="alpha",
        ),
        res("User", "ada", {"email": "ada@example.com"}),
        managed_by=CLI_MANAGER,
    )
    seed(
        database_url,
        res("Server", "gitops", {"transport": "stdio", "command": "y"}),
        managed_by="gitops:/repo",
    )
    return database_url


def everything(url: str) -> dict[Identity, LiveResource]:
    store = Store.open(url)
    try:
        return {live.identity: live for live in store.list_resources()}
    finally:
        store.close()


def test_delete_an_unused_resource(url: str) -> None:
    result = run(url, "delete", "user", "ada")
    assert result.exit_code == 0, result.output
    assert result.stdout == "user/ada deleted\n"
    assert Identity("User", None, "ada") not in everything(url)


def test_server_used_by_a_project_needs_cascade(url: str) -> None:
    before = everything(url)
    refused = run(url, "delete", "server", "time")
    assert refused.exit_code == 1
    assert 'Server "time" is used by Project "alpha" (spec.servers)' in refused.stderr
    assert "--cascade" in refused.stderr
    assert everything(url) == before

    cascaded = run(url, "delete", "srv", "time", "--cascade")
    assert cascaded.exit_code == 0, cascaded.output
    assert cascaded.stdout.splitlines() == [
        "project/alpha updated (removed time from spec.servers)",
        "server/time deleted",
    ]
    after = everything(url)
    assert Identity("Server", None, "time") not in after
    alpha = after[Identity("Project", None, "alpha")]
    assert isinstance(alpha.resource, Project)
    assert alpha.resource.spec.servers == ["git"] and alpha.managed_by == CLI_MANAGER


def test_project_with_prompts_and_tokens_needs_cascade(url: str) -> None:
    refused = run(url, "delete", "project", "alpha")
    assert refused.exit_code == 1
    for child in ('Prompt "alpha/intro"', 'McpToken "alpha/ci"', 'RoleBinding "alpha/ci-run"'):
        assert child in refused.stderr
    result = run(url, "delete", "project", "alpha", "--cascade")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "rolebinding/ci-run deleted",
        "prompt/intro deleted",
        "mcptoken/ci deleted",
        "project/alpha deleted",
    ]
    assert {identity.kind for identity in everything(url)} == {"Server", "User"}


def test_token_in_a_binding_cascades_to_the_lone_binding(url: str) -> None:
    result = run(url, "delete", "token", "ci", "--cascade")
    assert result.stdout.splitlines() == ["rolebinding/ci-run deleted", "mcptoken/ci deleted"]


def test_prevent_destroy_is_refused_even_with_force(url: str) -> None:
    for flags in ((), ("--force", "--cascade")):
        result = run(url, "delete", "server", "locked", *flags)
        assert result.exit_code == 1
        assert "prevent-destroy" in result.stderr and 'Server "locked"' in result.stderr
    assert Identity("Server", None, "locked") in everything(url)


def test_gitops_managed_needs_force_and_warns(url: str) -> None:
    refused = run(url, "delete", "server", "gitops")
    assert refused.exit_code == 1
    assert "managed by gitops:/repo" in refused.stderr and "--force" in refused.stderr
    assert Identity("Server", None, "gitops") in everything(url)
    forced = run(url, "delete", "server", "gitops", "--force")
    assert forced.exit_code == 0
    assert 'warning: Server "gitops" is managed by gitops:/repo' in forced.stderr
    assert "undo" in forced.stderr
    assert Identity("Server", None, "gitops") not in everything(url)


def test_dry_run_and_several_names(url: str) -> None:
    before = everything(url)
    dry = run(url, "delete", "server", "time", "git", "--cascade", "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [
        "project/alpha updated (removed git, time from spec.servers) (dry run)",
        "server/git deleted (dry run)",
        "server/time deleted (dry run)",
    ]
    assert everything(url) == before


def test_missing_name_deletes_nothing(url: str) -> None:
    before = everything(url)
    result = run(url, "delete", "user", "ada", "nobody")
    assert result.exit_code == 1 and result.stderr.strip() == 'error: User "nobody" not found'
    assert everything(url) == before
    assert run(url, "delete", "user").exit_code == 2


def test_history_records_the_delete(url: str) -> None:
    run(url, "delete", "server", "time", "--cascade")
    store = Store.open(url)
    try:
        latest = store.history(limit=1)[0]
    finally:
        store.close()
    assert latest.source == CLI_MANAGER and latest.counts == {"add": 0, "change": 1, "destroy": 1}
