"""Short builders of the resources policy reads, for tests."""

from __future__ import annotations

from typing import Any

from mcpctl.schemas import ResourceModel, parse_resource

API = "mcpctl.dev/v1"


def user(name: str) -> ResourceModel:
    return parse_resource(
        {
            "apiVersion": API,
            "kind": "User",
            "metadata": {"name": name},
            "spec": {"email": f"{name}@example.com"},
        }
    )


def group(name: str, *members: str) -> ResourceModel:
    return parse_resource(
        {"apiVersion": API, "kind": "Group", "metadata": {"name": name}, "spec": {"members": list(members)}}
    )


def rule(
    role: str, resource: str, names: list[str] | None = None, tools: list[str] | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = {"role": role, "resource": resource}
    if names:
        found["names"] = names
    if tools:
        found["tools"] = tools
    return found


def binding(
    name: str,
    subjects: list[str],
    rules: list[dict[str, Any]] | None = None,
    operations: list[str] | None = None,
    project: str | None = None,
) -> ResourceModel:
    """A RoleBinding; subjects written `Kind/name`."""
    metadata: dict[str, Any] = {"name": name}
    if project is not None:
        metadata["project"] = project
    spec: dict[str, Any] = {
        "subjects": [{"kind": s.split("/")[0], "name": s.split("/")[1]} for s in subjects],
        "rules": rules or [],
        "operations": [{"action": action} for action in operations or []],
    }
    return parse_resource({"apiVersion": API, "kind": "RoleBinding", "metadata": metadata, "spec": spec})
