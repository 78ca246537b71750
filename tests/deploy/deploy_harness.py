"""Helpers for the deploy/ tests: where the files are, tools that must exist in CI, and running the
commands the Dockerfile, the compose file and the chart give mcpctl as real processes on this machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from mcpctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "mcpctl"
BIN = Path(sys.executable).parent

REPLICA_FLAGS = {"--redis-url", "--rate-limit-per-token"}
"""`mcpctl serve` flags the chart passes only when `redis.*` / `gateway.rateLimitPerToken` are set."""


def missing(reason: str) -> None:
    """Skip for a developer without the tool; in CI (`$CI` set) a missing tool fails the test."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: make setup)")
    pytest.skip(reason)


def tool(name: str) -> Path:
    """An executable installed with the dev extra (next to this Python) or on PATH."""
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        missing(f"{name} is not installed")
    return Path(str(found))


def node_tool(name: str) -> Path:
    """An executable of the npm dev tools (package.json), installed by `make setup`."""
    path = ROOT / "node_modules" / ".bin" / name
    if not path.exists():
        missing(f"node_modules/.bin/{name} is not installed (npm install)")
    return path


def unknown_flags(args: Sequence[str]) -> str | None:
    """None when `mcpctl ARGS` parses (every flag and subcommand exists), else click's complaint.

    `--help` is appended, so nothing runs: click still rejects an unknown option while parsing.
    """
    result = CliRunner().invoke(cli, [*args, "--help"])
    return None if result.exit_code == 0 else result.output.strip().splitlines()[-1]


def expand_k8s(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion of container args (`$$` escapes, unknown names stay as written)."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        value,
    )


def mcpctl_process(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`mcpctl ARGS` as a subprocess with exactly `env` (plus PATH and HOME of this machine)."""
    base = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(cwd)}
    return subprocess.Popen(
        [str(BIN / "mcpctl"), *args],
        env={**base, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def running(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Stop `process` (SIGTERM, then SIGKILL) when the block ends."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_http_ok(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> httpx.Response:
    """The first 200 answer of GET `url`; fails with the process output if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"{url}: the process exited with {process.returncode}:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 within {timeout}s")


def run_to_end(process: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """Wait for `process` to exit 0 and return its output; fail with that output otherwise."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exit {process.returncode}:\n{output}"
    return output
