"""The decision matrix: subjects, verbs, resources, name and tool scopes, global and project bindings.

Each case is an estate with one rule reaching one subject one way; every question of a grid is
asked and checked against the model as docs/policy.md states it, written out plainly below.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import pytest

from _samples import token
from mcpctl.policy import OPERATIONS, ROLES, PolicySet, SubjectRef, matches
from mcpctl.schemas import ResourceModel

from ._estate import binding, group, rule, user

SCOPES = (None, "alpha", "beta")
"""Where the rule's binding lives: global, or in one of two projects."""


class Case(NamedTuple):
    """How a rule reaches the subject asked about."""

    name: str
    subject: SubjectRef
    is_token: bool


CASES = {
    "user-direct": Case("user-direct", SubjectRef("User", "u"), False),
    "user-via-group": Case("user-via-group", SubjectRef("User", "u"), False),
    "group": Case("group", SubjectRef("Group", "g"), False),
    "service-account": Case("service-account", SubjectRef("ServiceAccount", "s"), False),
    "token-rolebinding": Case("token-rolebinding", SubjectRef("McpToken", "t", "alpha"), True),
    "token-own-bindings": Case("token-own-bindings", SubjectRef("McpToken", "t", "alpha"), True),
    "clone-of-owner": Case("clone-of-owner", SubjectRef("McpToken", "t", "alpha"), True),
}

RULES: list[dict[str, Any]] = [
    *(
        rule(role, resource, names)
        for role in ROLES
        for resource in ("servers", "prompts", "*")
        for names in ([], ["x"])
    ),
    *(rule("run", "servers", names, ["t_*"]) for names in ([], ["x"])),
]
OPERATION_RULES = ["audit"]


class Question(NamedTuple):
    verb: str
    resource: str | None
    name: str | None
    tool: str | None
    project: str | None


QUESTIONS = [
    *(
        Question(verb, resource, name, None, project)
        for verb in ROLES
        for resource in ("servers", "prompts", "*", "users")
        for name in (None, "x", "y")
        for project in (None, "alpha", "beta")
    ),
    *(
        Question("run", "servers", name, tool, project)
        for name in (None, "x", "y")
        for tool in ("t_1", "u_1")
        for project in (None, "alpha", "beta")
    ),
    *(Question(op, None, None, None, project) for op in OPERATIONS for project in (None, "alpha", "beta")),
]


def estate(case: Case, scope: str | None, granted: dict[str, Any] | None, operation: str | None) -> PolicySet:
    rules = [granted] if granted else []
    operations = [operation] if operation else []
    resources: list[ResourceModel] = [user("u"), user("v"), group("g", "u")]
    if case.name == "token-own-bindings":
        resources.append(token("t", "alpha", bindings=rules))
        return PolicySet.from_resources(resources)
    subject = {
        "user-direct": "User/u",
        "user-via-group": "Group/g",
        "group": "Group/g",
        "service-account": "ServiceAccount/s",
        "token-rolebinding": "McpToken/t",
        "clone-of-owner": "User/u",
    }[case.name]
    resources.append(binding("b", [subject], rules, operations, project=scope))
    if case.is_token:
        spec = {"rbac": "clone", "owner": "u"} if case.name == "clone-of-owner" else {}
        resources.append(token("t", "alpha", **spec))
    return PolicySet.from_resources(resources)


def reaches(case: Case, scope: str | None, project: str | None) -> bool:
    """Whether a rule in a binding of `scope` answers a question asked in `project`."""
    if not case.is_token:
        return scope is None or scope == project
    if (project or "alpha") != "alpha":
        return False  # a token acts only in its own project
    if case.name == "token-own-bindings":
        return True
    if case.name == "token-rolebinding":
        return scope == "alpha"  # only bindings of the token's project name it
    return scope in (None, "alpha")  # a clone has what its owner has in the token's project


def expected(
    case: Case, scope: str | None, granted: dict[str, Any] | None, operation: str | None, q: Question
) -> bool:
    if not reaches(case, scope, q.project):
        return False
    if operation is not None:
        return q.verb == operation and q.resource is None
    assert granted is not None
    if q.resource is None:
        return False
    verb_ok = q.verb == granted["role"] or (granted["role"] == "edit" and q.verb == "view")
    resource_ok = granted["resource"] in ("*", q.resource)
    names_ok = not granted.get("names") or q.name in granted["names"]
    tools = granted.get("tools")
    tools_ok = not tools or (q.tool is not None and any(matches(p, q.tool) for p in tools))
    return verb_ok and resource_ok and names_ok and tools_ok


MATRIX = [
    (case, scope)
    for case in CASES.values()
    for scope in ((None,) if case.name == "token-own-bindings" else SCOPES)
]


@pytest.mark.parametrize(("case", "scope"), MATRIX, ids=[f"{c.name}-{s or 'global'}" for c, s in MATRIX])
def test_matrix(case: Case, scope: str | None) -> None:
    grants: list[tuple[dict[str, Any] | None, str | None]] = [(r, None) for r in RULES]
    if case.name != "token-own-bindings":  # an McpToken's own bindings hold rules only
        grants += [(None, op) for op in OPERATION_RULES]
    wrong = []
    for granted, operation in grants:
        policy = estate(case, scope, granted, operation)
        permissions = policy.permissions_of(case.subject)
        for q in QUESTIONS:
            decision = permissions.decide(q.verb, q.resource, q.name, q.tool, q.project)
            want = expected(case, scope, granted, operation, q)
            if decision.allowed != want or permissions.allows(*q) != want:
                wrong.append((granted or operation, q, decision.reason))
            elif want:
                assert decision.grant is not None and str(decision.grant.origin) in decision.reason
    assert not wrong, f"{len(wrong)} wrong decisions, first: {wrong[:3]}"


def test_matrix_covers_every_dimension() -> None:
    # The grid asks about every verb, a tool inside and outside the scope, names in and out, three projects.
    assert {q.verb for q in QUESTIONS} == {*ROLES, *OPERATIONS}
    assert {q.tool for q in QUESTIONS} == {None, "t_1", "u_1"}
    assert {q.project for q in QUESTIONS} == set(SCOPES)
    assert len(list(itertools.product(MATRIX, RULES))) >= 500


def test_unrelated_subjects_get_nothing_from_the_rule() -> None:
    policy = estate(CASES["user-direct"], None, rule("edit", "*"), None)
    assert policy.permissions_of("User/u").allows("edit", "servers")
    decision = policy.decide("User/v", "edit", "servers")
    assert not decision.allowed and "holds no permissions" in decision.reason
