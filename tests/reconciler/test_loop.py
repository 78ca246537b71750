"""The continuous reconciler: in-process passes on both stores, and `mcpctl reconcile` as a real subprocess.

The subprocess test takes a PostgreSQL database of its own "down" with `ALLOW_CONNECTIONS false` (and
its sessions terminated), which keeps the data, like a real outage; SQLite cannot be taken away from an
open connection (a moved file stays usable through its inode, and the suite runs as root, so chmod does
not lock anyone out).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest

from gateway.gateway_harness import free_port
from mcpctl.errors import StoreError
from mcpctl.gateway import webhook_signature
from mcpctl.reconciler._git import GitSource
from mcpctl.reconciler._loop import LoopConfig, ReconcileLoop
from mcpctl.reconciler._status import ReconcileStatus
from mcpctl.schemas import CLI_MANAGER, Identity, parse_resource
from mcpctl.store import Store

from ._remote import Remote

POSTGRES = os.environ.get("MCPCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MCPCTL = [str(Path(sys.executable).parent / "mcpctl")]


def user_doc(name: str, email: str | None = None) -> str:
    return (
        "apiVersion: mcpctl.dev/v1\nkind: User\n"
        f"metadata:\n  name: {name}\nspec:\n  email: {email or name + '@example.com'}\n"
    )


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except StoreError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def emails(store: Store) -> dict[str, str]:
    return {item.identity.name: item.resource.spec.email for item in store.list_resources("User")}  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPCTL_CACHE_DIR", str(tmp_path / "cache"))
    # CLI tests in this process may have pointed the loop's logger at their own handler only.
    import logging

    logger = logging.getLogger("mcpctl.reconcile")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)


def make_loop(remote: Remote, store: Store, tmp_path: Path, **config: object) -> ReconcileLoop:
    return ReconcileLoop(
        GitSource(str(remote.bare), ref="main"),
        lambda: store,
        LoopConfig(interval=0.2, **config),  # type: ignore[arg-type]
        status_file=tmp_path / "status.json",
        ref="main",
    )


def test_pass_applies_new_commits_and_reverts_drift(remote: Remote, store: Store, tmp_path: Path) -> None:
    first = remote.publish({"users.yaml": user_doc("alice") + "---\n" + user_doc("bob")})
    loop = make_loop(remote, store, tmp_path)
    result = loop.run_once()
    assert result.ok and result.applied and result.revision == first
    assert emails(store) == {"alice": "alice@example.com", "bob": "bob@example.com"}
    assert store.history(limit=1)[0].revision == first
    assert {item.source_revision for item in store.list_resources("User")} == {first}

    # Nothing moved: a pass does nothing (and does not even plan).
    generation = store.generation()
    assert loop.run_once() == type(result)(ok=True, revision=first)
    assert store.generation() == generation

    second = remote.publish({"users.yaml": user_doc("alice", "a@new.example") + "---\n" + user_doc("carol")})
    result = loop.run_once()
    assert result.applied and result.drift == 0 and result.revision == second
    assert emails(store) == {"alice": "a@new.example", "carol": "carol@example.com"}

    # Drift: a managed resource changed and another deleted outside git; a CLI-made one added.
    with store.transaction() as tx:
        tx.put(parse_resource(yaml_user("alice", "hijacked@example.com")), managed_by=CLI_MANAGER)
        tx.delete(Identity("User", None, "carol"))
        tx.put(parse_resource(yaml_user("dave", "dave@example.com")), managed_by=CLI_MANAGER)
    result = loop.run_once()
    assert result.applied and result.drift == 2
    assert emails(store) == {
        "alice": "a@new.example",
        "carol": "carol@example.com",
        "dave": "dave@example.com",
    }
    status = ReconcileStatus.from_json((tmp_path / "status.json").read_text())
    assert status.drift_count == 2 and status.last_revision == second and status.last_error is None


def yaml_user(name: str, email: str) -> dict[str, object]:
    return {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": email},
    }


def test_invalid_commit_keeps_the_last_good_state(remote: Remote, store: Store, tmp_path: Path) -> None:
    good = remote.publish({"users.yaml": user_doc("alice")})
    loop = make_loop(remote, store, tmp_path)
    assert loop.run_once().applied
    bad = remote.publish({"users.yaml": user_doc("alice", "not-an-email") + "---\n" + user_doc("bob")})
    result = loop.run_once()
    assert not result.ok
    assert emails(store) == {"alice": "alice@example.com"}
    status = ReconcileStatus.from_json((tmp_path / "status.json").read_text())
    assert status.last_revision == good and status.state == "failing"
    assert (
        status.last_error is not None and f"invalid desired state at commit {bad[:12]}" in status.last_error
    )
    assert "users.yaml:" in status.last_error  # the problem names the file inside the repository

    # Drift is still repaired from the last good commit while the branch is broken.
    with store.transaction() as tx:
        tx.delete(Identity("User", None, "alice"))
    assert loop.run_once().drift == 1
    assert emails(store) == {"alice": "alice@example.com"}

    fixed = remote.publish({"users.yaml": user_doc("alice") + "---\n" + user_doc("bob")})
    result = loop.run_once()
    assert result.ok and result.revision == fixed
    assert emails(store) == {"alice": "alice@example.com", "bob": "bob@example.com"}


def test_dry_run_reports_and_applies_nothing(remote: Remote, store: Store, tmp_path: Path) -> None:
    remote.publish({"users.yaml": user_doc("alice")})
    loop = make_loop(remote, store, tmp_path, dry_run=True)
    for _ in range(3):
        result = loop.run_once()
        assert result.ok and not result.applied and result.drift == 0
    assert store.list_resources() == []
    assert loop.status.state == "pending" and loop.status.drift_count == 0

    assert make_loop(remote, store, tmp_path).run_once().applied
    assert loop.run_once().ok and loop.status.state == "in-sync"
    with store.transaction() as tx:
        tx.delete(Identity("User", None, "alice"))
    for _ in range(3):
        assert loop.run_once().drift == 1
    assert loop.status.state == "drift-found" and loop.status.drift_count == 1  # counted once
    assert store.list_resources() == []


def test_unreachable_repository_fails_the_pass_and_backs_off(store: Store, tmp_path: Path) -> None:
    loop = ReconcileLoop(
        GitSource(str(tmp_path / "missing.git")),
        lambda: store,
        LoopConfig(interval=8, backoff_initial=1),
        status_file=tmp_path / "status.json",
    )
    delays = []
    for _ in range(5):
        assert not loop.run_once().ok
        delays.append(loop._backoff())
    assert delays == [1, 2, 4, 8, 8]
    assert loop.status.consecutive_failures == 5
    assert "cannot fetch" in (loop.status.last_error or "")


# --- the loop as a real process -------------------------------------------------------------


@pytest.fixture
def outage_database() -> Iterator[str]:
    """A PostgreSQL database of the test's own, so it can be made unreachable and back again."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {error}")
    name = f"mcpctl_loop_{secrets.token_hex(4)}"
    admin.execute(f"CREATE DATABASE {name}")
    base, _, _ = POSTGRES.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def set_database_up(url: str, up: bool) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'true' if up else 'false'}")
        if not up:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


