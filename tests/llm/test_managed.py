"""The managed vLLM's process lifecycle, a stand-in in vLLM's place (fast); test_vllm.py runs the real one.

A fake `vllm.entrypoints.openai.api_server` module on PYTHONPATH lets the real launcher run exactly the
command it runs for vLLM (`python -m vllm.entrypoints.openai.api_server --model ... --port ...`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.gateway_harness import free_port, is_alive
from mcpctl.errors import ProviderTimeout, ProviderUnavailable
from mcpctl.llm import ManagedVllm, ManagedVllmConfig

from .helpers import providers
from .standin import __file__ as STANDIN

pytestmark = pytest.mark.anyio


def fake_vllm(tmp_path: Path, body: str) -> Path:
    """A directory holding a `vllm.entrypoints.openai.api_server` module that runs `body`."""
    root = tmp_path / "fake-vllm"
    package = root / "vllm" / "entrypoints" / "openai"
    package.mkdir(parents=True)
    for folder in (root / "vllm", root / "vllm" / "entrypoints", package):
        (folder / "__init__.py").write_text("")
    (package / "api_server.py").write_text(textwrap.dedent(body))
    return root


SERVE_STANDIN = f"""
    import runpy, sys
    sys.argv[0] = {STANDIN!r}
    runpy.run_path({STANDIN!r}, run_name="__main__")
"""


def managed(tmp_path: Path, body: str = SERVE_STANDIN, **fields: Any) -> dict[str, Any]:
    settings = {
        "python": sys.executable,
        "model": str(tmp_path / "model-dir"),
        "port": free_port(),
        "env": {"PYTHONPATH": str(fake_vllm(tmp_path, body))},
        "logFile": str(tmp_path / "vllm.log"),
        **fields,
    }
    return settings


async def test_entering_the_set_starts_warms_and_leaving_it_stops(tmp_path: Path) -> None:
    settings = managed(tmp_path, extraArgs=["--delay-start", "1.5"])
    llm = providers({"name": "local", "model": "smol", "managed": settings})
    process = llm.get("local").process
    assert process is not None and process.state == "stopped"
    async with llm:
        group = process.pid
        assert group is not None and process.state == "starting"
        (early,) = await llm.health()
        assert early.state == "starting" and early.detail.startswith("vLLM is loading (")
        await llm.wait_ready(30)
        assert process.state == "ready" and process.ready_seconds is not None and process.ready_seconds >= 1.5
        (ready,) = await llm.health()
        assert ready.ok and ready.models == ("smol",)
        choice = await llm.choose_json([{"role": "user", "content": "hi"}], {"type": "object"})
        assert (choice.value, choice.provider) == ({"ok": True}, "local")
    assert process.state == "stopped" and process.pid is None and process.processes() == []
    argv = process.command()
    assert argv[:2] == [sys.executable, "-c"]
    assert argv[3:] == [
        "--model",
        settings["model"],
        "--served-model-name",
        "smol",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings["port"]),
        "--max-model-len",
        "2048",
        "--dtype",
        "auto",
        "--delay-start",
        "1.5",
    ]


async def test_a_server_that_exits_before_ready_is_reported_with_its_last_log_line(tmp_path: Path) -> None:
    body = "import sys\nprint('RuntimeError: no CPU backend', file=sys.stderr)\nsys.exit(3)\n"
    process = ManagedVllm("local", ManagedVllmConfig.model_validate(managed(tmp_path, body)), "smol")
    process.start()
    with pytest.raises(ProviderUnavailable) as raised:
        await process.wait_ready(30)
    assert process.state == "failed"
    assert str(raised.value) == (
        "local: vLLM exited (code 3) before it was ready: RuntimeError: no CPU backend "
        f"(log: {tmp_path / 'vllm.log'})"
    )


async def test_a_server_not_ready_by_the_deadline_is_stopped(tmp_path: Path) -> None:
    settings = managed(tmp_path, extraArgs=["--delay-start", "60"], startupTimeoutSeconds=1)
    process = ManagedVllm("local", ManagedVllmConfig.model_validate(settings), "smol")
    process.start()
    group = process.pid
    assert group is not None
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"local: vLLM was not ready within 1s"):
        await process.wait_ready()
    assert time.monotonic() - started < 10
    assert process.state == "failed" and process.processes() == [] and not is_alive(group)


async def test_stop_kills_the_whole_group_even_what_ignores_sigterm(tmp_path: Path) -> None:
    body = f"""
    import signal, subprocess, sys
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", stubborn])
    sys.argv[0] = {STANDIN!r}
    import runpy
    runpy.run_path({STANDIN!r}, run_name="__main__")
    """
    process = ManagedVllm("local", ManagedVllmConfig.model_validate(managed(tmp_path, body)), "smol")
    process.start()
    await process.wait_ready(30)
    group = process.pid
    assert group is not None and len(process.processes()) == 2
    started = time.monotonic()
    await process.stop(grace=0.5)
    assert process.processes() == [] and time.monotonic() - started < 5


async def test_a_missing_vllm_python_is_a_health_problem_not_a_crash(tmp_path: Path) -> None:
    llm = providers(
        {"name": "local", "model": "smol", "managed": {"python": str(tmp_path / "no-venv/bin/python")}}
    )
    async with llm:
        await llm.wait_ready(5)
        (health,) = await llm.health()
    assert health.state == "down"
    python = tmp_path / "no-venv/bin/python"
    assert (
        health.detail == f"no Python at {python}; run `make vllm` or set managed.python to a venv with vLLM"
    )


def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    settings = managed(tmp_path)
    owner = textwrap.dedent(
        f"""
        import anyio, time
        from mcpctl.llm import ManagedVllm, ManagedVllmConfig
        process = ManagedVllm("local", ManagedVllmConfig.model_validate({settings!r}), "smol")
        process.start()
        anyio.run(process.wait_ready, 30)
        print(process.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", owner], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        server = int(parent.stdout.readline())
        assert is_alive(server)
    finally:
        os.kill(parent.pid, signal.SIGKILL)  # no atexit, no stop(): only the kernel's parent-death signal
        parent.wait(10)
    deadline = time.monotonic() + 10
    while is_alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(server)
