"""Shared pytest fixtures for the whole suite: isolated live-store databases on SQLite and PostgreSQL.

Fixtures every test package may use:

- `database_url` -- a fresh, empty store database URL, parametrized over ``sqlite`` (a file in
  ``tmp_path``) and ``postgresql`` (a new schema ``mcpctl_test_<random>`` on
  ``postgresql://postgres@127.0.0.1:5432/test``, or ``$MCPCTL_TEST_POSTGRES_URL``, selected through the
  URL's ``options=-csearch_path=<schema>``; dropped after the test). A test using it runs twice. The
  PostgreSQL case is skipped only when the server is unreachable and ``$CI`` is unset; in CI it fails.
- `sqlite_database_url` / `postgres_database_url` -- the same, for one backend only.
- `store` -- ``Store.open(database_url)`` (migrated), closed after the test; runs on both backends.
- `vllm` -- the session's one real vLLM server (tests/llm/vllm_harness.py), started on first use (~2 min)
  from the venv and model `make vllm` builds; mark such tests ``@pytest.mark.vllm``. Skipped when they
  are missing and ``$CI`` is unset; in CI it fails.

A run that inherited SIGINT ignored gets it back (`pytest_configure`): the Ctrl-C tests need it.

Autouse: every test gets ``$XDG_DATA_HOME`` pointed into its ``tmp_path`` and ``$MCPCTL_DATABASE_URL``
unset, so nothing ever touches the user's real default store; and the root logger's handlers and level
are put back after each test (commands run in-process configure logging for the whole process).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from llm.vllm_harness import VllmServer
    from mcpctl.store import Store

POSTGRES_URL = os.environ.get("MCPCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_configure(config: pytest.Config) -> None:
    # Tests press Ctrl-C on real `mcpctl` processes (SIGINT). A run started in the background (`cmd &`
    # in a shell without job control) inherits SIGINT ignored and would pass that on to every child,
    # which then cannot be interrupted: give the run Python's own handler back (children get the default).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("MCPCTL_DATABASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _restored_logging() -> Iterator[None]:
    # `serve` and `reconcile` run in-process by CliRunner configure the root logger for the process.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}".splitlines()[0]
    return None


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """A store URL for a new SQLite file in the test's tmp dir."""
    return f"sqlite:///{tmp_path / 'store' / 'mcpctl.db'}"


@pytest.fixture
def postgres_database_url(_postgres_reachable: str | None) -> Iterator[str]:
    """A store URL for a new, empty PostgreSQL schema, dropped after the test."""
    if _postgres_reachable is not None:
        if os.environ.get("CI"):
            pytest.fail(_postgres_reachable)
        pytest.skip(_postgres_reachable)
    import psycopg

    schema = f"mcpctl_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        # A leaked connection from a crashed test must not hang the suite forever.
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL on each backend in turn (see the module docstring)."""
    name = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """An open, migrated store on a fresh database (both backends)."""
    from mcpctl.store import Store

    opened = Store.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def _vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    from gateway.gateway_harness import free_port
    from llm.vllm_harness import missing_vllm, start_vllm

    reason = missing_vllm()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with start_vllm(tmp_path_factory.mktemp("vllm"), free_port()) as server:
        yield server


@pytest.fixture
def vllm(_vllm_server: VllmServer) -> VllmServer:
    """The session's real vLLM server, running (restarted if an earlier test stopped it)."""
    _vllm_server.ensure_running()
    return _vllm_server
