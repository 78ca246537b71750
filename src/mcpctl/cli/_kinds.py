"""The kinds, their CLI words and scopes as plain data, so KIND arguments parse and complete without models.

A copy of what `mcpctl.schemas` declares (`KINDS`, `KIND_ALIASES`, each model's `scope`), kept here
because importing the schemas loads pydantic and every model (~0.7 s) on each TAB press and `--help`.
`tests/cli/test_kinds.py` checks it equals the schemas, so the schemas stay the one source of truth.
"""

from __future__ import annotations

KIND_SCOPES: dict[str, str] = {
    "Template": "global",
    "Server": "global",
    "ToolPins": "global",
    "ProxyModel": "global",
    "Project": "global",
    "Prompt": "project",
    "User": "global",
    "Group": "global",
    "RoleBinding": "either",
    "McpToken": "project",
}
"""Every kind → its scope (`ResourceModel.scope`: global, project or either), in `KINDS` order."""

KIND_ALIASES: dict[str, str] = {
    "server": "Server",
    "servers": "Server",
    "srv": "Server",
    "template": "Template",
    "templates": "Template",
    "tpl": "Template",
    "tmpl": "Template",
    "project": "Project",
    "projects": "Project",
    "proj": "Project",
    "prompt": "Prompt",
    "prompts": "Prompt",
    "pr": "Prompt",
    "user": "User",
    "users": "User",
    "usr": "User",
    "group": "Group",
    "groups": "Group",
    "grp": "Group",
    "rolebinding": "RoleBinding",
    "rolebindings": "RoleBinding",
    "rb": "RoleBinding",
    "mcptoken": "McpToken",
    "mcptokens": "McpToken",
    "token": "McpToken",
    "tokens": "McpToken",
    "tok": "McpToken",
    "proxymodel": "ProxyModel",
    "proxymodels": "ProxyModel",
    "pm": "ProxyModel",
    "toolpins": "ToolPins",
    "toolpin": "ToolPins",
    "tp": "ToolPins",
}
"""Singular, plural and short names of every kind (lowercase) → the kind (`schemas.KIND_ALIASES`)."""


def resolve_kind(name: str) -> str | None:
    """The kind a CLI word (`srv`, `servers`, `Server`) stands for, or None (`schemas.resolve_kind`)."""
    return KIND_ALIASES.get(name.lower())


def kind_word(kind: str) -> str:
    """The lowercase singular CLI word of a kind (`server`, `mcptoken`): its descriptor's first word.

    `schemas` makes every kind's first word its lowercase name (`check_descriptors`).
    """
    return kind.lower()
