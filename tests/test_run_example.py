"""scripts/run_example.py (what `make run` serves with): one unit that always stops as a whole."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.gateway_harness import free_port, is_alive, wait_for_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_example.py"
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"
pytestmark = pytest.mark.skipif(
    not EVERYTHING.exists() and not os.environ.get("CI"), reason="npm install the example servers first"
)


def start(tmp_path: Path, parent_wrapper: bool = False) -> tuple[subprocess.Popen[str], dict[str, int], int]:
    port, sse, http = free_port(), free_port(), free_port()
    argv = [sys.executable, str(SCRIPT), "--port", str(port), "--sse-port", str(sse)]
    argv += ["--http-port", str(http)]
    env = {**os.environ, "MCPCTL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    if parent_wrapper:
        # A stand-in for make: the script's parent, which the test then kills outright.
        argv = [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])", *argv]
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    pids: dict[str, int] = {}
    while len(pids) < 3:
        line = process.stderr.readline()
        assert line, "the script ended before starting its children"
        found = re.match(r"run-example: started (\S+) .*\(pid (\d+)\)", line)
        if found:
            pids[found.group(1) + str(len(pids))] = int(found.group(2))
    for listening in (sse, http):
        wait_for_port(listening, process)
    wait_healthy(f"http://127.0.0.1:{port}", process, timeout=60)
    return process, pids, sse


def gone(pids: dict[str, int], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(is_alive(pid) for pid in pids.values()):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_every_child(tmp_path: Path, how: str) -> None:
    process, pids, _ = start(tmp_path)
    process.send_signal(getattr(signal, how))
    assert process.wait(30) == 0
    assert gone(pids)
    assert process.stderr is not None and "Segmentation fault" not in process.stderr.read()


def test_a_child_that_exits_stops_the_others(tmp_path: Path) -> None:
    process, pids, _ = start(tmp_path)
    server = next(pid for name, pid in pids.items() if name.startswith("mcp-server-everything"))
    os.kill(server, signal.SIGKILL)
    assert process.wait(30) != 0
    assert gone(pids)


def test_killing_the_parent_stops_everything(tmp_path: Path) -> None:
    wrapper, pids, _ = start(tmp_path, parent_wrapper=True)
    wrapper.kill()  # SIGKILL: the parent gets no chance to pass anything on
    wrapper.wait(10)
    assert gone(pids)


def test_the_npm_servers_bind_the_given_host_only(tmp_path: Path) -> None:
    process, pids, sse = start(tmp_path)
    try:
        listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
        local = {line.split()[1] for line in listening if line.split()[3] == "0A"}  # 0A: LISTEN
        assert f"0100007F:{sse:04X}" in local and f"00000000:{sse:04X}" not in local
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert gone(pids)
