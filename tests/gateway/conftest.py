"""Fixtures that start and stop real upstream MCP servers for the gateway tests.

- `toy_stdio` -- a factory of `ServerSpec`s running our own server (tests/gateway/servers/toy.py) on stdio.
- `toy_http` -- starts the same server as a subprocess on SSE or Streamable HTTP; returns its URL.
- `time_spec`, `git_spec` -- the PyPI servers `mcp-server-time` and `mcp-server-git` (on a tmp repo).
- `everything_stdio`, `everything_http` -- npm's server-everything on stdio and Streamable HTTP; skipped
  with the reason when node_modules/.bin/mcp-server-everything is missing (failed under `$CI`).
- `children` / `alive` -- the live child processes of this test process, read from /proc.
- `sqlite_store` -- a migrated store on SQLite only, for end-to-end tests that need not run twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.gateway_harness import TOY, free_port, is_alive, stop, wait_for_port
from mcpctl.schemas import ServerSpec
from mcpctl.store import Store

HERE = Path(__file__).parent
REPO_ROOT = HERE.parents[1]
EVERYTHING = REPO_ROOT / "node_modules" / ".bin" / "mcp-server-everything"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sqlite_store(sqlite_database_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_database_url)
    yield opened
    opened.close()


def child_pids(parent: int | None = None) -> set[int]:
    """Live (non-zombie) direct children of `parent` (this process by default)."""
    parent = os.getpid() if parent is None else parent
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry.name))
    return found


@pytest.fixture
def children() -> Callable[[], set[int]]:
    return child_pids


@pytest.fixture
def alive() -> Callable[[int], bool]:
    return is_alive


@pytest.fixture
def toy_stdio() -> Callable[..., ServerSpec]:
    """Factory: `toy_stdio(env={...}, call_seconds=..., connect_seconds=..., **spec_fields)`."""

    def make(
        env: dict[str, Any] | None = None,
        call_seconds: float = 10.0,
        connect_seconds: float = 15.0,
        **fields: Any,
    ) -> ServerSpec:
        return ServerSpec.model_validate(
            {
                "transport": "stdio",
                "command": sys.executable,
                "args": [str(TOY)],
                "env": env or {},
                "timeouts": {"callSeconds": call_seconds, "connectSeconds": connect_seconds},
                **fields,
            }
        )

    return make


@pytest.fixture
def toy_http() -> Iterator[Callable[..., str]]:
    """Factory: `toy_http("sse"|"streamable-http", env={...}, port=N)` starts a toy server, gives its URL."""
    started: dict[subprocess.Popen[bytes], int] = {}

    def start(transport: str, env: dict[str, str] | None = None, port: int | None = None) -> str:
        if port is None:
            port = free_port()
        # A server on this port that is still dying could answer the readiness probe for the new one.
        for earlier, used in started.items():
            if used == port:
                earlier.wait(10)
        process = subprocess.Popen(
            [sys.executable, str(TOY), "--transport", transport, "--port", str(port)],
            env={**os.environ, **(env or {})},
        )
        started[process] = port
        wait_for_port(port, process)
        path = "/sse" if transport == "sse" else "/mcp"
        return f"http://127.0.0.1:{port}{path}"

    yield start
    for process in started:
        stop(process)


@pytest.fixture
def time_spec() -> ServerSpec:
    return ServerSpec.model_validate(
        {"transport": "stdio", "command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}
    )


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    import git

    path = tmp_path / "repo"
    repo = git.Repo.init(path)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    (path / "README.md").write_text("# test repo\n")
    repo.index.add(["README.md"])
    repo.index.commit("first commit")
    return path


@pytest.fixture
def git_spec(git_repo: Path) -> ServerSpec:
    return ServerSpec.model_validate(
        {"transport": "stdio", "command": "mcp-server-git", "args": ["--repository", str(git_repo)]}
    )


def _need_everything() -> None:
    if not EVERYTHING.exists():
        reason = f"{EVERYTHING} is missing (npm install the dev tools into node_modules)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs them (.ci/run): a missing tool must not pass as a skip
        pytest.skip(reason)


@pytest.fixture
def everything_stdio() -> ServerSpec:
    _need_everything()
    return ServerSpec.model_validate(
        {
            "transport": "stdio",
            "command": "node_modules/.bin/mcp-server-everything",
            "args": ["stdio"],
            "cwd": str(REPO_ROOT),
        }
    )


@pytest.fixture
def everything_http() -> Iterator[ServerSpec]:
    _need_everything()
    port = free_port()
    process = subprocess.Popen(
        [str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process)
        yield ServerSpec.model_validate(
            {"transport": "streamable-http", "url": f"http://127.0.0.1:{port}/mcp"}
        )
    finally:
        stop(process)
