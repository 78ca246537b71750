"""`mcpctl status` against a real store, a real gateway (with real upstreams) and LLM providers."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from gateway.gateway_harness import (
    TOY,
    RunningGateway,
    free_port,
    project_doc,
    put,
    serve_gateway,
    server_doc,
)
from llm.standin import StandIn, serve_standin
from llm.vllm_harness import VllmServer
from mcpctl.cli import cli
from mcpctl.cli._status import spinner
from mcpctl.store import Store


def toy(health_tool: str) -> dict[str, Any]:
    return {
        "transport": "stdio",
        "command": sys.executable,
        "args": [str(TOY)],
        "healthCheck": {"tool": health_tool, "arguments": {"text": "ok"}, "intervalSeconds": 1},
    }


@pytest.fixture
def gateway(store: Store) -> Iterator[RunningGateway]:
    """A gateway over `store` whose two upstreams have been probed: `healthy` passes, `failing` fails."""
    put(store, server_doc("healthy", toy("echo")), server_doc("failing", toy("fail")))
    put(store, project_doc("demo", ["healthy", "failing"]))
    with serve_gateway(store) as running:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            upstreams = httpx.get(f"{running.base}/readyz").json()["upstreams"]
            if all(upstreams.get(name, {}).get("probe") for name in ("healthy", "failing")):
                break
            time.sleep(0.2)
        yield running


def llm_file(tmp_path: Path, *providers: tuple[str, str, str]) -> Path:
    path = tmp_path / "llm.yaml"
    path.write_text(
        "providers:\n"
        + "".join(f"  - name: {name}\n    url: {url}\n    model: {model}\n" for name, url, model in providers)
    )
    return path


def run_status(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["status", *args])
    return result.exit_code, result.output


def down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"


def test_everything_up_is_exit_0_with_marks_latency_and_json(
    store: Store, gateway: RunningGateway, tmp_path: Path
) -> None:
    with serve_standin(StandIn(model="m", owned_by="vllm")) as standin:
        config = llm_file(tmp_path, ("local", standin.url, "m"), ("spare", down_url(), "m"))
        database = str.__str__(store.url)
        code, text = run_status(
            "--url", gateway.base, "--database-url", database, "--llm-config", str(config)
        )
        json_code, out = run_status(
            "--url", gateway.base, "--database-url", database, "--llm-config", str(config), "-o", "json"
        )
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].split() == ["COMPONENT", "NAME", "STATE", "LATENCY", "DETAIL"]
    row = {line.split()[1] + "/" + line.split()[2]: line for line in lines[1:-1]}
    assert row[f"store/{store.url.partition(':')[0].partition('+')[0]}"].startswith("✓")
    assert f"generation {store.generation()}, schema {store.schema_revision()}" in text
    assert row[f"gateway/{gateway.base}"].startswith("✓") and " ready " in row[f"gateway/{gateway.base}"]
    assert row["upstream/healthy"].startswith("✓") and row["upstream/failing"].startswith("✗")
    assert row["llm/local"].startswith("✓") and row["llm/spare"].startswith("✗")
    assert "cannot reach" in row["llm/spare"]
    assert (
        lines[-1] == "all required parts are up"
    )  # one LLM provider up is enough; upstreams are not required
    assert "⠋" not in text  # no spinner without a terminal

    assert json_code == 0
    report = json.loads(out)
    assert (report["ok"], report["down"]) == (True, [])
    assert report["store"]["generation"] == store.generation() and report["store"]["ok"] is True
    assert report["store"]["schemaRevision"] == store.schema_revision()
    assert (report["gateway"]["live"], report["gateway"]["ready"]) == (True, True)
    assert {u["name"]: u["ok"] for u in report["upstreams"]} == {"failing": False, "healthy": True}
    local, spare = report["llm"]
    assert (local["name"], local["ok"], local["state"], local["dialect"]) == ("local", True, "ready", "vllm")
    assert local["seconds"] is not None and local["seconds"] < 5
    assert (spare["ok"], spare["state"], spare["tier"]) == (False, "down", "fast")


def test_a_gateway_that_does_not_answer_is_exit_1(sqlite_database_url: str) -> None:
    Store.open(sqlite_database_url).close()
    url = f"http://127.0.0.1:{free_port()}"
    code, text = run_status("--url", url, "--database-url", sqlite_database_url)
    assert code == 1
    assert text.splitlines()[-1] == "down: gateway"
    assert f"cannot reach {url}: ConnectError" in text
    assert "not configured" in text  # no LLM configured: reported, not required


def test_llm_providers_all_down_is_exit_1(sqlite_store_gateway: tuple[str, str], tmp_path: Path) -> None:
    database, base = sqlite_store_gateway
    config = llm_file(tmp_path, ("one", down_url(), "m"))
    code, out = run_status(
        "--url", base, "--database-url", database, "--llm-config", str(config), "-o", "json"
    )
    assert code == 1
    assert json.loads(out)["down"] == ["llm"]


def test_the_env_vars_configure_the_provider_checked(
    sqlite_store_gateway: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, base = sqlite_store_gateway
    with serve_standin(StandIn(model="m")) as standin:
        monkeypatch.setenv("MCPCTL_LLM_URL", standin.url)
        monkeypatch.setenv("MCPCTL_LLM_MODEL", "m")
        code, out = run_status("--url", base, "--database-url", database, "-o", "json")
    assert code == 0, out
    (provider,) = json.loads(out)["llm"]
    assert (provider["name"], provider["ok"], provider["url"]) == ("default", True, standin.url)


def test_a_missing_store_is_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    code, text = run_status("--url", f"http://127.0.0.1:{free_port()}", "--database-url", url)
    assert code == 1 and text.splitlines()[-1] == "down: store, gateway"
    assert f"no store at {url} (nothing applied yet?)" in text
    assert not (tmp_path / "none.db").exists()  # status never creates a store


def test_a_bad_llm_config_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "llm.yaml"
    path.write_text("providers:\n  - name: a\n    url: localhost\n    model: m\n")
    code, text = run_status("--llm-config", str(path))
    assert code == 1
    assert f"{path}:3:10: providers[0].url: must be an http:// or https:// URL" in text
    assert "Traceback" not in text


def test_the_spinner_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    with spinner(terminal, "checking"), spinner(pipe, "checking"):
        time.sleep(0.3)
    assert "⠋ checking…" in terminal.getvalue() and terminal.getvalue().endswith("\r\033[K")
    assert pipe.getvalue() == ""


@pytest.fixture
def sqlite_store_gateway(sqlite_database_url: str) -> Iterator[tuple[str, str]]:
    """A store on SQLite and a gateway over it: (database URL, gateway base URL)."""
    with Store.open(sqlite_database_url) as store, serve_gateway(store) as running:
        yield sqlite_database_url, running.base


@pytest.mark.vllm
@pytest.mark.timeout(1200)
def test_a_real_vllm_shows_ready_with_its_dialect(
    sqlite_store_gateway: tuple[str, str], vllm: VllmServer, tmp_path: Path
) -> None:
    database, base = sqlite_store_gateway
    config = llm_file(tmp_path, ("vllm", vllm.url, vllm.model))
    code, out = run_status(
        "--url", base, "--database-url", database, "--llm-config", str(config), "-o", "json"
    )
    assert code == 0, out
    (provider,) = json.loads(out)["llm"]
    assert (provider["ok"], provider["state"], provider["dialect"]) == (True, "ready", "vllm")