def start_loop(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    log = (tmp_path / "reconcile.log").open("w")
    return subprocess.Popen(
        [*MCPCTL, "reconcile", *args, "--status-file", str(tmp_path / "status.json")],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MCPCTL_CACHE_DIR": str(tmp_path / "cache"), **env},
    )


def stop_loop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def read_status(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_reconcile_process_converges_repairs_drift_and_survives_bad_commits_and_outages(
    remote: Remote, outage_database: str, tmp_path: Path
) -> None:
    first = remote.publish({"users.yaml": user_doc("alice") + "---\n" + user_doc("bob")})
    process = start_loop(
        [
            "--repo",
            str(remote.bare),
            "--ref",
            "main",
            "--interval",
            "300ms",
            "--database-url",
            outage_database,
        ],
        tmp_path,
    )
    store = Store.open(outage_database)
    try:
        wait_until(lambda: set(emails(store)) == {"alice", "bob"}, what="first convergence")
        assert store.history(limit=1)[0].revision == first

        # A new commit is picked up by polling.
        remote.publish({"users.yaml": user_doc("alice", "alice@new.example") + "---\n" + user_doc("carol")})
        wait_until(
            lambda: emails(store) == {"alice": "alice@new.example", "carol": "carol@example.com"},
            what="commit",
        )

        # Drift made with the CLI is reverted; a CLI-created resource not in git is left alone.
        cli_env = {**os.environ, "MCPCTL_DATABASE_URL": outage_database}
        subprocess.run(
            [*MCPCTL, "delete", "user", "carol", "--force"], env=cli_env, check=True, capture_output=True
        )
        subprocess.run(
            [*MCPCTL, "create", "user", "dave", "--email", "dave@example.com"],
            env=cli_env,
            check=True,
            capture_output=True,
        )
        wait_until(lambda: "carol" in emails(store), what="drift repair")
        time.sleep(1.0)
        assert "dave" in emails(store)
        wait_until(lambda: int(read_status(tmp_path).get("drift_count", 0)) >= 1, what="drift in status")

        # An invalid commit: logged, the store keeps the last good state, a fix converges again.
        bad = remote.publish({"users.yaml": user_doc("alice", "broken") + "---\n" + user_doc("erin")})
        wait_until(lambda: bad[:12] in str(read_status(tmp_path).get("last_error")), what="invalid commit")
        assert "erin" not in emails(store)
        remote.publish({"users.yaml": user_doc("alice", "alice@new.example") + "---\n" + user_doc("erin")})
        wait_until(lambda: "erin" in emails(store), what="fixed commit")

        # The database goes away; a commit lands meanwhile; the loop reports, backs off, then catches up.
        store.close()
        set_database_up(outage_database, False)
        later = remote.publish({"users.yaml": user_doc("frank")})
        wait_until(lambda: "store" in str(read_status(tmp_path).get("last_error")), what="outage noticed")
        time.sleep(1.0)
        set_database_up(outage_database, True)
        store = Store.open(outage_database)
        wait_until(lambda: set(emails(store)) == {"frank", "dave"}, timeout=20, what="recovery")
        assert store.history(limit=1)[0].revision == later
        wait_until(lambda: read_status(tmp_path).get("last_error") is None, what="error cleared")
    finally:
        store.close()
        code = stop_loop(process)
    log = (tmp_path / "reconcile.log").read_text()
    assert code == 0, log
    assert "drift:" in log and "User/carol" in log
    assert "invalid desired state at commit" in log
    assert "reverted drift back to commit" in log
    assert "reconcile failed: store " in log and "not currently accepting connections" in log
    assert read_status(tmp_path)["state"] == "stopped"
    assert "Traceback" not in log


def test_webhook_and_watcher_wake_the_loop_at_once(remote: Remote, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'store.db'}"
    remote.publish({"users.yaml": user_doc("alice")})
    port = free_port()
    process = start_loop(
        [
            "--repo",
            str(remote.bare),
            "--interval",
            "1h",
            "--database-url",
            database,
            "--no-watch",
            "--webhook-listen",
            f"127.0.0.1:{port}",
        ],
        tmp_path,
        MCPCTL_WEBHOOK_SECRET="hook-secret",
    )
    store = Store.open(database)
    try:
        wait_until(lambda: set(emails(store)) == {"alice"}, what="first pass")
        wait_until(lambda: _healthy(port), what="webhook server")
        remote.publish({"users.yaml": user_doc("bob")})
        body = b'{"ref": "refs/heads/main"}'
        bad = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/reconcile",
            content=body,
            headers={"X-Hub-Signature-256": webhook_signature("wrong", body)},
        )
        assert bad.status_code == 401
        time.sleep(0.5)
        assert set(emails(store)) == {"alice"}
        started = time.monotonic()
        good = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/reconcile",
            content=body,
            headers={"X-Hub-Signature-256": webhook_signature("hook-secret", body)},
        )
        assert good.status_code == 202
        wait_until(lambda: set(emails(store)) == {"bob"}, timeout=5, what="webhook-triggered pass")
        assert time.monotonic() - started < 3
    finally:
        store.close()
        assert stop_loop(process) == 0
    assert "hook-secret" not in (tmp_path / "reconcile.log").read_text()


