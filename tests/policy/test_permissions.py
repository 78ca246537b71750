"""Tests of mcpctl.policy._permissions: one subject's decisions, their reasons, and the questions asked."""

from __future__ import annotations

import pytest

from _samples import token
from mcpctl.errors import UsageError
from mcpctl.policy import NO_RULE, Decision, PermissionSet, PolicySet, SubjectRef, check_request

from ._estate import binding, rule, user


@pytest.fixture
def ann() -> PermissionSet:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            binding(
                "ann",
                ["User/ann"],
                [
                    rule("run", "servers", ["git"], ["git_log", "git_diff*"]),
                    rule("run", "servers", ["time"]),
                    rule("view", "prompts", ["guide"]),
                    rule("delete", "*", ["old"]),
                ],
                ["logs"],
            ),
            binding("ann-alpha", ["User/ann"], [rule("edit", "servers")], ["audit"], project="alpha"),
        ]
    )
    return policy.permissions_of("User/ann")


@pytest.mark.parametrize(
    ("question", "allowed"),
    [
        (("run", "servers", "git", "git_log"), True),
        (("run", "servers", "git", "git_diff_staged"), True),
        (("run", "servers", "git", "git_commit"), False),
        (("run", "servers", "git"), False),  # the whole server: more than two tools
        (("run", "servers", "time"), True),
        (("run", "servers", "time", "convert_time"), True),
        (("run", "servers", None, "git_log"), False),  # git_log of every server
        (("run", "servers"), False),
        (("view", "prompts", "guide"), True),
        (("view", "prompts"), False),
        (("delete", "servers", "old"), True),  # `*` covers every resource type
        (("delete", "*", "old"), True),
        (("delete", "servers", "new"), False),
        (("logs",), True),
        (("audit",), False),
    ],
)
def test_decisions(ann: PermissionSet, question: tuple[str, ...], allowed: bool) -> None:
    decision = ann.decide(*question)
    assert decision.allowed is allowed and bool(decision) is allowed
    assert ann.allows(*question) is allowed


def test_project_bindings_answer_only_in_their_project(ann: PermissionSet) -> None:
    assert ann.decide("edit", "servers", "git", project="alpha").allowed
    assert ann.decide("view", "servers", "git", project="alpha").allowed  # edit implies view
    assert ann.decide("audit", project="alpha").allowed
    assert not ann.decide("audit", project="beta").allowed
    assert not ann.decide("edit", "servers", "git").allowed
    # Global grants hold in every project.
    assert ann.decide("logs", project="beta").allowed


def test_reasons_name_the_binding_the_rule_and_the_path(ann: PermissionSet) -> None:
    yes = ann.decide("run", "servers", "git", "git_log")
    assert yes.reason == "RoleBinding/ann spec.rules[0] grants run servers/git tools git_diff*,git_log"
    assert yes.grant is not None and yes.grant.via == "direct" and yes.grant.project is None
    implied = ann.decide("view", "servers", "time", project="alpha")
    assert (
        implied.reason == "RoleBinding/alpha/ann-alpha spec.rules[0] grants edit servers (edit implies view)"
    )
    no = ann.decide("run", "servers", "git", "git_commit")
    assert no.grant is None
    assert no.reason == (
        f"{NO_RULE} (nearest: run servers/git tools git_diff*,git_log by RoleBinding/ann spec.rules[0]; "
        "run servers/time by RoleBinding/ann spec.rules[1])"
    )
    assert ann.decide("audit").reason == f"{NO_RULE} here (it holds in project alpha)"
    assert ann.decide("create", "users").reason == NO_RULE


def test_a_subject_with_nothing_says_so() -> None:
    policy = PolicySet.from_resources([user("zoe")])
    assert policy.decide("User/zoe", "view", "servers") == Decision(
        False, f"{NO_RULE} (User/zoe holds no permissions)"
    )


def test_tool_scope_filters_a_tool_listing(ann: PermissionSet) -> None:
    git = ann.tool_scope("git")
    assert [t for t in ["git_log", "git_diff", "git_commit", "git_status"] if git.allows(t)] == [
        "git_log",
        "git_diff",
    ]
    assert ann.tool_scope("time").any
    assert ann.tool_scope("fetch").empty
    assert ann.tool_scope("fetch", project="alpha").empty  # edit in alpha is not run


def test_operations_and_projects(ann: PermissionSet) -> None:
    assert ann.operations() == ("logs",)
    assert ann.operations("alpha") == ("logs", "audit")
    alpha = ann.in_project("alpha")
    assert {g.project for g in alpha} == {None, "alpha"} and len(alpha) == len(ann)
    assert {g.project for g in ann.in_project(None)} == {None}
    assert {g.project for g in ann.in_project("beta")} == {None}


def test_a_token_asks_in_its_own_project_by_default() -> None:
    policy = PolicySet.from_resources([token("t", "alpha", bindings=[rule("run", "servers", ["git"])])])
    t = policy.permissions_of("McpToken/alpha/t")
    assert t.decide("run", "servers", "git").allowed
    assert t.decide("run", "servers", "git", project="alpha").allowed
    assert (
        t.decide("run", "servers", "git", project="beta").reason
        == "McpToken/alpha/t acts only in project alpha"
    )


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (("rn", "servers", None, None), 'unknown verb "rn"; did you mean "run"?'),
        (("audit", "servers", None, None), '"audit" is an operation: it takes no resource'),
        (("view", None, None, None), '"view" needs a resource'),
        (("view", "sevrers", None, None), 'unknown resource "sevrers"; did you mean "servers"?'),
        (("view", "servers", "git", "git_log"), "only run on servers has tools"),
        (("run", "prompts", "p", "x"), "only run on servers has tools"),
    ],
)
def test_questions_policy_cannot_answer_are_usage_errors(
    question: tuple[str, str | None, str | None, str | None], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        check_request(*question)
    with pytest.raises(UsageError, match=message):
        PermissionSet(SubjectRef("User", "x"), ()).decide(*question)
