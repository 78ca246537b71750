"""The real vLLM of the test session: one managed server (~2 min to load on CPU), shared by every test.

`start_vllm` runs it through the same path the gateway uses (a config file with a `managed:` provider,
`load_providers`, `async with`), on an event loop in a background thread (an anyio blocking portal) so
that it outlives each test's own loop. It records what health said before the server was ready.
`--enforce-eager`: on CPU, vLLM 0.32 recompiles the model at every start (its compile cache does not load
back), which takes minutes; eager mode starts about three times sooner and answers as fast here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from mcpctl.llm import LlmProviders, ManagedVllm, ProviderHealth, load_providers, vllm_home

SERVED_MODEL = "smollm2"
STARTUP_DEADLINE = 900.0
"""On a loaded 2-core machine loading takes ~2 minutes; far more means something is wrong."""


def missing_vllm() -> str | None:
    """Why the real vLLM cannot run here (None when `make vllm` has built its venv and model)."""
    home = vllm_home()
    for path in (home / "venv" / "bin" / "python", home / "models" / SERVED_MODEL / "config.json"):
        if not path.exists():
            return f"{path} is missing: run `make vllm` to build the vLLM venv and model"
    return None


@dataclass
class VllmServer:
    """The session's running vLLM and what was observed while it started."""

    portal: BlockingPortal
    providers: LlmProviders
    """The managed provider set (lives on the portal's loop; call it through `portal`)."""
    process: ManagedVllm
    log_path: Path
    early_health: ProviderHealth
    """The provider's health right after the process was started."""
    early_probe: str
    """What `GET /v1/models` gave right after the start (an exception name while it loads)."""

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def model(self) -> str:
        return SERVED_MODEL

    def ensure_running(self) -> None:
        """Start it again if a test stopped it (tests that stop it run last, so this is rarely needed)."""
        if self.process.state != "ready" or self.process.pid is None:
            self.portal.call(self._restart)

    async def _restart(self) -> None:
        self.process.start()
        await self.process.wait_ready(STARTUP_DEADLINE)


def _probe(url: str) -> str:
    try:
        return f"HTTP {httpx.get(f'{url}/models', timeout=2).status_code}"
    except httpx.HTTPError as error:
        return type(error).__name__


@contextmanager
def start_vllm(workdir: Path, port: int) -> Iterator[VllmServer]:
    """Start the managed vLLM on `port`, wait until it is ready and warm; stop it and its group at the end."""
    config = workdir / "llm.yaml"
    log_path = workdir / "vllm.log"
    config.write_text(
        "providers:\n"
        "  - name: vllm\n"
        f"    model: {SERVED_MODEL}\n"
        "    managed:\n"
        f"      port: {port}\n"
        "      dtype: bfloat16\n"
        "      maxModelLen: 2048\n"
        "      extraArgs: [--enforce-eager]\n"
        f"      startupTimeoutSeconds: {STARTUP_DEADLINE}\n"
        f"      logFile: {log_path}\n"
        '      env: {VLLM_CPU_KVCACHE_SPACE: "1"}\n'
    )
    with start_blocking_portal() as portal:
        providers = portal.call(_load, config)
        with portal.wrap_async_context_manager(providers):
            process = providers.get("vllm").process
            assert process is not None
            early_health = portal.call(providers.get("vllm").health)
            early_probe = _probe(process.url)
            portal.call(providers.wait_ready, STARTUP_DEADLINE)
            if process.state != "ready":
                raise RuntimeError(f"vLLM did not start: {process.detail()}")
            yield VllmServer(portal, providers, process, log_path, early_health, early_probe)


async def _load(config: Path) -> LlmProviders:
    # Built on the portal's loop, like the gateway builds it in its lifespan.
    return load_providers(config, environ=os.environ)