def test_local_repository_is_watched(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "local", initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    (tmp_path / "local" / "users.yaml").write_text(user_doc("alice"))
    repo.index.add(["users.yaml"])
    repo.index.commit("first")
    database = f"sqlite:///{tmp_path / 'store.db'}"
    process = start_loop(
        ["--repo", str(tmp_path / "local"), "--interval", "1h", "--database-url", database], tmp_path
    )
    store = Store.open(database)
    try:
        wait_until(lambda: set(emails(store)) == {"alice"}, what="first pass")
        (tmp_path / "local" / "users.yaml").write_text(user_doc("bob"))
        repo.index.add(["users.yaml"])
        repo.index.commit("second")
        wait_until(lambda: set(emails(store)) == {"bob"}, timeout=5, what="watch-triggered pass")
    finally:
        store.close()
        assert stop_loop(process) == 0


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_file_source_edits_are_changes_and_store_edits_are_drift(store: Store, tmp_path: Path) -> None:
    from mcpctl.reconciler._sources import FileSource

    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "users.yaml").write_text(user_doc("alice"))
    loop = ReconcileLoop(
        FileSource((str(folder),)), lambda: store, LoopConfig(interval=1), status_file=tmp_path / "s.json"
    )
    assert loop.run_once().applied
    (folder / "users.yaml").write_text(user_doc("alice", "alice@new.example"))
    result = loop.run_once()
    assert result.applied and result.drift == 0  # the files changed: not drift
    with store.transaction() as tx:
        tx.put(parse_resource(yaml_user("alice", "edited@example.com")), managed_by=CLI_MANAGER)
    result = loop.run_once()
    assert result.applied and result.drift == 1
    assert emails(store) == {"alice": "alice@new.example"}


