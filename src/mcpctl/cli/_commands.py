"""Every top-level command and the module that defines it: the one table of the command line.

The root group imports a module only when its command is used (click's lazy-group pattern), so
`mcpctl --help` and a TAB press never load the store, the models or the MCP SDK. Add a command
with one line here and its summary in `_help.HELP`; the module registers it with `@cli.command`.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "apply": "_apply",
    "approve": "_promptrequest",
    "audit": "_audit",
    "auth": "_auth",
    "backup": "_backup",
    "cache": "_cache",
    "completion": "_completion",
    "config": "_config_claude",
    "console": "_console",
    "create": "_create",
    "db": "_db",
    "delete": "_delete",
    "describe": "_describe",
    "diff": "_plan",
    "edit": "_edit",
    "export": "_export",
    "get": "_get",
    "history": "_history",
    "mcp": "_bridge",
    "pin": "_pin",
    "plan": "_plan",
    "reconcile": "_reconcile",
    "reject": "_promptrequest",
    "restore": "_backup",
    "rotate": "_rotate",
    "schema": "_schema",
    "serve": "_serve",
    "status": "_status",
    "test": "_test_mcp",
    "validate": "_validate",
}
"""Command name → module under `mcpctl.cli` that registers it on the root group."""
