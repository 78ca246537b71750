"""The union of all kinds, discriminated on `kind`, and the names the CLI accepts for each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from ._base import Identity, ResourceModel
from ._pins import ToolPins
from ._project import Project, Prompt, ProxyModel
from ._rbac import Group, McpToken, RoleBinding, User
from ._server import Server, Template

Resource = Annotated[
    Server | Template | Project | Prompt | User | Group | RoleBinding | McpToken | ProxyModel | ToolPins,
    Field(discriminator="kind"),
]
"""Any resource document."""

RESOURCE_ADAPTER: TypeAdapter[Resource] = TypeAdapter(Resource)

KINDS: dict[str, type[ResourceModel]] = {
    model.kind_name(): model
    for model in (Template, Server, ToolPins, ProxyModel, Project, Prompt, User, Group, RoleBinding, McpToken)
}
"""Every kind by its `kind` value, in dependency order (a kind only refers to kinds before it)."""

_KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "Server": ("server", "servers", "srv"),
    "Template": ("template", "templates", "tpl", "tmpl"),
    "Project": ("project", "projects", "proj"),
    "Prompt": ("prompt", "prompts", "pr"),
    "User": ("user", "users", "usr"),
    "Group": ("group", "groups", "grp"),
    "RoleBinding": ("rolebinding", "rolebindings", "rb"),
    "McpToken": ("mcptoken", "mcptokens", "token", "tokens", "tok"),
    "ProxyModel": ("proxymodel", "proxymodels", "pm"),
    "ToolPins": ("toolpins", "toolpin", "tp"),
}
KIND_ALIASES: dict[str, str] = {
    alias: kind for kind, aliases in _KIND_ALIASES.items() for alias in (*aliases, kind.lower())
}
"""Singular, plural and short names of every kind (lowercase) → the kind."""


def parse_resource(document: Any) -> ResourceModel:
    """Validate one document (a mapping) into its resource model; raises pydantic's ValidationError."""
    resource: ResourceModel = RESOURCE_ADAPTER.validate_python(document)
    return resource


def raw_identity(document: Mapping[str, Any]) -> Identity | None:
    """The identity an unvalidated document claims (a known `kind`, `metadata.name`), or None."""
    kind, metadata = document.get("kind"), document.get("metadata")
    if not isinstance(kind, str) or kind not in KINDS or not isinstance(metadata, Mapping):
        return None
    name, project = metadata.get("name"), metadata.get("project")
    if not isinstance(name, str):
        return None
    return Identity(kind, project if isinstance(project, str) else None, name)


def resolve_kind(name: str) -> str | None:
    """The kind a CLI word (`srv`, `servers`, `Server`) stands for, or None."""
    return KIND_ALIASES.get(name.lower())
