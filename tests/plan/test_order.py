"""Dependency order of kinds: every kind comes after the kinds it refers to."""

from __future__ import annotations

from mcpctl.plan import KIND_ORDER, dependency_key, kind_rank
from mcpctl.schemas import KINDS, Identity

REFERS_TO = {
    "Server": ["Template"],
    "ToolPins": ["Server"],
    "Project": ["Server", "ProxyModel"],
    "Prompt": ["Project"],
    "Group": ["User"],
    "RoleBinding": ["User", "Group", "Project"],
    "McpToken": ["Project", "User"],
}


def test_every_kind_is_ordered_once() -> None:
    assert sorted(KIND_ORDER) == sorted(KINDS) and len(set(KIND_ORDER)) == len(KIND_ORDER)


def test_kinds_come_after_what_they_refer_to() -> None:
    for kind, targets in REFERS_TO.items():
        for target in targets:
            assert kind_rank(target) < kind_rank(kind), f"{kind} must come after {target}"


def test_key_sorts_by_kind_then_project_then_name() -> None:
    ids = [Identity("Prompt", "b", "x"), Identity("Server", None, "z"), Identity("Prompt", "a", "y")]
    assert sorted(ids, key=dependency_key) == [ids[1], ids[2], ids[0]]
    assert kind_rank("Unknown") == len(KIND_ORDER)
