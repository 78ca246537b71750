"""`mcpctl mcp -p PROJECT` (stdio bridge, as a subprocess) and `mcpctl config claude` (.mcp.json entry)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import StdioServerParameters, stdio_client
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    RunningGateway,
    create_token,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
)
from mcpctl.cli import cli
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def running(sqlite_database_url: str) -> Iterator[tuple[RunningGateway, str]]:
    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"], instructions="Bridged."))
        token = create_token(store, "demo", "t")
        with serve_gateway(store) as gateway:
            yield gateway, token


@pytest.mark.anyio
async def test_bridge_relays_a_whole_session(running: tuple[RunningGateway, str]) -> None:
    gateway, token = running
    params = StdioServerParameters(
        command=MCPCTL,
        args=["mcp", "-p", "demo", "--url", gateway.base],
        env={**os.environ, "MCPCTL_TOKEN": token},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name == "mcpctl/demo" and init.instructions == "Bridged."
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {"toy__echo", "toy__add"} <= tools
        result = await session.call_tool("toy__echo", {"text": "through stdio"})
        assert result.content[0].text == "through stdio"  # type: ignore[union-attr]
        with pytest.raises(MCPError) as raised:
            await session.call_tool("toy__nope", {})
        assert raised.value.code == -32602
        prompts = await session.list_prompts()
        assert [p.name for p in prompts.prompts] == ["toy__greet"]


def test_config_claude_writes_and_merges_without_secrets(tmp_path: Path) -> None:
    target = tmp_path / "repo" / ".mcp.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"mcpServers": {"keep": {"command": "other"}}, "extra": 1}))
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["config", "claude", "-p", "demo", "--file", str(target), "--url", "http://gw:8080"],
        env={"MCPCTL_TOKEN": "mcpctl_pat_secretvalue"},
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    document = json.loads(target.read_text())
    assert document["extra"] == 1 and document["mcpServers"]["keep"] == {"command": "other"}
    assert document["mcpServers"]["mcpctl-demo"] == {
        "type": "stdio",
        "command": "mcpctl",
        "args": ["mcp", "-p", "demo", "--url", "http://gw:8080"],
        "env": {"MCPCTL_TOKEN": "${MCPCTL_TOKEN}"},
    }
    assert "secretvalue" not in target.read_text()
    again = runner.invoke(
        cli, ["config", "claude", "-p", "demo", "--file", str(target), "--url", "http://gw:8080"]
    )
    assert "unchanged" in again.output

    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    failed = runner.invoke(cli, ["config", "claude", "-p", "demo", "--file", str(broken)])
    assert failed.exit_code == 2 and "not valid JSON" in failed.output
    assert broken.read_text() == "{nope"
