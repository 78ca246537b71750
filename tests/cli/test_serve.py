"""`mcpctl serve` as a real process: serves a filled store, answers `mcpctl test mcp`, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.gateway_harness import create_token, free_port, project_doc, put, server_doc, toy_spec
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")


def wait_healthy(base: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


def is_running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_serve_answers_test_mcp_and_stops_its_upstreams(sqlite_database_url: str, tmp_path: Path) -> None:
    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"], instructions="Hi."))
        token = create_token(store, "demo", "cli")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    env.pop("MCPCTL_TOKEN", None)
    serve = subprocess.Popen(
        [MCPCTL, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, serve)
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert "# TYPE mcpctl_reconcile_drift_resources gauge" in metrics  # the reconciler's status gauges
        checked = subprocess.run(
            [
                MCPCTL,
                "test",
                "mcp",
                f"{base}/projects/demo/mcp",
                "--tool",
                "toy__pid",
                "-o",
                "json",
                "--expect-tools",
                "toy__echo,toy__add",
            ],
            env={**env, "MCPCTL_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert [step["name"] for step in report["steps"]] == [
            "initialize",
            "tools/list",
            "expect-tools",
            "tools/call toy__pid",
        ]
        upstream_pid = int(report["steps"][-1]["detail"])
        assert is_running(upstream_pid)
        assert token not in checked.stdout + checked.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            _, stderr = serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it was SIGTERM.
    assert serve.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr
    assert token not in stderr
    deadline = time.monotonic() + 5
    while is_running(upstream_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(upstream_pid), "the upstream outlived the gateway"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_serve_refuses_no_auth_off_loopback(sqlite_database_url: str, host: str) -> None:
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    refused = subprocess.run(
        [MCPCTL, "serve", "--host", host, "--no-auth"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "loopback" in refused.stderr and "Traceback" not in refused.stderr
