"""One realistic resource of every kind, and a builder of variations on it, for the store tests."""

from __future__ import annotations

from typing import Any

from mcpctl.schemas import ResourceModel, parse_resource

DOCUMENTS: dict[str, dict[str, Any]] = {
    "Template": {
        "kind": "Template",
        "metadata": {"name": "git", "labels": {"team": "platform"}},
        "spec": {
            "version": "2",
            "parameters": [{"name": "repo", "required": True}, {"name": "token", "secret": True}],
            "server": {
                "transport": "stdio",
                "command": "mcp-server-git",
                "args": ["--repository", "{{ repo }}"],
                "env": {"GIT_TOKEN": "{{ token }}"},
            },
        },
    },
    "Server": {
        "kind": "Server",
        "metadata": {
            "name": "time",
            "description": "clock",
            "annotations": {"mcpctl.dev/prevent-destroy": "true"},
        },
        "spec": {
            "transport": "stdio",
            "command": "mcp-server-time",
            "args": ["--local-timezone", "UTC"],
            "env": {"TZ": "UTC", "API_KEY": {"secretRef": {"name": "time", "key": "api-key"}}},
            "healthCheck": {"tool": "get_current_time", "arguments": {"timezone": "UTC"}},
            "toolFilter": {"exclude": ["convert_*"]},
        },
    },
    "Project": {
        "kind": "Project",
        "metadata": {"name": "platform"},
        "spec": {"servers": ["time", "git"], "proxyModel": "gate", "instructions": "Be brief."},
    },
    "Prompt": {
        "kind": "Prompt",
        "metadata": {"name": "review", "project": "platform"},
        "spec": {"content": "Review the diff.", "priority": 8, "tags": ["review", "git"]},
    },
    "User": {"kind": "User", "metadata": {"name": "alice"}, "spec": {"email": "alice@example.com"}},
    "Group": {"kind": "Group", "metadata": {"name": "devs"}, "spec": {"members": ["alice", "bob"]}},
    "RoleBinding": {
        "kind": "RoleBinding",
        "metadata": {"name": "devs-run", "project": "platform"},
        "spec": {
            "subjects": [{"kind": "Group", "name": "devs"}],
            "rules": [{"role": "run", "resource": "servers", "names": ["time"]}],
            "operations": [{"action": "audit"}],
        },
    },
    "McpToken": {
        "kind": "McpToken",
        "metadata": {"name": "ci-bot", "project": "platform"},
        "spec": {
            "description": "CI",
            "expires": "30d",
            "bindings": [{"role": "run", "resource": "servers"}],
        },
    },
    "ToolPins": {
        "kind": "ToolPins",
        "metadata": {"name": "time"},
        "spec": {
            "tools": [
                {
                    "name": "get_current_time",
                    "sha256": "11ec0ade3e0d442f9cb899c6eb92991b047e761cdf2384b7f3fed4521060a63b",
                    "description": "Current time.",
                    "inputSchema": {"type": "object"},
                }
            ]
        },
    },
    "ProxyModel": {
        "kind": "ProxyModel",
        "metadata": {"name": "big"},
        "spec": {"stages": [{"type": "paginate", "maxResponseChars": 5000}, {"type": "summarize"}]},
    },
}


def resource(kind: str, **changes: Any) -> ResourceModel:
    """The sample of `kind`, with top-level `metadata`/`spec` keys replaced by `changes`."""
    document = {"apiVersion": "mcpctl.dev/v1", **DOCUMENTS[kind]}
    for section, values in changes.items():
        document[section] = {**document[section], **values}
    return parse_resource(document)
