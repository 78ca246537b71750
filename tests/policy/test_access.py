"""Tests of mcpctl.policy._access: what each subject gains or loses between two states."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _samples import server, token
from mcpctl.policy import OPERATIONS, ROLES, AccessChange, PolicySet, access_changes, matches
from mcpctl.schemas import Group, McpToken, ResourceModel, RoleBinding, load_and_validate, parse_resource

from ._estate import binding, group, rule, user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"
BASE = [user("ann"), user("ben"), group("ops", "ann", "ben"), token("ci", "demo")]


def lines(before: list[ResourceModel], after: list[ResourceModel]) -> list[str]:
    return [str(change) for change in access_changes(before, after)]


def test_no_change_gives_nothing_even_when_the_yaml_moved() -> None:
    before = [*BASE, binding("b", ["User/ann"], [rule("run", "servers", ["git", "time"])])]
    after = [
        *BASE,
        binding("renamed", ["User/ann"], [rule("run", "servers", ["time"]), rule("run", "servers", ["git"])]),
    ]
    assert access_changes(before, after) == []
    assert access_changes(PolicySet.from_resources(after), after) == []


def test_a_group_binding_reaches_the_group_and_every_member() -> None:
    after = [*BASE, binding("ops", ["Group/ops"], [rule("edit", "servers")], ["audit"])]
    assert lines(BASE, after) == [
        "+ User/ann may view servers",
        "+ User/ann may edit servers",
        "+ User/ann may audit",
        "+ User/ben may view servers",
        "+ User/ben may edit servers",
        "+ User/ben may audit",
        "+ Group/ops may view servers",
        "+ Group/ops may edit servers",
        "+ Group/ops may audit",
    ]


def test_leaving_a_group_revokes_what_came_through_it() -> None:
    before = [*BASE, binding("ops", ["Group/ops"], [rule("run", "servers")])]
    after = [user("ann"), user("ben"), group("ops", "ann"), token("ci", "demo"), before[-1]]
    assert lines(before, after) == ["- User/ben may run servers"]


def test_narrowing_a_token_to_tools_is_one_revoked_line() -> None:
    before = [*BASE[:3], token("ci", "demo", bindings=[rule("run", "servers", ["git"])])]
    after = [*BASE[:3], token("ci", "demo", bindings=[rule("run", "servers", ["git"], ["git_log"])])]
    (change,) = access_changes(before, after)
    assert str(change) == "- McpToken/demo/ci may run servers/git"
    assert change.to_dict() == {
        "subject": "McpToken/demo/ci",
        "verb": "run",
        "resource": "servers",
        "name": "git",
        "tool": None,
        "project": "demo",
        "change": "revoked",
    }
    # Widening again lists the statement that became true.
    assert lines(after, before) == ["+ McpToken/demo/ci may run servers/git"]


def test_tool_scopes_are_listed_per_tool() -> None:
    before = [*BASE[:3], token("ci", "demo", bindings=[rule("run", "servers", ["git"], ["git_log"])])]
    after = [
        *BASE[:3],
        token(
            "ci", "demo", bindings=[rule("run", "servers", ["git"], ["git_log", "git_diff*", "git_status"])]
        ),
    ]
    changes = access_changes(before, after)
    assert [c.tool for c in changes] == ["git_diff*", "git_status"]
    assert str(changes[0]) == "+ McpToken/demo/ci may run servers/git/git_diff*"
    # A narrower glob under one already held is no change.
    wider = [*BASE[:3], token("ci", "demo", bindings=[rule("run", "servers", ["git"], ["git_*"])])]
    assert lines(wider, after) == ["- McpToken/demo/ci may run servers/git/git_*"]
    assert lines(after, wider) == ["+ McpToken/demo/ci may run servers/git/git_*"]


def test_project_bindings_say_their_project() -> None:
    after = [
        *BASE,
        binding("research", ["User/ann"], [rule("view", "prompts", ["guide"])], ["logs"], project="research"),
    ]
    changes = access_changes(BASE, after)
    assert [str(c) for c in changes] == [
        "+ User/ann may view prompts/guide in project research",
        "+ User/ann may logs in project research",
    ]
    assert {c.project for c in changes} == {"research"}


def test_wider_changes_absorb_narrower_ones() -> None:
    after = [
        *BASE,
        binding(
            "a",
            ["User/ann"],
            [rule("run", "servers", ["git"]), rule("run", "servers"), rule("run", "servers", tools=["x"])],
        ),
        binding("b", ["User/ann"], [rule("view", "prompts", ["guide"])], project="research"),
        binding("c", ["User/ann"], [rule("view", "*")]),
    ]
    assert lines(BASE, after) == ["+ User/ann may view *", "+ User/ann may run servers"]


def test_a_clone_token_follows_its_owner_within_its_project() -> None:
    clone = token("laptop", "demo", rbac="clone", owner="ann")
    before = [*BASE, clone]
    after = [
        *BASE,
        clone,
        binding("ann", ["User/ann"], [rule("run", "servers", ["git"])]),
        binding("ann-other", ["User/ann"], [rule("edit", "prompts")], project="other"),
    ]
    assert lines(before, after) == [
        "+ User/ann may run servers/git",
        "+ User/ann may view prompts in project other",
        "+ User/ann may edit prompts in project other",
        "+ McpToken/demo/laptop may run servers/git",
    ]


def test_subjects_that_come_or_go_gain_or_lose_everything() -> None:
    ops = binding("ops", ["ServiceAccount/deployer"], [rule("create", "servers")], ["backup"])
    assert lines(BASE, [*BASE, ops]) == [
        "+ ServiceAccount/deployer may create servers",
        "+ ServiceAccount/deployer may backup",
    ]
    assert lines([*BASE, ops], BASE) == [
        "- ServiceAccount/deployer may create servers",
        "- ServiceAccount/deployer may backup",
    ]
    with_token = [*BASE[:3], token("ci", "demo", bindings=[rule("view", "prompts")])]
    assert lines(with_token, BASE[:3]) == ["- McpToken/demo/ci may view prompts"]


def test_the_example_repo_from_nothing_and_one_edit() -> None:
    models = load_and_validate([str(EXAMPLES)]).models()
    created = lines([], models)
    assert "+ McpToken/platform/ci-bot may run servers/git/git_diff*" in created
    assert "+ McpToken/platform/review-agent may run servers/git/git_show" in created
    assert "+ ServiceAccount/backup-job may backup" in created
    assert "+ User/carol may run servers/fetch in project research" in created
    assert not [line for line in created if line.startswith("-")]
    edited = [
        token("ci-bot", "platform", bindings=[rule("run", "servers", ["git"], ["git_log", "git_commit"])])
        if m.identity.name == "ci-bot"
        else m
        for m in models
    ]
    assert lines(models, edited) == [
        "+ McpToken/platform/ci-bot may run servers/git/git_commit",
        "- McpToken/platform/ci-bot may run servers/git/git_diff*",
        "- McpToken/platform/ci-bot may run servers/git/git_show",
        "- McpToken/platform/ci-bot may run servers/git/git_status",
        "- McpToken/platform/ci-bot may run servers/time",
    ]


def test_other_kinds_are_ignored() -> None:
    assert access_changes([server("git")], [server("time")]) == []


# --- every concrete difference of decisions is listed (hypothesis) -----------------------------------

SUBJECTS = ["User/ann", "User/ben", "Group/ops", "ServiceAccount/sa", "McpToken/p/t"]


@st.composite
def states(draw: st.DrawFn) -> list[ResourceModel]:
    resources: list[ResourceModel] = [user("ann"), user("ben")]
    resources.append(group("ops", *draw(st.lists(st.sampled_from(["ann", "ben"]), unique=True))))
    token_spec: dict[str, Any] = draw(st.sampled_from([{}, {"rbac": "clone", "owner": "ann"}]))
    resources.append(token("t", "p", bindings=draw(st.lists(a_rule(), max_size=2)), **token_spec))
    for index in range(draw(st.integers(0, 3))):
        subjects = draw(
            st.lists(
                st.sampled_from(["User/ann", "User/ben", "Group/ops", "ServiceAccount/sa", "McpToken/t"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        scope = draw(st.sampled_from([None, "p"]))
        operations = draw(st.lists(st.sampled_from(OPERATIONS), unique=True, max_size=1))
        rules = draw(st.lists(a_rule(), min_size=0 if operations else 1, max_size=2))
        resources.append(binding(f"b{index}", subjects, rules, operations, project=scope))
    return resources


@st.composite
def a_rule(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from([*ROLES, "run", "run"]))
    resource = draw(st.sampled_from(["servers", "servers", "prompts", "*"]))
    names = draw(st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=2))
    tools = (
        draw(st.lists(st.sampled_from(["x", "y", "x*"]), unique=True, max_size=2))
        if (role, resource) == ("run", "servers")
        else []
    )
    return rule(role, resource, names, tools)


QUESTIONS = [
    (verb, resource, name, tool, project)
    for verb in ROLES
    for resource in ["servers", "prompts", "*"]
    for name in [None, "a", "c"]
    for tool in ([None, "x", "xz", "y"] if (verb, resource) == ("run", "servers") else [None])
    for project in [None, "p"]
] + [(op, None, None, None, project) for op in OPERATIONS for project in [None, "p"]]


def covers(
    change: AccessChange,
    verb: str,
    resource: str | None,
    name: str | None,
    tool: str | None,
    project: str | None,
) -> bool:
    return (
        change.verb == verb
        and (change.resource == "*" or change.resource == resource)
        and (change.project is None or change.project == project)
        and (change.name is None or change.name == name)
        and (
            change.tool is None
            or (tool is not None and all(matches(p, tool) for p in change.tool.split("&")))
        )
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=states(), after=states())
def test_every_difference_in_decisions_is_a_listed_change(
    before: list[ResourceModel], after: list[ResourceModel]
) -> None:
    old, new = PolicySet.from_resources(before), PolicySet.from_resources(after)
    changes = access_changes(old, new)
    for subject in SUBJECTS:
        was, now = old.permissions_of(subject, strict=False), new.permissions_of(subject, strict=False)
        mine = [c for c in changes if c.subject == subject]
        for question in QUESTIONS:
            if subject.startswith("McpToken/") and question[4] is None:
                continue  # a token's questions are asked in its project
            a, b = was.allows(*question), now.allows(*question)
            if b and not a:
                assert any(c.change == "granted" and covers(c, *question) for c in mine), (subject, question)
            if a and not b:
                assert any(c.change == "revoked" and covers(c, *question) for c in mine), (subject, question)
        for change in mine:
            # A listed change with a plain tool (or none) really changed that decision.
            if change.tool is None or "*" not in change.tool:
                asked = (change.verb, change.resource, change.name, change.tool, change.project)
                assert was.allows(*asked) is (change.change == "revoked"), change
                assert now.allows(*asked) is (change.change == "granted"), change
    assert changes == sorted(changes, key=lambda c: SUBJECTS.index(c.subject))


def edited(
    before: list[ResourceModel], edit: str, pick: int, rules: list[dict[str, Any]]
) -> list[ResourceModel]:
    """`before` with one small edit that keeps every identity (or, for `drop`, loses one resource)."""
    bindings = [r for r in before if isinstance(r, RoleBinding)]
    target = bindings[pick % len(bindings)] if bindings and edit == "binding" else None
    after = []
    for resource in before:
        document = resource.to_document()
        if resource is target:
            document["spec"]["rules"], document["spec"]["operations"] = rules, [{"action": "logs"}]
        elif edit == "token" and isinstance(resource, McpToken):
            document["spec"]["bindings"] = rules
        elif edit == "members" and isinstance(resource, Group):
            document["spec"]["members"] = ["ben"] if "ann" in document["spec"].get("members", []) else ["ann"]
        elif (
            edit == "owner" and isinstance(resource, RoleBinding) and resource.spec.subjects[0].kind == "User"
        ):
            document["spec"]["operations"] = [{"action": "impersonate"}]
        elif edit == "drop" and resource is before[pick % len(before)]:
            continue
        after.append(parse_resource(document))
    return after


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=states(),
    edit=st.sampled_from(["binding", "token", "members", "owner", "drop"]),
    pick=st.integers(0, 7),
    rules=st.lists(a_rule(), max_size=2),
)
def test_skipping_unchanged_subjects_changes_no_answer(
    before: list[ResourceModel], edit: str, pick: int, rules: list[dict[str, Any]]
) -> None:
    after = edited(before, edit, pick, rules)
    with patch("mcpctl.policy._access._same_inputs", return_value=False):
        everything = access_changes(before, after)
    assert access_changes(before, after) == everything
