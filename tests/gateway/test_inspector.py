"""The MCP Inspector CLI (npm) as an outside client of the gateway: tools/list and tools/call with a token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.gateway_harness import create_token, project_doc, put, serve_gateway, server_doc
from mcpctl.gateway import AuthConfig
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

INSPECTOR = Path(__file__).parents[2] / "node_modules" / ".bin" / "mcp-inspector"


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    if not INSPECTOR.exists():
        reason = f"{INSPECTOR} is missing (npm install the dev tools into node_modules)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it (.ci/run): a missing tool must not pass as a skip
        pytest.skip(reason)
    return subprocess.run([str(INSPECTOR), "--cli", *args], capture_output=True, text=True, timeout=120)


def test_inspector_over_http_lists_and_calls_tools(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    # Inspector 0.15's CLI cannot send headers, so this gateway runs without auth (allowed on loopback).
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    with serve_gateway(sqlite_store, auth=AuthConfig(enabled=False)) as gateway:
        url = gateway.url("demo")
        listed = inspect(url, "--transport", "http", "--method", "tools/list")
        assert listed.returncode == 0, listed.stderr
        tools = {tool["name"]: tool for tool in json.loads(listed.stdout)["tools"]}
        assert tools["toy__add"]["inputSchema"]["required"] == ["a", "b"]
        assert tools["toy__add"]["description"] == "[toy] Add two numbers."

        called = inspect(
            url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "toy__echo",
            "--tool-arg",
            "text=from the inspector",
        )
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["content"][0]["text"] == "from the inspector"

        unknown = inspect(url, "--transport", "http", "--method", "tools/call", "--tool-name", "toy__nope")
        assert unknown.returncode != 0


def test_inspector_over_stdio_through_the_bridge_with_a_token(
    sqlite_store: Store, toy_stdio: Callable[..., ServerSpec]
) -> None:
    put(sqlite_store, server_doc("toy", toy_stdio()), project_doc("demo", ["toy"]))
    token = create_token(sqlite_store, "demo", "inspector")
    with serve_gateway(sqlite_store) as gateway:
        bridge = [str(Path(sys.executable).parent / "mcpctl"), "mcp", "-p", "demo", "--url", gateway.base]
        listed = inspect("-e", f"MCPCTL_TOKEN={token}", "--method", "tools/list", "--", *bridge)
        assert listed.returncode == 0, listed.stderr
        assert "toy__echo" in {tool["name"] for tool in json.loads(listed.stdout)["tools"]}
        refused = inspect("-e", "MCPCTL_TOKEN=mcpctl_pat_wrong", "--method", "tools/list", "--", *bridge)
        assert refused.returncode != 0
