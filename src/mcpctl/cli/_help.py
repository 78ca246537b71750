"""The one-line summary and the examples of every command, kept in one table.

`mcpctl --help` lists each command by its summary (short enough never to be cut); `mcpctl CMD --help`
ends with its examples. The root group (`_main.LazyGroup`) puts both on each command as it loads it.
"""

from __future__ import annotations

import click

HELP: dict[str, tuple[str, list[str]]] = {
    "apply": (
        "Make the store match desired state.",
        [
            "mcpctl apply -f examples/config-repo",
            "mcpctl apply -f . --yes --token-output .tokens",
            "mcpctl get project platform -o yaml | mcpctl apply -f - --yes",
            "mcpctl apply plan.json",
        ],
    ),
    "approve": (
        "Commit a proposed prompt to a new branch.",
        [
            "mcpctl approve promptrequest release-notes -p platform --repo ~/src/mcp-config",
            'mcpctl approve preq notes --repo . --branch notes --author "Ana <a@b.org>" --push',
        ],
    ),
    "audit": (
        "Show the audit trail, newest first.",
        [
            "mcpctl audit --since 1h",
            "mcpctl audit -p platform --outcome denied",
            "mcpctl audit --token ci-bot --follow",
            "mcpctl audit --url https://mcp.example --token-file ~/.mcpctl-token --kind access_denied",
        ],
    ),
    "audit sessions": (
        "List MCP sessions, latest activity first.",
        ["mcpctl audit sessions -p platform", "mcpctl audit sessions --since 24h -o json"],
    ),
    "auth": (
        "Ask who may do what, and why.",
        ["mcpctl auth can-i run servers/git --as McpToken/platform/ci-bot"],
    ),
    "auth can-i": (
        "Check whether a subject may do something.",
        [
            "mcpctl auth can-i run servers/git/git_commit --as McpToken/platform/ci-bot",
            "mcpctl auth can-i view prompts -p research --as User/carol -f examples/config-repo",
            "mcpctl auth can-i --list --as Group/platform-team",
        ],
    ),
    "backup": (
        "Save the whole store, tokens included.",
        ["mcpctl backup estate.json", "mcpctl backup - > estate.json"],
    ),
    "cache": (
        "Show and clear the gateway's result cache.",
        ["mcpctl cache stats", "mcpctl cache list -p platform", "mcpctl cache clear -p platform"],
    ),
    "cache list": (
        "List cached results (sizes, never content).",
        [
            "mcpctl cache list",
            "mcpctl cache list --url https://mcp.example --token-file ~/.mcpctl-token -o json",
        ],
    ),
    "cache stats": (
        "Show the result cache's sizes and counters.",
        ["mcpctl cache stats", "mcpctl cache stats -p platform -o json"],
    ),
    "cache clear": (
        "Drop cached results.",
        ["mcpctl cache clear", "mcpctl cache clear -p platform"],
    ),
    "completion": (
        "Print a shell completion script.",
        [
            'eval "$(mcpctl completion bash)"',
            "mcpctl completion fish > ~/.config/fish/completions/mcpctl.fish",
        ],
    ),
    "config": ("Configure MCP clients for the gateway.", ["mcpctl config claude -p platform"]),
    "config claude": (
        "Add a project to Claude Code's .mcp.json.",
        ["mcpctl config claude -p platform", "mcpctl config claude -p research --file ~/work/.mcp.json"],
    ),
    "console": (
        "Browse the audit trail live in the terminal.",
        [
            "mcpctl console",
            "mcpctl console --database-url postgresql://mcpctl@db/mcpctl",
            "mcpctl console --url http://127.0.0.1:8080 --no-follow",
        ],
    ),
    "create": (
        "Create one resource from flags.",
        ["mcpctl create server time --command mcp-server-time", "mcpctl create token ci -p platform"],
    ),
    "create group": ("Create a group of users.", ["mcpctl create group devs --member alice --member bob"]),
    "create mcptoken": (
        "Create a project token (value shown once).",
        [
            "mcpctl create mcptoken ci -p platform --rule run:servers:time --expires 30d",
            "mcpctl create token ci -p platform --force --token-output .tokens",
        ],
    ),
    "create project": (
        "Create a project of servers.",
        ["mcpctl create project team --server time --server git"],
    ),
    "create prompt": (
        "Create a prompt in a project.",
        [
            'mcpctl create prompt style -p team --content "Answer briefly."',
            "mcpctl create prompt review -p team --from-file review.md --tag review",
        ],
    ),
    "create rolebinding": (
        "Grant rules to users, groups or tokens.",
        ["mcpctl create rolebinding devs-run --group devs --rule run:servers"],
    ),
    "create server": (
        "Create a stdio, HTTP or template server.",
        [
            "mcpctl create server time --command mcp-server-time --arg=--local-timezone --arg=UTC",
            "mcpctl create server web --url https://web.example/mcp --header-secret Authorization=web/token",
            "mcpctl create server clock --from-template builtin.time --set timezone=Asia/Tokyo",
        ],
    ),
    "create user": ("Create a user.", ["mcpctl create user alice --email alice@example.com"]),
    "db": ("Manage the store database.", ["mcpctl db upgrade"]),
    "db upgrade": (
        "Migrate the store to this version.",
        ["mcpctl db upgrade --database-url postgresql://db/mcpctl"],
    ),
    "delete": (
        "Delete resources, safely.",
        ["mcpctl delete server time", "mcpctl delete project team --cascade --dry-run"],
    ),
    "describe": (
        "Show one resource and its relations.",
        [
            "mcpctl describe project platform",
            "mcpctl describe token ci-bot -p platform",
            "mcpctl describe sa backup-job",
            "mcpctl describe promptrequest release-notes -p platform",
        ],
    ),
    "diff": (
        "Show how the store differs from the files.",
        ["mcpctl diff -f examples/config-repo", "mcpctl diff --repo https://git.example.com/mcp.git"],
    ),
    "edit": (
        "Edit a live resource in $EDITOR.",
        ["mcpctl edit server time", 'EDITOR="code --wait" mcpctl edit project platform'],
    ),
    "export": (
        "Write the store out as a config repo.",
        ["mcpctl export exported-estate", "mcpctl export - --kind servers"],
    ),
    "get": (
        "List resources, or show some.",
        [
            "mcpctl get servers",
            "mcpctl get prompts -p platform -o yaml",
            "mcpctl get tokens -o wide",
            "mcpctl get srv -l team=platform -o name",
            "mcpctl get promptrequests -p platform",
        ],
    ),
    "history": ("List past applies and CLI changes.", ["mcpctl history", "mcpctl history -o json --limit 5"]),
    "mcp": (
        "Bridge stdio to a project's endpoint.",
        ["mcpctl mcp -p platform", "mcpctl mcp -p platform --url https://mcp.example.com"],
    ),
    "pin": (
        "Pin or check servers' tool definitions.",
        [
            "mcpctl pin files -o examples/config-repo",
            "mcpctl pin -p platform -o .",
            "mcpctl pin --check -f examples/config-repo",
        ],
    ),
    "plan": (
        "Show what apply would change.",
        [
            "mcpctl plan -f examples/config-repo",
            "mcpctl plan -f . -out plan.json",
            "mcpctl plan --repo https://git.example.com/mcp.git --ref main -o markdown",
        ],
    ),
    "reconcile": (
        "Keep the store converged on git.",
        [
            "mcpctl reconcile --repo https://git.example.com/mcp.git --interval 60s",
            "mcpctl reconcile -f examples/config-repo --once",
        ],
    ),
    "reconcile status": ("Show each reconciler's last pass.", ["mcpctl reconcile status -o json"]),
    "reject": (
        "Reject a proposed prompt, saying why.",
        ['mcpctl reject promptrequest release-notes -p platform --reason "We already have one: style"'],
    ),
    "restore": (
        "Load a backup into an empty store.",
        ["mcpctl restore estate.json --database-url postgresql://db/mcpctl"],
    ),
    "rotate": ("Issue new credentials.", ["mcpctl rotate mcptoken ci-bot -p platform"]),
    "rotate mcptoken": (
        "Give a token a new value (shown once).",
        [
            "export MCPCTL_TOKEN=$(mcpctl rotate mcptoken ci-bot -p platform)",
            "mcpctl rotate token ci-bot -p platform --token-output .tokens",
        ],
    ),
    "schema": ("JSON Schemas and the field reference.", ["mcpctl schema export schemas --check"]),
    "schema export": ("Write the JSON Schema of every kind.", ["mcpctl schema export schemas"]),
    "schema reference": ("Print the resource reference.", ["mcpctl schema reference docs/resources.md"]),
    "serve": (
        "Run the gateway.",
        [
            "mcpctl serve",
            "MCPCTL_SECRETS_DIR=/run/secrets mcpctl serve --host 0.0.0.0 --allowed-host mcp.example",
            "mcpctl serve --audit-retention 30d",
        ],
    ),
    "status": (
        "Check the store, gateway and LLM providers.",
        ["mcpctl status", "mcpctl status --url http://127.0.0.1:8080 -o json"],
    ),
    "test": (
        "Check things from the outside.",
        ["mcpctl test mcp http://127.0.0.1:8080/projects/platform/mcp"],
    ),
    "test mcp": (
        "Check an MCP endpoint as a client.",
        [
            "mcpctl test mcp http://127.0.0.1:8080/projects/platform/mcp",
            'mcpctl test mcp URL --tool time__get_current_time --args \'{"timezone": "UTC"}\'',
        ],
    ),
    "validate": (
        "Check YAML files of desired state.",
        ["mcpctl validate examples/config-repo", "mcpctl validate -o json servers/ projects/"],
    ),
}
"""Command path → (summary, examples). A command missing here keeps its docstring's first sentence."""


def examples_text(lines: list[str]) -> str:
    """An epilog click prints as written (the `\\b` keeps it from being re-wrapped)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def apply_help(command: click.Command, path: str = "") -> None:
    """Set the summary and examples of `command` and, for a group, of every subcommand."""
    found = HELP.get(path)
    if found is not None:
        command.short_help, command.epilog = found[0], examples_text(found[1])
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            apply_help(sub, f"{path} {name}".strip())
