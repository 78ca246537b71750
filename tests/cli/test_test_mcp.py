"""`mcpctl test mcp URL`: exit 0 on pass, 1 on transport/auth failure, 2 on contract failure."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.gateway_harness import (
    TOY,
    RunningGateway,
    create_token,
    free_port,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
    wait_for_port,
)
from mcpctl.cli import cli
from mcpctl.store import Store


@pytest.fixture
def running(sqlite_database_url: str) -> Iterator[tuple[RunningGateway, str]]:
    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]), project_doc("other", ["toy"]))
        token = create_token(store, "demo", "t")
        with serve_gateway(store) as gateway:
            yield gateway, token


def run(*args: str, token: str | None = None) -> tuple[int, str]:
    env = {"MCPCTL_TOKEN": token} if token else {}
    result = CliRunner().invoke(cli, ["test", "mcp", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_exit_codes(running: tuple[RunningGateway, str]) -> None:
    gateway, token = running
    url = gateway.url("demo")

    code, output = run(url, "--tool", "toy__add", "--args", '{"a": 20, "b": 22}', token=token)
    assert code == 0, output
    assert "PASS  tools/call toy__add" in output and " 42" in output and output.rstrip().endswith(url)

    assert run(url, "--expect-tools", "toy__echo,toy__missing", token=token)[0] == 2
    assert run(url, "--tool", "toy__fail", token=token)[0] == 2
    code, output = run(url, "--tool", "toy__nope", token=token)
    assert code == 2 and "-32602" in output

    code, output = run(url, token="mcpctl_pat_unknown")
    assert code == 1 and "HTTP 401" in output
    code, output = run(gateway.url("other"), token=token)
    assert code == 1 and "HTTP 403" in output
    assert run(url)[0] == 1
    assert run(f"http://127.0.0.1:{free_port()}/mcp", "--timeout", "5")[0] == 1
    assert token not in output


def test_json_output(running: tuple[RunningGateway, str]) -> None:
    gateway, token = running
    code, output = run(gateway.url("demo"), "--expect-tools", "toy__echo", "-o", "json", token=token)
    assert code == 0
    report = json.loads(output)
    assert report["ok"] is True and report["exitCode"] == 0
    assert [s["name"] for s in report["steps"]] == ["initialize", "tools/list", "expect-tools"]
    assert report["steps"][0]["detail"].startswith("server mcpctl/demo")


def test_usage_errors() -> None:
    result = CliRunner().invoke(cli, ["test", "mcp", "http://x/mcp", "--args", "{}"])
    assert result.exit_code == 2 and "--args needs --tool" in result.output
    result = CliRunner().invoke(cli, ["test", "mcp", "http://x/mcp", "--tool", "t", "--args", "[1]"])
    assert result.exit_code == 2 and "JSON object" in result.output


def test_legacy_sse_missing_token_long_names_and_tools_in_json(
    running: tuple[RunningGateway, str], tmp_path: Path
) -> None:
    gateway, token = running
    port = free_port()
    toy = subprocess.Popen([sys.executable, str(TOY), "--transport", "sse", "--port", str(port)])
    try:
        wait_for_port(port, toy)
        code, output = run(f"http://127.0.0.1:{port}/sse", "--timeout", "10")
    finally:
        toy.terminate()
        toy.wait(10)
    assert code == 1, output
    assert "HTTP 405" in output and "legacy SSE endpoint" in output

    code, output = run(gateway.url("demo"))
    assert code == 1 and "HTTP 401" in output and "set MCPCTL_TOKEN" in output
    code, output = run(gateway.url("demo"), token="mcpctl_pat_unknown")
    assert code == 1 and "MCPCTL_TOKEN" not in output

    code, output = run(gateway.url("demo"), "--tool", "toy__add", "--args", '{"a": 1, "b": 2}', token=token)
    assert code == 0, output
    rows = [line for line in output.splitlines() if line.startswith(("PASS  ", "FAIL  "))]
    assert len(rows) == 3 and len({row.index(" ms ") for row in rows}) == 1  # columns line up
    long_tool = "toy__" + "x" * 40
    code, output = run(gateway.url("demo"), "--tool", long_tool, token=token)
    rows = [line for line in output.splitlines() if line.startswith(("PASS  ", "FAIL  "))]
    assert code == 2 and len({row.index(" ms ") for row in rows}) == 1

    code, output = run(gateway.url("demo"), "-o", "json", token=token)
    tools = {tool["name"]: tool["description"] for tool in json.loads(output)["tools"]}
    assert {"toy__echo", "toy__add"} <= set(tools) and tools["toy__echo"]
