"""`make run` starts the example's npm upstreams (no auth of their own) listening on loopback only."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gateway.gateway_harness import free_port

ROOT = Path(__file__).resolve().parents[1]
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the LISTEN sockets on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel
    writes them: 0100007F is 127.0.0.1, 00000000 is 0.0.0.0, 32 zeros is ::)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not EVERYTHING.exists() or shutil.which("make") is None, reason="needs make and npm")
def test_make_run_upstreams_listen_on_loopback_only() -> None:
    made = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True)
    recipe = made.stdout
    commands = re.findall(r"((?:\S+=\S+ )*)PORT=\d+ (node_modules/\.bin/mcp-server-everything \w+)", recipe)
    assert len(commands) == 2, recipe
    for assignments, command in commands:
        port = free_port()
        process = subprocess.Popen(
            ["sh", "-c", f"exec env {assignments}PORT={port} {command}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not listening_addresses(port):
                assert process.poll() is None and time.monotonic() < deadline, command
                time.sleep(0.1)
            assert listening_addresses(port) == {"0100007F"}, (command, listening_addresses(port))
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
