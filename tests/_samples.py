"""Builders of sample resources that tests in several packages share (import as `_samples`).

Package-specific samples stay next to their tests (`plan._samples`, `store._samples`, `policy._estate`,
`gateway.gateway_harness`); those build on these.
"""

from __future__ import annotations

from typing import Any

from mcpctl.schemas import McpToken, ResourceModel, parse_resource

API = "mcpctl.dev/v1"


def doc(
    kind: str, name: str, spec: dict[str, Any] | None = None, project: str | None = None, **metadata: Any
) -> dict[str, Any]:
    """A resource document (what a YAML file holds); no `spec` key when `spec` is None."""
    meta: dict[str, Any] = {"name": name, **metadata}
    if project:
        meta["project"] = project
    document: dict[str, Any] = {"apiVersion": API, "kind": kind, "metadata": meta}
    if spec is not None:
        document["spec"] = spec
    return document


def res(
    kind: str, name: str, spec: dict[str, Any] | None = None, project: str | None = None, **metadata: Any
) -> ResourceModel:
    """A resource from a few fields."""
    return parse_resource(doc(kind, name, spec, project, **metadata))


def server(name: str, command: str = "mcp-server-time", **metadata: Any) -> ResourceModel:
    """A minimal stdio Server."""
    return res("Server", name, {"transport": "stdio", "command": command}, **metadata)


def token(name: str = "ci-bot", project: str = "platform", **spec: Any) -> McpToken:
    """An McpToken (always with a `spec`, empty when no fields are given)."""
    made = res("McpToken", name, spec, project)
    assert isinstance(made, McpToken)
    return made