def test_file_source_with_global_and_project_resources_of_one_kind(store: Store, tmp_path: Path) -> None:
    from mcpctl.reconciler._sources import FileSource

    loop = ReconcileLoop(
        FileSource((str(Path(__file__).parents[2] / "examples" / "config-repo"),)),
        lambda: store,
        LoopConfig(interval=1),
        status_file=tmp_path / "s.json",
    )
    assert loop.run_once().applied
    projects = {item.identity.project for item in store.list_resources("RoleBinding")}
    assert None in projects and len(projects) > 1


def test_watchers_follow_the_kind_of_source(tmp_path: Path, remote: Remote) -> None:
    from mcpctl.cli._reconcile import _watcher
    from mcpctl.reconciler._sources import FileSource

    remote.publish({"a.yaml": user_doc("alice")})
    local = _watcher(GitSource(str(remote.bare)), lambda: None)
    assert local is not None and local.paths == [remote.bare.resolve()]
    assert _watcher(GitSource("https://git.example/r.git"), lambda: None) is None
    files = _watcher(FileSource((str(tmp_path), str(tmp_path / "one.yaml"))), lambda: None)
    assert files is not None and files.accept(str(tmp_path / "x" / "s.yaml"))
    assert not files.accept(str(tmp_path / ".hidden.yaml"))


