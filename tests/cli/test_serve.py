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

from gateway.gateway_harness import (
    create_token,
    free_port,
    is_alive,
    project_doc,
    put,
    server_doc,
    toy_spec,
    wait_healthy,
)
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")


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
        assert is_alive(upstream_pid)
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
    while is_alive(upstream_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(upstream_pid), "the upstream outlived the gateway"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_serve_refuses_no_auth_off_loopback(sqlite_database_url: str, host: str) -> None:
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    refused = subprocess.run(
        [MCPCTL, "serve", "--host", host, "--no-auth"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "loopback" in refused.stderr and "Traceback" not in refused.stderr
