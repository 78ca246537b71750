"""Tests of mcpctl.policy._grants: rules as grants, their text, and narrowing one by another."""

from __future__ import annotations

from mcpctl.policy import Grant, Origin, ToolScope
from mcpctl.policy._grants import binding_grants, narrow
from mcpctl.schemas import Identity, Operation, Rule

BINDING = Identity("RoleBinding", None, "b")
TOKEN = Identity("McpToken", "alpha", "t")


def grant(verb: str, resource: str | None, names: tuple[str, ...] = (), tools: tuple[str, ...] = ()) -> Grant:
    origin = Origin(TOKEN, "spec.bindings[0]", "limit")
    return Grant(verb, resource, frozenset(names), ToolScope.of(tools), "alpha", origin)


def test_a_binding_becomes_grants_with_their_origin() -> None:
    rules = [
        Rule(role="edit", resource="servers", names=["git"]),
        Rule(role="run", resource="servers", tools=["x*"]),
    ]
    found = binding_grants(BINDING, rules, [Operation(action="audit")])
    assert [(g.scope, str(g.origin), g.implied_by) for g in found] == [
        ("edit servers/git", "RoleBinding/b spec.rules[0]", None),
        ("view servers/git", "RoleBinding/b spec.rules[0]", "edit"),
        ("run servers tools x*", "RoleBinding/b spec.rules[1]", None),
        ("audit", "RoleBinding/b spec.operations[0]", None),
    ]
    assert found[2].origin.rule == "run servers tools x*" and found[0].project is None
    own = binding_grants(TOKEN, rules[:1], [], field="spec.bindings")
    assert str(own[0].origin) == "McpToken/alpha/t spec.bindings[0]" and own[0].project == "alpha"
    assert own[0].via == "token bindings"


def test_narrow() -> None:
    wide = Grant("run", "*", frozenset(), ToolScope.ANY, "alpha", Origin(BINDING, "spec.rules[0]", "run *"))
    limit = grant("run", "servers", ("git",))
    kept = narrow(wide, limit)
    assert kept is not None and (kept.resource, kept.names, kept.tools) == ("servers", {"git"}, ToolScope.ANY)
    assert kept.origin == wide.origin and kept.limit == limit.origin
    assert narrow(grant("run", "servers"), grant("view", "servers")) is None
    assert narrow(grant("run", "servers"), grant("run", "prompts")) is None
    assert narrow(grant("run", "servers", ("a",)), grant("run", "servers", ("b",))) is None
    both = narrow(grant("run", "servers", ("a", "b")), grant("run", "servers", ("b", "c"), ("x",)))
    assert both is not None and both.names == {"b"} and both.tools.text == "x"
    assert narrow(grant("run", "servers", tools=("x",)), grant("run", "servers", tools=("y*",))) is None
    assert narrow(grant("audit", None), grant("audit", None)) is not None
    assert narrow(grant("audit", None), grant("logs", None)) is None


def test_explain_reads_as_one_line() -> None:
    g = grant("run", "servers", ("git",))
    cloned = Grant(
        "run",
        "servers",
        frozenset({"git"}),
        ToolScope.of(["git_log"]),
        "alpha",
        Origin(BINDING, "spec.rules[1]", "run servers"),
        group="ops",
        owner="ann",
        limit=g.origin,
    )
    assert cloned.explain() == (
        "RoleBinding/b spec.rules[1] grants run servers, via Group/ops, cloned from owner User/ann, "
        "narrowed by McpToken/alpha/t spec.bindings[0] to run servers/git tools git_log, in project alpha"
    )
    assert cloned.via == "owner ann via group ops"
    assert cloned.holds_in("alpha") and not cloned.holds_in(None) and not cloned.holds_in("beta")
