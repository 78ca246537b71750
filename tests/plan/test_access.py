"""Access changes in plans: what each subject gains or loses, in text, markdown, JSON and plan files."""

from __future__ import annotations

import json
from pathlib import Path

from _samples import res
from mcpctl.plan import diff, load_plan, render_json, render_markdown, render_text, save_plan
from mcpctl.schemas import LiveResource, ResourceModel

from ._samples import MANAGER, live

GIT_READ = {"role": "run", "resource": "servers", "names": ["git"], "tools": ["git_log", "git_diff*"]}


def _states() -> tuple[list[ResourceModel], list[LiveResource]]:
    """Live: ci may run git and time; desired: ci only git's read tools, ops loses audit, a new user."""
    before = [
        res("User", "alice", {"email": "a@example.com"}),
        res("Group", "ops", {"members": ["alice"]}),
        res(
            "RoleBinding",
            "ops-audit",
            {
                "subjects": [{"kind": "Group", "name": "ops"}],
                "rules": [],
                "operations": [{"action": "audit"}],
            },
        ),
        res(
            "McpToken",
            "ci",
            {"bindings": [{"role": "run", "resource": "servers", "names": ["git", "time"]}]},
            "demo",
        ),
        res("Server", "git", {"transport": "stdio", "command": "mcp-server-git"}),
    ]
    after = [
        before[0],
        res("User", "bob", {"email": "b@example.com"}),
        res("Group", "ops", {"members": ["alice", "bob"]}),
        res("McpToken", "ci", {"bindings": [GIT_READ]}, "demo"),
        before[4],
    ]
    return after, [live(r) for r in before]


def test_a_plan_lists_what_each_subject_gains_or_loses() -> None:
    desired, current = _states()
    plan = diff(desired, current, manager=MANAGER, source="/repo", base_generation=3)
    assert [str(c) for c in plan.access_changes] == [
        "- User/alice may audit",
        "- Group/ops may audit",
        # Narrowed to some of git's tools: what it still may do is no change, only the loss is.
        "- McpToken/demo/ci may run servers/git",
        "- McpToken/demo/ci may run servers/time",
    ]
    text = render_text(plan)
    section = text.split("Access changes:\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [f"  {c}" for c in plan.access_changes]
    markdown = render_markdown(plan)
    assert "**Access changes:**\n\n```diff\n- User/alice may audit\n" in markdown
    document = json.loads(render_json(plan))
    assert document["access_changes"][2] == {
        "subject": "McpToken/demo/ci",
        "verb": "run",
        "resource": "servers",
        "name": "git",
        "tool": None,
        "project": "demo",
        "change": "revoked",
    }


def test_access_changes_survive_a_plan_file(tmp_path: Path) -> None:
    desired, current = _states()
    plan = diff(desired, current, manager=MANAGER, source="/repo", base_generation=3)
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json").access_changes == plan.access_changes


def test_no_rbac_change_means_no_access_changes() -> None:
    _, current = _states()
    server = res("Server", "git", {"transport": "stdio", "command": "mcp-server-git", "args": ["-v"]})
    plan = diff([*(r.resource for r in current[:4]), server], current, manager=MANAGER, source="/repo")
    assert plan.has_changes and plan.access_changes == ()
    assert "Access changes" not in render_text(plan) and "Access changes" not in render_markdown(plan)


def test_a_new_group_member_gains_what_the_group_holds() -> None:
    _, current = _states()
    kept = [r.resource for r in current]
    kept[1] = res("Group", "ops", {"members": ["alice", "bob"]})
    bob = res("User", "bob", {"email": "b@example.com"})
    plan = diff([*kept, bob], current, manager=MANAGER, source="/repo")
    assert [str(c) for c in plan.access_changes] == ["+ User/bob may audit"]
