"""`mcpctl serve` as a real process: serves a filled store, answers `mcpctl test mcp`, stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.gateway_harness import (
    INITIALIZE,
    TOY,
    create_token,
    free_port,
    is_alive,
    project_doc,
    put,
    server_doc,
    toy_spec,
    wait_for_port,
    wait_healthy,
)
from mcpctl.store import Store

MCPCTL = str(Path(sys.executable).parent / "mcpctl")


def test_serve_answers_test_mcp_and_stops_its_upstreams(sqlite_database_url: str, tmp_path: Path) -> None:
    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"], instructions="Hi."))
        token = create_token(store, "demo", "cli")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    env.pop("MCPCTL_TOKEN", None)
    serve = subprocess.Popen(
        # A long list deadline: the toy upstream's cold start is what this test waits for, not the deadline.
        [MCPCTL, "serve", "--port", str(port), "--log-level", "warning", "--list-deadline", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, serve)
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert "# TYPE mcpctl_reconcile_drift_resources gauge" in metrics  # the reconciler's status gauges
        checked = subprocess.run(
            [
                MCPCTL,
                "test",
                "mcp",
                f"{base}/projects/demo/mcp",
                "--tool",
                "toy__pid",
                "-o",
                "json",
                "--expect-tools",
                "toy__echo,toy__add",
            ],
            env={**env, "MCPCTL_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert [step["name"] for step in report["steps"]] == [
            "initialize",
            "tools/list",
            "expect-tools",
            "tools/call toy__pid",
        ]
        upstream_pid = int(report["steps"][-1]["detail"])
        assert is_alive(upstream_pid)
        assert token not in checked.stdout + checked.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            _, stderr = serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it was SIGTERM.
    assert serve.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr
    assert token not in stderr
    deadline = time.monotonic() + 5
    while is_alive(upstream_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(upstream_pid), "the upstream outlived the gateway"


@pytest.mark.parametrize(
    ("flags", "content_type"), [([], "application/json"), (["--sse-responses"], "text/event-stream")]
)
def test_answers_are_plain_json_unless_sse_responses_is_given(
    sqlite_database_url: str, flags: list[str], content_type: str
) -> None:
    with Store.open(sqlite_database_url) as store:
        put(store, project_doc("demo", []))
        token = create_token(store, "demo", "cli")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    serve = subprocess.Popen(
        [MCPCTL, "serve", "--port", str(port), "--log-level", "warning", *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base, serve)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
        answer = httpx.post(f"{base}/projects/demo/mcp", json=INITIALIZE, headers=headers, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"].split(";")[0] == content_type
        assert '"serverInfo"' in answer.text
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_serve_refuses_no_auth_off_loopback(sqlite_database_url: str, host: str) -> None:
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    refused = subprocess.run(
        [MCPCTL, "serve", "--host", host, "--no-auth"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "loopback" in refused.stderr and "Traceback" not in refused.stderr


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


def test_every_log_line_has_one_format_and_probes_are_quiet(tmp_path: Path) -> None:
    # A new store (so alembic migrates it) and an HTTP upstream probed every second.
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upstream_port = free_port()
    toy = subprocess.Popen(
        [sys.executable, str(TOY), "--transport", "streamable-http", "--port", str(upstream_port)]
    )
    port = free_port()
    try:
        wait_for_port(upstream_port, toy)
        spec = {"transport": "streamable-http", "url": f"http://127.0.0.1:{upstream_port}/mcp"}
        serve = subprocess.Popen(
            [MCPCTL, "serve", "--port", str(port), "--database-url", url],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", serve)
            with Store.open(url) as store:
                put(store, server_doc("web", {**spec, "healthCheck": {"intervalSeconds": 1}}))
                put(store, project_doc("demo", ["web"]))
                create_token(store, "demo", "t")
            time.sleep(4)  # a few probes
        finally:
            serve.send_signal(signal.SIGTERM)
            _, stderr = serve.communicate(timeout=30)
    finally:
        toy.terminate()
        toy.wait(10)
    lines = [line for line in stderr.splitlines() if not line.startswith("mcpctl gateway on ")]
    assert any("alembic.runtime.migration: Running upgrade" in line for line in lines)
    assert any(" uvicorn.error: " in line for line in lines)
    assert [line for line in lines if not LOG_LINE.match(line)] == []
    assert "HTTP Request:" not in stderr  # httpx/httpx2 say it at INFO for every probe


@pytest.mark.parametrize(
    ("value", "per_minute"), [("60", 60), ("60/min", 60), ("2/s", 120), ("0", 0), (" 5 / m ", 5)]
)
def test_rate_limit_values_are_requests_per_minute(value: str, per_minute: int) -> None:
    from mcpctl.cli._serve import RATE

    assert RATE.convert(value, None, None) == per_minute


@pytest.mark.parametrize("value", ["x", "5/h", "-1", "1.5", "20000000"])
def test_bad_rate_limits_are_refused_before_serving(value: str) -> None:
    from click.testing import CliRunner

    from mcpctl.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--rate-limit-per-token", value])
    assert result.exit_code == 2
    assert "Invalid value for '--rate-limit-per-token'" in result.output


def test_serve_writes_the_audit_trail_prunes_it_and_flushes_on_sigterm(sqlite_database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from mcpctl.store import AuditEvent, AuditQuery

    with Store.open(sqlite_database_url) as store:
        put(store, server_doc("toy", toy_spec()), project_doc("demo", ["toy"]))
        token = create_token(store, "demo", "cli")
        old = datetime.now(UTC) - timedelta(days=40)
        store.write_audit_events([AuditEvent("tool_call", time=old, project="demo", correlation_id="old")])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    serve = subprocess.Popen(
        [MCPCTL, "serve", "--port", str(port), "--log-level", "warning", "--audit-retention", "30d"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, serve, timeout=90)  # a loaded machine imports slowly
        checked = subprocess.run(
            [MCPCTL, "test", "mcp", f"{base}/projects/demo/mcp", "--tool", "toy__pid"],
            env={**env, "MCPCTL_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        # Straight after the call: what is still queued must be written on the way out.
        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=30)
    assert "Traceback" not in stderr
    with Store.open(sqlite_database_url) as store:
        events = store.query_audit(AuditQuery(project="demo"))
        last_used = store.tokens_last_used("demo")
    kinds = [event.kind for event in events]
    assert "old" not in [event.correlation_id for event in events], "the 40-day-old event was pruned"
    assert kinds.count("tool_call") == 1 and "session_open" in kinds
    assert ("demo", "cli") in last_used


def test_serve_refuses_a_bad_audit_retention(sqlite_database_url: str) -> None:
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    refused = subprocess.run(
        [MCPCTL, "serve", "--audit-retention", "forever"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "--audit-retention" in refused.stderr and "bad duration" in refused.stderr


def test_nothing_secret_reaches_the_log_even_at_debug(sqlite_database_url: str) -> None:
    """Upstream URL credentials, literal secret headers, tokens (good and bad) and tool arguments: a real
    `serve --log-level debug` with an HTTP upstream and a real client, then its whole stderr is searched."""
    secrets = {
        "userinfo": "UPW-secret-1",
        "query": "QRY-secret-2",
        "header": "HDR-secret-3",
        "argument": "ARG-secret-4",
        "bad token": "mcpctl_pat_BADsecret5",
    }
    upstream_port = free_port()
    toy = subprocess.Popen(
        [sys.executable, str(TOY), "--transport", "streamable-http", "--port", str(upstream_port)]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(upstream_port, toy)
        upstream = f"http://mcp:{secrets['userinfo']}@127.0.0.1:{upstream_port}/mcp?token={secrets['query']}"
        spec = {"transport": "streamable-http", "url": upstream, "headers": {"X-Api-Key": secrets["header"]}}
        with Store.open(sqlite_database_url) as store:
            put(store, server_doc("web", spec), project_doc("demo", ["web"]))
            token = create_token(store, "demo", "t")
        serve = subprocess.Popen(
            [
                MCPCTL,
                "serve",
                "--port",
                str(port),
                "--database-url",
                sqlite_database_url,
                "--log-level",
                "debug",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_healthy(base, serve, timeout=90)  # a debug start on a loaded machine is slow
            url = f"{base}/projects/demo/mcp"
            accept = {"Accept": "application/json, text/event-stream"}
            bad = httpx.post(
                url, headers={**accept, "Authorization": f"Bearer {secrets['bad token']}"}, json={}
            )
            assert bad.status_code == 401
            headers = {**accept, "Authorization": f"Bearer {token}"}
            opened = httpx.post(url, headers=headers, json=INITIALIZE, timeout=30)
            headers["mcp-session-id"] = opened.headers["mcp-session-id"]
            httpx.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "web__echo", "arguments": {"text": secrets["argument"]}},
            }
            answer = httpx.post(url, headers=headers, json=call, timeout=30)
            assert secrets["argument"] in answer.text  # it did reach the upstream and back
        finally:
            serve.send_signal(signal.SIGTERM)
            _, stderr = serve.communicate(timeout=30)
    finally:
        toy.terminate()
        toy.wait(10)
    # Debug lines were written, and the upstream's URL was logged (by the HTTP client), masked.
    assert " DEBUG " in stderr and f"http://***@127.0.0.1:{upstream_port}/mcp?token=(sensitive)" in stderr
    leaked = [name for name, value in secrets.items() if value in stderr]
    lines = [line[:300] for line in stderr.splitlines() if any(v in line for v in secrets.values())]
    assert not leaked, f"{leaked} in the log: {lines}"
    assert token not in stderr and token[len("mcpctl_pat_") :] not in stderr


def test_serve_binds_a_bracketed_ipv6_loopback_host(sqlite_database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    serve = subprocess.Popen(
        [MCPCTL, "serve", "--host", "[::1]", "--port", str(port), "--no-auth", "--log-level", "warning"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://[::1]:{port}", serve, timeout=90)
        # The Host header spells the address in brackets, and the admin API accepts it.
        assert httpx.get(f"http://[::1]:{port}/api/v1/projects", timeout=10).status_code == 200
    finally:
        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=30)
    assert "Traceback" not in stderr


def test_the_limit_flags_defaults_are_the_gateways() -> None:
    # Written out in the CLI so that `serve --help` loads no gateway; they must not drift from it.
    from dataclasses import asdict

    from mcpctl.cli._serve_limits import HTTP_DEFAULTS, LIST_DEFAULTS, SESSION_DEFAULTS
    from mcpctl.gateway._config import HttpLimits, ListConfig, SessionConfig

    for defaults, config in (
        (HTTP_DEFAULTS, HttpLimits()),
        (SESSION_DEFAULTS, SessionConfig()),
        (LIST_DEFAULTS, ListConfig()),
    ):
        assert defaults == {name: asdict(config)[name] for name in defaults}


def test_a_taken_port_is_one_clear_error_before_anything_starts(sqlite_database_url: str) -> None:
    env = {**os.environ, "MCPCTL_DATABASE_URL": sqlite_database_url}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        refused = subprocess.run(
            [MCPCTL, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert refused.returncode == 1, refused.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n" in refused.stderr
    # Said before the gateway starts: no startup, no upstream, no traceback.
    assert "startup" not in refused.stderr and "mcpctl gateway on" not in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("host", "shown"),
    [("127.0.0.1", "127.0.0.1"), ("localhost", "localhost"), ("::1", "[::1]"), ("[::1]", "[::1]")],
)
def test_the_announced_url_brackets_an_ipv6_host(host: str, shown: str) -> None:
    from mcpctl.cli._serve import _url_host

    assert _url_host(host) == shown
