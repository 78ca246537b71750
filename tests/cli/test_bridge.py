"""`mcpctl mcp -p PROJECT` (stdio bridge, as a subprocess) and `mcpctl config claude` (.mcp.json entry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import StdioServerParameters, stdio_client
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    INITIALIZE,
    RunningGateway,
    create_token,
    free_port,
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


PIPELINED = [
    INITIALIZE,
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "toy__echo", "arguments": {"text": "hi"}},
    },
]


def bridge(base: str, token: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    env.pop("MCPCTL_TOKEN", None)
    if token is not None:
        env["MCPCTL_TOKEN"] = token
    return subprocess.Popen(
        [MCPCTL, "mcp", "-p", "demo", "--url", base],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def replies(stdout: bytes) -> dict[int, dict[str, object]]:
    return {message["id"]: message for message in map(json.loads, stdout.decode().splitlines())}


def test_requests_sent_at_once_are_all_answered_before_exit(running: tuple[RunningGateway, str]) -> None:
    # A client that writes everything without waiting, then closes stdin (a pipe, a script).
    gateway, token = running
    process = bridge(gateway.base, token)
    out, err = process.communicate("".join(json.dumps(m) + "\n" for m in PIPELINED).encode(), timeout=60)
    assert process.returncode == 0, err.decode()
    answered = replies(out)
    assert sorted(answered) == [1, 2, 3]
    assert "toy__echo" in json.dumps(answered[2]["result"])
    assert answered[3]["result"]["content"][0]["text"] == "hi"  # type: ignore[index]


def test_no_token_is_a_clear_error_and_an_exit_even_with_stdin_open(
    running: tuple[RunningGateway, str],
) -> None:
    gateway, _ = running
    process = bridge(gateway.base, None)
    assert process.stdin is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in PIPELINED).encode())
    process.stdin.flush()
    try:
        code = process.wait(60)  # stdin stays open: the bridge must not wait for it
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert code == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the gateway at ") and "(HTTP 401)" in lines[0]
    assert "set MCPCTL_TOKEN" in lines[0]
    answered = replies(out)
    assert sorted(answered) == [1, 2, 3] and all("error" in reply for reply in answered.values())


def test_an_unreachable_gateway_is_one_line_not_a_traceback() -> None:
    process = bridge(f"http://127.0.0.1:{free_port()}", "mcpctl_pat_whatever")
    out, err = process.communicate((json.dumps(INITIALIZE) + "\n").encode(), timeout=60)
    assert process.returncode == 1
    (line,) = err.decode().strip().splitlines()
    assert line.startswith("error: cannot reach the gateway at http://127.0.0.1:")
    assert "Traceback" not in err.decode() and "mcpctl_pat_whatever" not in err.decode()
    assert "cannot reach the gateway" in replies(out)[1]["error"]["message"]  # type: ignore[index]


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
        # The absolute path: the client starts it outside this virtual environment.
        "command": MCPCTL,
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


@pytest.mark.parametrize("source", ["/dev/null", "file"])
def test_stdin_that_cannot_be_polled_is_read_to_its_end(
    running: tuple[RunningGateway, str], tmp_path: Path, source: str
) -> None:
    # `mcpctl mcp < /dev/null` or `< requests.jsonl`: epoll refuses such stdin (a device, a file).
    gateway, token = running
    path = Path(source) if source == "/dev/null" else tmp_path / "requests.jsonl"
    if source == "file":
        path.write_text("".join(json.dumps(m) + "\n" for m in PIPELINED))
    with path.open("rb") as stdin:
        done = subprocess.run(
            [MCPCTL, "mcp", "-p", "demo", "--url", gateway.base],
            stdin=stdin,
            capture_output=True,
            env={**os.environ, "MCPCTL_TOKEN": token},
            timeout=60,
            check=False,
        )
    assert done.returncode == 0 and "Traceback" not in done.stderr.decode(), done.stderr.decode()
    assert sorted(replies(done.stdout)) == ([] if source == "/dev/null" else [1, 2, 3])
