"""`mcpctl cache list|stats|clear` against a real gateway holding a real paginated result."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.gateway_harness import FAST, mcp_session, project_doc, put, serve_gateway, server_doc
from mcpctl.cli import cli
from mcpctl.gateway import AuthConfig, LlmSettings
from mcpctl.llm import LlmProviders
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
BULKY = Path(__file__).parent.parent / "gateway" / "servers" / "bulky.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sqlite_store(sqlite_database_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_database_url)
    yield opened
    opened.close()


async def test_list_stats_and_clear_show_sizes_never_content(sqlite_store: Store) -> None:
    put(
        sqlite_store,
        server_doc("bulky", {"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]}),
        project_doc("docs", ["bulky"]),
    )
    config = replace(
        FAST, auth=AuthConfig(enabled=False), llm=LlmSettings(providers=LlmProviders.from_config(None))
    )
    runner = CliRunner()
    with serve_gateway(sqlite_store, config) as gateway:
        url = ["--url", gateway.base]
        empty = runner.invoke(cli, ["cache", "list", *url])
        assert empty.exit_code == 0 and "No cached results." in empty.output
        async with mcp_session(gateway.url("docs")) as session:
            made = await session.call_tool("bulky__bulky", {"chars": 120_000, "seed": 4})
            assert made.structured_content is not None
            result_id = made.structured_content["_resultId"]

            listed = runner.invoke(cli, ["cache", "list", *url])
            assert listed.exit_code == 0, listed.output
            header, row = listed.output.splitlines()
            assert header.split() == ["ID", "PROJECT", "SESSION", "PARTS", "CHARS", "SIZE", "AGE", "WHERE"]
            assert row.split()[:2] == [result_id, "docs"] and "120,000" in row and "memory" in row
            assert "alpha" not in listed.output and "bulky__bulky" not in listed.output

            as_json = json.loads(runner.invoke(cli, ["cache", "list", *url, "-o", "json"]).output)
            assert [e["id"] for e in as_json] == [result_id]
            stats = runner.invoke(cli, ["cache", "stats", *url, "-p", "docs"])
            assert stats.exit_code == 0 and "entries" in stats.output and "disk" in stats.output

            cleared = runner.invoke(cli, ["cache", "clear", *url, "-p", "docs"])
            assert cleared.exit_code == 0 and "cleared 1 cached result(s) of project docs" in cleared.output
            assert "No cached results." in runner.invoke(cli, ["cache", "list", *url]).output

    down = runner.invoke(cli, ["cache", "stats", "--url", "http://127.0.0.1:9"])
    assert down.exit_code != 0 and "cannot reach the gateway" in down.output
