"""The one reference graph: an entry per kind, loud failures, and validation flagging every edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpctl.schemas import (
    KINDS,
    REFERENCE_GRAPH,
    Identity,
    builtin_templates,
    load_and_validate,
    load_text,
    parse_resource,
    references,
    referrers,
    validate_documents,
)
from mcpctl.schemas import _refgraph as refgraph
from mcpctl.schemas._loader import Document

FIXTURES = Path(__file__).parent / "fixtures"

EXTRA = """\
apiVersion: mcpctl.dev/v1
kind: RoleBinding
metadata: {name: extra-user-binding}
spec:
  subjects: [{kind: User, name: EXTRA_USER}]
  rules: [{role: view, resource: servers}]
"""
"""A binding naming a user directly, the one edge the valid fixtures do not have."""


def _group(members: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Group",
        "metadata": {"name": "g"},
        "spec": {"members": members},
    }


def _documents() -> list[Document]:
    result = load_and_validate([str(FIXTURES / "valid")])
    assert result.valid
    user = next(r.identity.name for r in result.resources if r.identity.kind == "User")
    extra = load_text(EXTRA.replace("EXTRA_USER", user), "extra.yaml").documents
    return [r.document for r in result.resources] + extra


def test_every_kind_has_an_entry_naming_only_kinds_that_exist() -> None:
    assert list(REFERENCE_GRAPH) == list(KINDS)
    refgraph.check_graph()
    assert set(referrers("Server")) == {"ToolPins", "Project", "Prompt"}
    assert referrers("RoleBinding") == ()


def test_a_kind_missing_from_the_graph_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(REFERENCE_GRAPH, "Group")
    with pytest.raises(LookupError, match="kinds missing"):
        refgraph.check_graph()
    group = parse_resource(_group([]))
    with pytest.raises(LookupError, match="'Group' has no entry in the reference graph"):
        references(group)
    with pytest.raises(LookupError, match="has no entry"):
        referrers("Group")
    # Validation reads the graph for every resource, so it cannot silently skip a kind's references.
    with pytest.raises(LookupError, match="'Group' has no entry in the reference graph"):
        validate_documents(_documents())


def test_a_reference_to_an_undeclared_kind_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    edges = REFERENCE_GRAPH["Group"]
    monkeypatch.setitem(REFERENCE_GRAPH, "Group", refgraph._Edges((), edges.collect))
    group = parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Group",
            "metadata": {"name": "g"},
            "spec": {"members": ["u"]},
        }
    )
    with pytest.raises(LookupError, match="Group refers to User but its graph entry does not list it"):
        references(group)


def test_validation_reports_every_reference_the_graph_finds_when_its_target_is_gone() -> None:
    documents = _documents()
    result = validate_documents(documents)
    assert result.valid, [str(p) for p in result.problems]
    by_identity = {r.identity: r for r in result.resources}
    edges = {(k, t) for k, entry in REFERENCE_GRAPH.items() for t in entry.targets}
    seen: set[tuple[str, str]] = set()
    for item in result.resources:
        for ref in references(item.resource):
            if ref.target.kind == "Template" and ref.target.name in builtin_templates():
                continue  # a built-in template stands in for a missing one
            target = by_identity[ref.target]
            rest = [d for d in documents if d is not target.document]
            problems = validate_documents(rest).problems
            assert any(
                p.severity == "error"
                and (p.kind, p.name) == (ref.source.kind, ref.source.name)
                and (p.field or "").startswith(ref.field)
                and repr(ref.target.name) in p.message
                for p in problems
            ), f"{ref.source} -> {ref.target} ({ref.field}) not reported: {[str(p) for p in problems]}"
            seen.add((ref.source.kind, ref.target.kind))
    assert seen == edges  # the samples exercise every edge the graph declares


def test_identity_of_a_reference_target_keeps_its_scope() -> None:
    binding = parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "b", "project": "p"},
            "spec": {
                "subjects": [{"kind": "McpToken", "name": "t"}],
                "rules": [{"role": "view", "resource": "servers"}],
            },
        }
    )
    assert [r.target for r in references(binding)] == [
        Identity("Project", None, "p"),
        Identity("McpToken", "p", "t"),
    ]
