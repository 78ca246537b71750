"""Tests of mcpctl.policy._policyset: subjects, groups, tokens and clone narrowing, on built estates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _samples import server, token
from mcpctl.errors import UnknownSubject, UsageError
from mcpctl.policy import OPERATIONS, POLICY_KINDS, ROLES, PolicySet, SubjectRef
from mcpctl.schemas import LiveResource, ResourceModel, load_and_validate

from ._estate import binding, group, rule, user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


@pytest.fixture(scope="module")
def example_repo() -> PolicySet:
    result = load_and_validate([str(EXAMPLES)])
    assert result.valid
    return PolicySet.from_resources(result.models())


# The example config repo, question by question: (subject, verb, target, project, allowed, in the reason).
EXAMPLE_TABLE = [
    ("User/alice", "edit", "servers/git", None, True, "via Group/platform-team"),
    ("User/alice", "view", "prompts/code-review", "platform", True, "edit implies view"),
    ("User/alice", "delete", "servers/git", None, False, "no rule grants it"),
    ("User/alice", "audit", None, None, True, "spec.operations[0]"),
    ("User/alice", "backup", None, None, False, "no rule grants it"),
    ("User/carol", "run", "servers/fetch", "research", True, "RoleBinding/research/research-users"),
    ("User/carol", "run", "servers/fetch", None, False, "it holds in project research"),
    ("User/carol", "run", "servers/fetch", "platform", False, "it holds in project research"),
    ("User/carol", "run", "servers/git", "research", False, "nearest: run servers/everything-sse,fetch,time"),
    ("Group/researchers", "view", "prompts", "research", True, "spec.rules[1]"),
    ("ServiceAccount/backup-job", "backup", None, None, True, "RoleBinding/backup spec.operations[0]"),
    ("ServiceAccount/backup-job", "edit", "servers/git", None, False, "no rule grants it"),
    ("ServiceAccount/backup-job", "view", "mcptokens/ci-bot", "platform", True, "grants view *"),
    ("McpToken/platform/ci-bot", "run", "servers/git/git_log", None, True, "spec.bindings[0]"),
    ("McpToken/platform/ci-bot", "run", "servers/git/git_diff_staged", None, True, "git_diff*"),
    ("McpToken/platform/ci-bot", "run", "servers/git/git_commit", None, False, "nearest"),
    (
        "McpToken/platform/ci-bot",
        "run",
        "servers/git",
        None,
        False,
        "tools git_diff*,git_log,git_show,git_status",
    ),
    (
        "McpToken/platform/ci-bot",
        "run",
        "servers/time/get_current_time",
        "platform",
        True,
        "spec.bindings[1]",
    ),
    ("McpToken/platform/ci-bot", "run", "servers/time", "research", False, "acts only in project platform"),
    ("McpToken/platform/ci-bot", "run", "servers/everything", None, False, "no rule grants it"),
    ("McpToken/platform/alice-laptop", "edit", "servers/git", None, True, "cloned from owner User/alice"),
    ("McpToken/platform/alice-laptop", "audit", None, None, True, "cloned from owner User/alice"),
    ("McpToken/platform/alice-laptop", "audit", None, "research", False, "acts only in project platform"),
    ("McpToken/platform/review-agent", "run", "servers/git/git_show", None, True, "narrowed by"),
    ("McpToken/platform/review-agent", "run", "servers/git/git_status", None, False, "nearest"),
    (
        "McpToken/platform/review-agent",
        "view",
        "prompts/code-review",
        None,
        True,
        "cloned from owner User/bob",
    ),
    ("McpToken/platform/review-agent", "edit", "prompts/code-review", None, False, "no rule grants it"),
    ("McpToken/platform/review-agent", "audit", None, None, False, "no rule grants it"),
    (
        "McpToken/research/analyst",
        "run",
        "servers/fetch/fetch",
        None,
        True,
        "RoleBinding/research/research-users",
    ),
    ("McpToken/research/analyst", "view", "prompts/web-research", None, True, "spec.rules[1]"),
]


@pytest.mark.parametrize(("subject", "verb", "target", "project", "allowed", "why"), EXAMPLE_TABLE)
def test_example_config_repo(
    example_repo: PolicySet,
    subject: str,
    verb: str,
    target: str | None,
    project: str | None,
    allowed: bool,
    why: str,
) -> None:
    resource, name, tool = [*target.split("/"), None, None][:3] if target else [None, None, None]
    decision = example_repo.decide(subject, verb, resource, name, tool, project)
    assert decision.allowed is allowed, decision.reason
    assert why in decision.reason
    assert (decision.grant is not None) is allowed


def test_group_membership_is_expanded_and_provenance_names_the_group() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            user("ben"),
            group("ops", "ann", "ben"),
            group("dbas", "ann"),
            binding("ops-run", ["Group/ops"], [rule("run", "servers")]),
            binding("dbas-edit", ["Group/dbas"], [rule("edit", "servers", ["db"])]),
            binding("ann-audit", ["User/ann"], operations=["audit"]),
        ]
    )
    ann = policy.permissions_of("User/ann")
    assert [g.via for g in ann] == ["direct", "group dbas", "group dbas", "group ops"]
    assert policy.decide("User/ben", "run", "servers", "x").reason.endswith("via Group/ops")
    assert not policy.decide("User/ben", "edit", "servers", "db").allowed
    assert policy.groups_of("ann") == ("dbas", "ops")
    assert [(b.metadata.name, via) for b, via in policy.bindings_for("User/ann")] == [
        ("ann-audit", "direct"),
        ("dbas-edit", "group dbas"),
        ("ops-run", "group ops"),
    ]
    # The group itself holds only what names it; nesting does not exist (members are users).
    assert [g.verb for g in policy.permissions_of("Group/dbas")] == ["edit", "view"]


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("User/zed", "User/zed is not defined"),
        ("User/anne", 'did you mean "User/ann"?'),
        ("Group/nobody", "Group/nobody is not defined"),
        ("ServiceAccount/ghost", "ServiceAccount/ghost is not defined"),
        ("McpToken/alpha/nope", "McpToken/alpha/nope is not defined"),
        ("McpToken/beta/ci", "McpToken/beta/ci is not defined"),
    ],
)
def test_unknown_subjects_are_errors_not_denials(subject: str, message: str) -> None:
    # A typo in a CI check must not read as "no".
    policy = PolicySet.from_resources([user("ann"), token("ci", "alpha"), group("ops", "ann")])
    with pytest.raises(UnknownSubject, match=message) as raised:
        policy.permissions_of(subject)
    assert isinstance(raised.value, UsageError) and raised.value.exit_code == 2


def test_subjects_lists_everyone_in_order() -> None:
    policy = PolicySet.from_resources(
        [
            token("ci", "alpha"),
            user("ben"),
            user("ann"),
            group("ops"),
            binding("b", ["ServiceAccount/deployer", "User/ann"], [rule("view", "*")]),
            server("ignored"),
        ]
    )
    assert [str(s) for s in policy.subjects()] == [
        "User/ann",
        "User/ben",
        "Group/ops",
        "ServiceAccount/deployer",
        "McpToken/alpha/ci",
    ]
    assert policy.knows(SubjectRef("ServiceAccount", "deployer"))
    assert not policy.knows(SubjectRef("ServiceAccount", "other"))


def test_live_resources_and_models_build_the_same_policy() -> None:
    models = [user("ann"), binding("b", ["User/ann"], [rule("run", "servers", ["git"])])]
    live = [LiveResource(m, managed_by="cli") for m in models]
    assert set(POLICY_KINDS) == {"User", "Group", "RoleBinding", "McpToken"}
    for policy in (PolicySet.from_resources(models), PolicySet.from_resources(live)):
        assert policy.decide("User/ann", "run", "servers", "git").allowed


def test_token_empty_has_only_its_own_bindings() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            binding("ann-all", ["User/ann"], [rule("run", "servers")]),
            token("ci", "alpha", owner="ann", bindings=[rule("run", "servers", ["git"])]),
            binding("ci-prompts", ["McpToken/ci"], [rule("view", "prompts")], ["logs"], project="alpha"),
            binding("other-project", ["McpToken/ci"], [rule("edit", "*")], project="beta"),
            binding("global-names-token", ["McpToken/ci"], [rule("edit", "*")]),
        ]
    )
    ci = policy.permissions_of("McpToken/alpha/ci")
    assert [(g.scope, g.via) for g in ci] == [
        ("run servers/git", "token bindings"),
        ("view prompts", "direct"),
        ("logs", "direct"),
    ]
    assert ci.home == "alpha" and all(g.project == "alpha" for g in ci)
    assert not ci.allows("run", "servers", "time")  # the owner's rules do not count with rbac: empty
    assert not ci.allows(
        "edit", "servers", "git"
    )  # bindings of other projects, or global ones, do not name it
    assert ci.allows("logs") and ci.allows("logs", project="alpha") and not ci.allows("logs", project="beta")


def test_a_token_outside_its_project_may_do_nothing() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            binding("all", ["User/ann"], [rule("edit", "*")], ["audit"]),
            token("t", "alpha", rbac="clone", owner="ann"),
        ]
    )
    t = policy.permissions_of("McpToken/alpha/t")
    assert t.allows("edit", "servers") and t.allows("edit", "servers", project="alpha")
    decision = t.decide("edit", "servers", project="beta")
    assert not decision.allowed and decision.reason == "McpToken/alpha/t acts only in project alpha"
    assert len(policy.permissions_of("McpToken/alpha/t", project="beta")) == 0
    assert t.tool_scope("git", "beta").empty and t.operations("beta") == ()
    assert t.operations() == ("audit",)


def test_clone_without_bindings_is_the_owner_within_the_token_project() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            group("ops", "ann"),
            binding("everywhere", ["Group/ops"], [rule("view", "servers")], ["audit"]),
            binding("in-alpha", ["User/ann"], [rule("run", "servers", ["git"])], project="alpha"),
            binding("in-beta", ["User/ann"], [rule("delete", "*")], project="beta"),
            token("t", "alpha", rbac="clone", owner="ann"),
        ]
    )
    t = policy.permissions_of("McpToken/alpha/t")
    assert sorted(g.scope for g in t) == ["audit", "run servers/git", "view servers"]
    assert all(g.owner == "ann" and g.project == "alpha" for g in t)
    assert [g.via for g in t if g.verb == "view"] == ["owner ann via group ops"]
    assert "cloned from owner User/ann" in t.decide("run", "servers", "git").reason


def test_clone_of_an_undefined_owner_may_do_nothing_and_says_why() -> None:
    # Validation rejects such a repo; a live store half-way through edits may still hold one.
    policy = PolicySet.from_resources(
        [
            binding("b", ["User/gone"], [rule("run", "servers")]),
            token("t", "alpha", rbac="clone", owner="gone"),
        ]
    )
    decision = policy.decide("McpToken/alpha/t", "run", "servers", "git")
    assert not decision.allowed and "its owner User/gone is not defined" in decision.reason


def test_clone_narrowing_keeps_provenance_of_both_sides() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            binding(
                "ann", ["User/ann"], [rule("edit", "*"), rule("run", "servers", tools=["git_*"])], ["audit"]
            ),
            token(
                "t",
                "alpha",
                rbac="clone",
                owner="ann",
                bindings=[rule("view", "prompts"), rule("run", "servers", ["git"], ["*_log", "git_diff"])],
            ),
        ]
    )
    t = policy.permissions_of("McpToken/alpha/t")
    assert sorted(g.scope for g in t) == ["run servers/git tools *_log&git_*,git_diff", "view prompts"]
    run = next(g for g in t if g.verb == "run")
    assert (
        str(run.origin) == "RoleBinding/ann spec.rules[1]"
        and str(run.limit) == "McpToken/alpha/t spec.bindings[1]"
    )
    assert t.allows("run", "servers", "git", "git_log") and t.allows("run", "servers", "git", "git_diff")
    assert not t.allows("run", "servers", "git", "time_log") and not t.allows(
        "run", "servers", "other", "git_log"
    )
    assert not t.allows("audit")  # the token's bindings name no operation: narrowing leaves none
    assert t.tool_scope("git").text == "*_log&git_*,git_diff" and t.tool_scope("other").empty


def test_rolebindings_naming_a_clone_token_narrow_it_too() -> None:
    policy = PolicySet.from_resources(
        [
            user("ann"),
            binding("ann", ["User/ann"], [rule("edit", "*")], ["audit", "logs"]),
            token("t", "alpha", rbac="clone", owner="ann"),
            binding(
                "t-limit",
                ["McpToken/t"],
                [rule("view", "servers"), rule("delete", "*")],
                ["logs"],
                project="alpha",
            ),
        ]
    )
    t = policy.permissions_of("McpToken/alpha/t")
    # delete is not the owner's, so the binding cannot add it; logs and view are, so they stay.
    assert sorted(g.scope for g in t) == ["logs", "view servers"]


def test_revoked_and_expired_tokens_keep_their_permissions_auth_refuses_them() -> None:
    policy = PolicySet.from_resources(
        [token("t", "alpha", revoked=True, expires="2000-01-01", bindings=[rule("run", "servers")])]
    )
    assert policy.decide("McpToken/alpha/t", "run", "servers", "git").allowed


def test_permissions_are_worked_out_once_per_subject() -> None:
    policy = PolicySet.from_resources([user("ann"), binding("b", ["User/ann"], [rule("run", "servers")])])
    assert policy.permissions_of("User/ann") is policy.permissions_of(SubjectRef("User", "ann"))
    alpha = policy.permissions_of("User/ann", project="alpha")
    assert alpha is not policy.permissions_of("User/ann") and len(alpha) == 1


# --- clone: never more than the owner, and exactly owner ∩ bindings (hypothesis) ---------------------

NAMES = ["a", "b"]
TOOLS = ["git_log", "git_diff", "git_*", "*_log", "git_d?ff", "*"]
# Weighted towards `run servers`, where names and tools both narrow.
ROLE_CHOICES = [*ROLES, "run", "run", "run"]
RESOURCES = ["servers", "servers", "prompts", "*"]


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(ROLE_CHOICES))
    resource = draw(st.sampled_from(RESOURCES))
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2))
    tools = (
        draw(st.lists(st.sampled_from(TOOLS), unique=True, max_size=2))
        if (role, resource) == ("run", "servers")
        else []
    )
    return rule(role, resource, names, tools)


@st.composite
def owner_bindings(draw: st.DrawFn) -> list[ResourceModel]:
    found = []
    for index in range(draw(st.integers(0, 4))):
        subject = draw(st.sampled_from(["User/owner", "Group/team"]))
        scope = draw(st.sampled_from([None, "p", "q"]))
        granted = draw(st.lists(rules(), max_size=3))
        operations = draw(st.lists(st.sampled_from(OPERATIONS), unique=True, max_size=2))
        if granted or operations:
            found.append(binding(f"b{index}", [subject], granted, operations, project=scope))
    return found


QUESTIONS = [
    (verb, resource, name, tool)
    for verb in ROLES
    for resource in ["servers", "prompts", "*", "users"]
    for name in [None, "a", "c"]
    for tool in (
        [None, "git_log", "git_diff", "git_status", "x_log"]
        if (verb, resource) == ("run", "servers")
        else [None]
    )
] + [(op, None, None, None) for op in OPERATIONS]


def _owner(*granted: dict[str, Any]) -> list[ResourceModel]:
    return [binding("b0", ["User/owner"], list(granted))]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Narrowing where only one side limits tools, or names, or where the limit is a wider resource.
@example(_owner(rule("run", "servers", tools=["git_log"])), [rule("run", "servers")], [], [])
@example(_owner(rule("run", "servers")), [rule("run", "servers", tools=["git_*"])], [], [])
@example(_owner(rule("run", "servers", ["a"])), [rule("run", "*")], [], [])
@example(_owner(rule("edit", "*")), [rule("view", "prompts", ["a"])], [], ["audit"])
@given(
    owner=owner_bindings(),
    limit=st.lists(rules(), max_size=3),
    named=st.lists(rules(), max_size=2),
    named_operations=st.lists(st.sampled_from(OPERATIONS), unique=True, max_size=2),
)
def test_a_clone_is_exactly_its_owner_narrowed_by_its_bindings(
    owner: list[ResourceModel],
    limit: list[dict[str, Any]],
    named: list[dict[str, Any]],
    named_operations: list[str],
) -> None:
    resources: list[ResourceModel] = [
        user("owner"),
        group("team", "owner"),
        *owner,
        token("clone", "p", rbac="clone", owner="owner", bindings=limit),
        # The twin holds the same bindings with rbac: empty: it is "what the bindings allow".
        token("twin", "p", bindings=limit),
    ]
    if named or named_operations:
        resources.append(
            binding("names-tokens", ["McpToken/clone", "McpToken/twin"], named, named_operations, project="p")
        )
    policy = PolicySet.from_resources(resources)
    clone = policy.permissions_of("McpToken/p/clone")
    twin = policy.permissions_of("McpToken/p/twin")
    owner_perms = policy.permissions_of("User/owner")
    narrowed = bool(len(twin))
    for verb, resource, name, tool in QUESTIONS:
        owner_allows = owner_perms.allows(verb, resource, name, tool, "p")
        allowed = clone.allows(verb, resource, name, tool)
        assert allowed == (
            owner_allows and (twin.allows(verb, resource, name, tool) if narrowed else True)
        ), (
            verb,
            resource,
            name,
            tool,
        )
        assert not allowed or owner_allows  # never more than the owner
        assert not clone.allows(verb, resource, name, tool, "q")  # nothing outside its project
