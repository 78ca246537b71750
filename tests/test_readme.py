"""Every `$ ...` command in the README's console blocks runs and succeeds, in the order a reader runs them."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from gateway.gateway_harness import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
README_PORT = "8080"


def console_blocks(text: str) -> list[list[str]]:
    """The `$ `-prefixed commands of each ```console block, block by block."""
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)
    return [[line[2:] for line in block.splitlines() if line.startswith("$ ")] for block in blocks]


def run(command: str, cwd: Path, env: dict[str, str], port: int) -> None:
    command = command.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}")
    # `  # exits N` after a command: the README shows a refusal, which must be exactly that exit code.
    command, _, note = command.partition("  # exits ")
    expected = int(note) if note else 0
    exported = re.fullmatch(r"export (\w+)=\$\(cat (\S+)\)", command)
    if exported:
        env[exported.group(1)] = (cwd / exported.group(2)).read_text().strip()
        return
    argv = shlex.split(command)
    assert argv[0] == "mcpctl", f"README command outside mcpctl: {command}"
    done = subprocess.run(
        [str(BIN / "mcpctl"), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == expected, f"$ {command}\n{done.stdout}\n{done.stderr}"
    if command.startswith("mcpctl test mcp") and expected == 2:
        assert "Unknown tool" in done.stdout, done.stdout


def test_readme_commands_run(tmp_path: Path) -> None:
    blocks = console_blocks((ROOT / "README.md").read_text())
    connect, tour = blocks
    assert len(connect) >= 3 and len(tour) >= 10
    # A reader's checkout: the example repo and npm tools in place, a store of its own.
    for name in ("examples", "node_modules"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {
        **os.environ,
        "MCPCTL_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.db'}",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("MCPCTL_TOKEN", None)
    port = free_port()
    # `make run` first: its apply (as the Makefile runs it) into the store its gateway serves.
    recipe = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True)
    (make_apply,) = [line.strip() for line in recipe.stdout.splitlines() if " apply " in line]
    served = {**env, "MCPCTL_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}"}
    run("mcpctl " + make_apply.split("/mcpctl ", 1)[1], tmp_path, served, port)
    # The tour, into a store of the reader's choosing: another one here.
    for command in tour:
        run(command, tmp_path, env, port)
    assert (tmp_path / "exported-estate" / "servers").is_dir()

    # The connect block talks to the gateway `make run` serves, with the tokens it wrote.
    serve = subprocess.Popen(
        [str(BIN / "mcpctl"), "serve", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path,
        env={**served, "MCPCTL_SECRETS_DIR": str(ROOT / "examples" / "secrets")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", serve)
        for command in connect:
            run(command, tmp_path, served, port)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert "mcpctl" in (tmp_path / ".mcp.json").read_text()
