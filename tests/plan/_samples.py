"""Sample resources, a sample plan and a golden-file helper for the plan, inventory and reconciler tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from _samples import res
from mcpctl.plan import Plan, diff
from mcpctl.schemas import CLI_MANAGER, LiveResource, ResourceModel

MANAGER = "gitops:/repo"
GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "MCPCTL_REGEN_GOLDEN"
"""Set this env var to 1 to rewrite the golden files from the current output."""


def live(resource: ResourceModel, managed_by: str = MANAGER, prevent_destroy: bool = False) -> LiveResource:
    """A live copy of `resource`."""
    return LiveResource(resource, managed_by, prevent_destroy=prevent_destroy or resource.prevent_destroy)


def stdio(command: str = "uvx", *args: str, **env: Any) -> dict[str, Any]:
    """A stdio server spec."""
    return {"transport": "stdio", "command": command, "args": list(args), "env": env}


def scenario() -> tuple[list[ResourceModel], list[LiveResource]]:
    """Every action at once: create, update, replace, delete, adopt, unmanaged, no-op, secrets."""
    template = res(
        "Template",
        "github",
        {
            "parameters": [{"name": "token", "secret": True, "required": True}, {"name": "org"}],
            "server": {
                "transport": "stdio",
                "command": "gh-mcp",
                "args": ["--org", "{{ org }}"],
                "env": {"GITHUB_TOKEN": "{{ token }}"},
            },
        },
    )
    time_old = res("Server", "time", stdio("uvx", "mcp-server-time", API_TOKEN="old-secret", TZ="UTC"))
    time_new = res(
        "Server",
        "time",
        stdio("uvx", "mcp-server-time", "--local-timezone", "UTC", API_TOKEN="new-secret", TZ="UTC"),
        labels={"team": "core"},
    )
    gh = res(
        "Server",
        "github",
        {"fromTemplate": {"name": "github", "values": {"token": "literal-ghp", "org": "acme"}}},
    )
    web_old = res("Server", "web", stdio("node", "server.js"))
    web_new = res(
        "Server",
        "web",
        {
            "transport": "streamable-http",
            "url": "https://web.example/mcp",
            "headers": {"Authorization": {"secretRef": {"name": "web", "key": "auth"}}},
        },
    )
    project = res("Project", "team", {"servers": ["time", "github"], "instructions": "Be brief.\nUse UTC."})
    prompt = res("Prompt", "intro", {"content": "Hello", "priority": 7, "tags": ["b", "a"]}, project="team")
    token_old = res("McpToken", "ci", {"expires": "30d"}, project="team")
    token_new = res("McpToken", "ci", {"expires": "never"}, project="team")
    user = res("User", "ada", {"email": "ada@example.com"})
    old = res("Server", "old", stdio("old-server"))
    manual = res("Server", "manual", stdio("manual-server"))
    adopted = res("User", "bob", {"email": "bob@example.com"})
    desired = [template, time_new, gh, web_new, project, prompt, token_new, user, adopted]
    live_state = [
        live(template),
        live(time_old),
        live(web_old),
        live(token_old),
        live(user),
        live(old),
        live(manual, CLI_MANAGER),
        live(adopted, CLI_MANAGER),
        live(project.model_copy(), MANAGER),
    ]
    # The project exists already with fewer servers, so it is an update.
    live_state[-1] = live(
        res("Project", "team", {"servers": ["time"], "instructions": "Be brief.\nUse UTC."})
    )
    return desired, live_state


SECRETS = ("old-secret", "new-secret", "literal-ghp")
"""The secret values in `scenario`, which no rendered plan may show."""


def scenario_plan() -> Plan:
    """The plan of `scenario`, made against store generation 7 at revision abc123."""
    desired, live_state = scenario()
    return diff(desired, live_state, manager=MANAGER, source="/repo", revision="abc123", base_generation=7)


def check_golden(name: str, actual: str) -> None:
    """Compare `actual` with golden/<name>, or rewrite it when MCPCTL_REGEN_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get(REGENERATE) == "1" or (not path.exists() and os.environ.get("CI") is None):
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual
