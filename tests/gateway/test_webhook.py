"""The reconcile webhook over real HTTP: GitHub HMAC signatures, GitLab tokens, 401 on anything else."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcpctl.errors import UsageError
from mcpctl.gateway import WebhookConfig, webhook_app, webhook_signature
from mcpctl.gateway._webhook import verify_signature

from .gateway_harness import serve_asgi

SECRET = "It's a Secret to Everybody"
SIGNATURE = "X-Hub-Signature-256"


class Served:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def trigger(self) -> None:
        with self.lock:
            self.calls += 1


@pytest.fixture
def served() -> Iterator[tuple[str, Served]]:
    target = Served()
    app = webhook_app(WebhookConfig(secret=SECRET, trigger=target.trigger))
    with serve_asgi(app, lifespan="on") as url:
        yield url, target


def test_github_documented_example_signature() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert webhook_signature(SECRET, b"Hello, World!") == expected
    assert verify_signature(SECRET, b"Hello, World!", expected)
    assert not verify_signature(SECRET, b"Hello, World?", expected)
    assert not verify_signature(SECRET, b"Hello, World!", expected.replace("sha256=", "sha1="))
    assert not verify_signature(SECRET, b"Hello, World!", None)


def test_signed_push_triggers_a_run(served: tuple[str, Served]) -> None:
    url, target = served
    body = b'{"ref": "refs/heads/main", "after": "abc"}'
    response = httpx.post(
        f"{url}/api/v1/reconcile",
        content=body,
        headers={"X-Hub-Signature-256": webhook_signature(SECRET, body), "X-GitHub-Event": "push"},
    )
    assert response.status_code == 202
    assert response.json() == {"triggered": True, "event": "push"}
    assert target.calls == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": webhook_signature("wrong secret", b"{}")},
        {"X-Hub-Signature-256": "sha1=" + hmac.new(SECRET.encode(), b"{}", hashlib.sha1).hexdigest()},
        {"X-Gitlab-Token": "wrong"},
    ],
)
def test_bad_or_missing_signature_is_401_and_triggers_nothing(
    served: tuple[str, Served], headers: dict[str, str]
) -> None:
    url, target = served
    response = httpx.post(f"{url}/api/v1/reconcile", content=b"{}", headers=headers)
    assert response.status_code == 401
    assert SECRET not in response.text
    assert target.calls == 0


def test_signature_covers_the_exact_body(served: tuple[str, Served]) -> None:
    url, target = served
    headers = {"X-Hub-Signature-256": webhook_signature(SECRET, b'{"a": 1}')}
    response = httpx.post(f"{url}/api/v1/reconcile", content=b'{"a": 2}', headers=headers)
    assert response.status_code == 401
    assert target.calls == 0


def test_gitlab_token_and_github_ping(served: tuple[str, Served]) -> None:
    url, target = served
    headers = {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"}
    response = httpx.post(f"{url}/api/v1/reconcile", content=b"{}", headers=headers)
    assert response.status_code == 202 and target.calls == 1
    body = b'{"zen": "Keep it logically awesome."}'
    ping = httpx.post(
        f"{url}/api/v1/reconcile",
        content=body,
        headers={"X-Hub-Signature-256": webhook_signature(SECRET, body), "X-GitHub-Event": "ping"},
    )
    assert ping.status_code == 202 and ping.json()["triggered"] is False
    assert target.calls == 1
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_secret_is_required_and_never_in_repr() -> None:
    with pytest.raises(UsageError, match="needs a secret"):
        WebhookConfig(secret="", trigger=lambda: None)
    assert SECRET not in repr(WebhookConfig(secret=SECRET, trigger=lambda: None))


def test_router_mounts_in_the_gateway_beside_the_admin_api(sqlite_database_url: str, tmp_path: Path) -> None:
    from mcpctl.gateway import GatewayConfig, create_app
    from mcpctl.gateway._metrics import Gauge
    from mcpctl.gateway._webhook import webhook_router
    from mcpctl.reconciler._status import (
        ReconcileStatus,
        reconcile_metric_families,
        status_path,
        write_status,
    )

    target = Served()
    config = GatewayConfig(
        database_url=sqlite_database_url,
        extra_routers=[webhook_router(WebhookConfig(secret=SECRET, trigger=target.trigger))],
    )
    with serve_asgi(create_app(config), lifespan="on") as url:
        body = b'{"ref": "refs/heads/main"}'
        assert httpx.post(f"{url}/api/v1/reconcile", content=body).status_code == 401
        signed = httpx.post(
            f"{url}/api/v1/reconcile", content=body, headers={SIGNATURE: webhook_signature(SECRET, body)}
        )
        assert signed.status_code == 202 and target.calls == 1
        assert "/api/v1/reconcile" in httpx.get(f"{url}/schema/openapi.json").text

    # The reconciler's status, as the gateway's /metrics renders it.
    status = ReconcileStatus(
        source="https://***@git.example/r.git",
        state="in-sync",
        last_revision="abc",
        drift_count=3,
        last_pass_at="2026-01-01T00:00:00+00:00",
    )
    write_status(status, status_path(status.source, tmp_path))
    text = "\n".join(
        line
        for name, help_text, collect in reconcile_metric_families(tmp_path)
        for line in Gauge(name, help_text, collect).render()
    )
    assert 'mcpctl_reconcile_drift_resources{source="https://***@git.example/r.git"} 3' in text
    assert (
        'mcpctl_reconcile_info{revision="abc",source="https://***@git.example/r.git",state="in-sync"} 1'
        in text
    )
    assert (
        'mcpctl_reconcile_last_pass_timestamp_seconds{source="https://***@git.example/r.git"} 1767225600'
        in text
    )


def test_serve_reconciles_and_the_webhook_triggers_it(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    import git

    from mcpctl.schemas import Identity
    from mcpctl.store import Store

    def user(name: str) -> str:
        spec = f"spec: {{email: {name}@x.io}}\n"
        return f"apiVersion: mcpctl.dev/v1\nkind: User\nmetadata: {{name: {name}}}\n{spec}"

    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    users = tmp_path / "repo" / "users.yaml"
    users.write_text(user("alice"))
    repo.index.add(["users.yaml"])
    repo.index.commit("first")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "MCPCTL_WEBHOOK_SECRET": SECRET, "MCPCTL_CACHE_DIR": str(tmp_path / "cache")}
    command = [
        str(Path(sys.executable).parent / "mcpctl"),
        "serve",
        "--port",
        str(port),
        "--database-url",
        database,
    ]
    command += ["--reconcile-repo", str(tmp_path / "repo"), "--reconcile-interval", "1h"]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    store = Store.open(database)
    url = f"http://127.0.0.1:{port}/api/v1/reconcile"

    def has(name: str) -> bool:
        return store.get_resource(Identity("User", None, name)) is not None

    try:
        deadline = time.monotonic() + 30
        while not has("alice"):
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.05)
        users.write_text(user("bob"))
        repo.index.add(["users.yaml"])
        repo.index.commit("second")
        time.sleep(1.0)
        assert not has("bob")  # the interval is an hour and the gateway does not watch files
        body = b"{}"
        assert (
            httpx.post(url, content=body, headers={SIGNATURE: webhook_signature("nope", body)}).status_code
            == 401
        )
        assert (
            httpx.post(url, content=body, headers={SIGNATURE: webhook_signature(SECRET, body)}).status_code
            == 202
        )
        deadline = time.monotonic() + 5
        while not has("bob"):
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.05)
    finally:
        store.close()
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert SECRET not in (tmp_path / "serve.log").read_text()