def test_force_push_is_applied_with_a_warning_and_a_deleted_branch_fails_clearly(
    remote: Remote, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = remote.publish({"users.yaml": user_doc("alice")})
    remote.work.git.checkout("-b", "release")
    old = remote.publish({"users.yaml": user_doc("bob")})
    remote.work.git.push("origin", "release")
    loop = ReconcileLoop(
        GitSource(str(remote.bare), ref="release"),
        lambda: store,
        LoopConfig(interval=1),
        status_file=tmp_path / "s.json",
    )
    assert loop.run_once().revision == old
    remote.work.git.reset("--hard", base)
    (Path(remote.work.working_dir) / "users.yaml").write_text(user_doc("carol"))
    remote.work.index.add(["users.yaml"])
    new = remote.work.index.commit("rewritten").hexsha
    remote.work.git.push("--force", "origin", "release")
    with caplog.at_level("WARNING", logger="mcpctl.reconcile"):
        assert loop.run_once().revision == new
    assert f"history rewritten: {old[:12]} is no longer an ancestor of {new[:12]}" in caplog.text
    assert set(emails(store)) == {"carol"}

    remote.work.git.push("origin", ":release")
    assert not loop.run_once().ok
    assert "branch or tag 'release' not found" in (loop.status.last_error or "")
    assert set(emails(store)) == {"carol"}


def test_a_restarted_loop_trusts_history_until_the_store_moves(
    remote: Remote, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = remote.publish({"users.yaml": user_doc("alice")})
    assert make_loop(remote, store, tmp_path).run_once().applied
    restarted = make_loop(remote, store, tmp_path)
    caplog.clear()
    with caplog.at_level("INFO", logger="mcpctl.reconcile"):
        result = restarted.run_once()
        assert result.ok and not result.applied and result.revision == first
        assert restarted.run_once().ok
    assert f"commit {first[:12]} is in sync with the store" in caplog.text
    assert "applying" not in caplog.text and restarted._good is None  # nothing was loaded
    assert restarted.status.state == "in-sync" and restarted.status.last_revision == first

    # Drift after a restart is still drift.
    with store.transaction() as tx:
        tx.delete(Identity("User", None, "alice"))
    assert restarted.run_once().drift == 1
    assert set(emails(store)) == {"alice"}

    # Restarted onto a broken commit: the commit it applied before is the last good state.
    again = make_loop(remote, store, tmp_path)
    assert again.run_once().ok
    remote.publish({"users.yaml": user_doc("alice", "broken")})
    assert not again.run_once().ok
    with store.transaction() as tx:
        tx.delete(Identity("User", None, "alice"))
    assert again.run_once().drift == 1
    assert set(emails(store)) == {"alice"}

    # --prune-all never trusts an apply that may have pruned less.
    assert not make_loop(remote, store, tmp_path, prune_all=True)._left_by_this_source(first)


def test_the_loop_audits_its_applies_and_the_first_failure(
    remote: Remote, store: Store, tmp_path: Path
) -> None:
    first = remote.publish({"users.yaml": user_doc("alice")})
    loop = make_loop(remote, store, tmp_path)
    assert loop.run_once().applied
    with store.transaction() as tx:
        tx.delete(Identity("User", None, "alice"))
    assert loop.run_once().drift == 1
    remote.publish({"users.yaml": "kind: User\n"})
    for _ in range(3):
        assert not loop.run_once().ok
    events = list(reversed(store.query_audit()))
    assert [(e.kind, e.outcome) for e in events] == [
        ("reconcile", "ok"),
        ("apply", "ok"),
        ("reconcile", "ok"),
        ("apply", "ok"),
        ("reconcile", "error"),  # once for the three failed passes
    ]
    applied, repaired, failed = events[0], events[2], events[4]
    assert applied.detail == {"source": str(remote.bare), "commit": first, "drift_repaired": 0, "changes": 1}
    assert applied.correlation_id == events[1].correlation_id
    assert repaired.detail["drift_repaired"] == 1 and repaired.user == "mcpctl-reconcile"
    assert repaired.correlation_id == events[3].correlation_id
    assert "invalid desired state" in str(failed.detail["error"])
