"""`mcpctl config claude -p PROJECT`: add the project's bridge entry to a Claude Code `.mcp.json`.

The entry runs `mcpctl mcp -p PROJECT`; the token stays an env reference (`${MCPCTL_TOKEN}`), never a value.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from mcpctl.errors import UsageError

from ._main import cli
from ._options import gateway_url_option

TOKEN_ENV = "MCPCTL_TOKEN"


def bridge_entry(project: str, url: str, command: str, token_env: str = TOKEN_ENV) -> dict[str, Any]:
    """The `mcpServers` entry that runs the stdio bridge for `project`."""
    return {
        "type": "stdio",
        "command": command,
        "args": ["mcp", "-p", project, "--url", url],
        # Claude Code expands ${VAR} from its own environment, so the file holds no secret.
        "env": {"MCPCTL_TOKEN": f"${{{token_env}}}"},
    }


def mcpctl_command() -> str:
    """The absolute path of this mcpctl (so the client finds it outside the venv), else `mcpctl`."""
    beside = Path(sys.executable).parent / "mcpctl"
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("mcpctl")
    return str(Path(found).absolute()) if found else "mcpctl"


def merge_entry(path: Path, name: str, entry: dict[str, Any]) -> bool:
    """Set `mcpServers[name]` in the JSON file at `path`, keeping everything else; True if it changed."""
    document: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text() or "{}")
        except json.JSONDecodeError as error:
            raise UsageError(f"{path} is not valid JSON ({error}); fix or remove it first") from None
        if not isinstance(loaded, dict) or not isinstance(loaded.get("mcpServers", {}), dict):
            raise UsageError(
                f"{path} does not look like an .mcp.json file (expected an object with mcpServers)"
            )
        document = loaded
    servers = document.setdefault("mcpServers", {})
    if servers.get(name) == entry:
        return False
    servers[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)
    return True


@cli.group("config")
def config_group() -> None:
    """Configure MCP clients to use the gateway."""


@config_group.command("claude")
@click.option("-p", "--project", required=True, help="Project whose endpoint the client should use.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".mcp.json"),
    show_default=True,
    help="The .mcp.json to create or update.",
)
@gateway_url_option
@click.option("--name", default=None, help="Server name in the client [default: mcpctl-PROJECT].")
@click.option(
    "--command",
    "command",
    default=None,
    help="How the client starts mcpctl [default: the absolute path of this mcpctl].",
)
@click.option(
    "--token-env",
    default=TOKEN_ENV,
    show_default=True,
    help="Environment variable the client takes the token from.",
)
def config_claude(
    project: str, path: Path, url: str, name: str | None, command: str | None, token_env: str
) -> None:
    """Write the `.mcp.json` entry that connects Claude Code to PROJECT through `mcpctl mcp`."""
    entry_name = name or f"mcpctl-{project}"
    entry = bridge_entry(project, url, command or mcpctl_command(), token_env)
    changed = merge_entry(path, entry_name, entry)
    click.echo(f"{'wrote' if changed else 'unchanged'}: {path} mcpServers.{entry_name}")
    click.echo(f"Set {token_env} to a token of project {project} in the environment Claude Code starts from.")
