"""Apply as real processes on both stores: concurrent applies serialize, lock timeouts, kill -9 mid-apply."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from mcpctl.reconciler import STEP_DELAY_ENV
from mcpctl.store import COMMIT_DELAY_ENV, Store, hash_token

MCPCTL = str(Path(sys.executable).with_name("mcpctl"))


def write_users(directory: Path, prefix: str, count: int) -> Path:
    directory.mkdir(parents=True)
    docs = [
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "User",
            "metadata": {"name": f"{prefix}-{i}"},
            "spec": {"email": f"{prefix}{i}@example.com"},
        }
        for i in range(count)
    ]
    (directory / "users.yaml").write_text(yaml.safe_dump_all(docs))
    return directory


def start_apply(url: str, path: Path, *extra: str, delay: float = 0.0) -> subprocess.Popen[str]:
    env = {**os.environ, STEP_DELAY_ENV: str(delay)}
    return subprocess.Popen(
        [MCPCTL, "apply", "-f", str(path), "--yes", "--database-url", url, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], needle: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if needle in line:
            return
    raise AssertionError(
        f"{needle!r} never printed; stderr: {process.stderr.read() if process.stderr else ''}"
    )


def names(url: str) -> set[str]:
    store = Store.open(url)
    try:
        return {item.identity.name for item in store.list_resources()}
    finally:
        store.close()


def test_two_concurrent_applies_serialize_and_lose_nothing(database_url: str, tmp_path: Path) -> None:
    Store.open(database_url).close()  # migrate once, so the two processes do not race on it
    a = start_apply(database_url, write_users(tmp_path / "a", "a", 20), delay=0.03)
    b = start_apply(database_url, write_users(tmp_path / "b", "b", 20), delay=0.03)
    _out_a, err_a = a.communicate(timeout=120)
    _out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert names(database_url) == {f"a-{i}" for i in range(20)} | {f"b-{i}" for i in range(20)}
    store = Store.open(database_url)
    try:
        history = store.history()
    finally:
        store.close()
    assert len(history) == 2 and history[0].generation != history[1].generation


def test_second_apply_waits_then_fails_clearly_on_lock_timeout(database_url: str, tmp_path: Path) -> None:
    Store.open(database_url).close()
    # 20 steps of 0.5 s: the lock is held ~10 s, longer than a second CLI takes to start on a loaded machine.
    slow = start_apply(database_url, write_users(tmp_path / "a", "a", 20), delay=0.5)
    wait_for_line(slow, "Plan:")
    time.sleep(1.0)  # the slow apply now holds the lock
    started = time.monotonic()
    quick = subprocess.run(
        [
            MCPCTL,
            "apply",
            "-f",
            str(write_users(tmp_path / "b", "b", 1)),
            "--yes",
            "--database-url",
            database_url,
            "--lock-timeout",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    waited = time.monotonic() - started
    assert slow.poll() is None, "the slow apply ended before the second one asked for the lock"
    assert quick.returncode == 1
    assert "lock" in quick.stderr.lower() and "Traceback" not in quick.stderr
    assert waited < 30
    slow.communicate(timeout=120)
    assert slow.returncode == 0
    assert names(database_url) == {f"a-{i}" for i in range(20)}


def _writer_holds_row_locks(url: str, pid_other_than: int | None = None) -> bool:
    """PostgreSQL: another backend holds a row-write lock on the users table (its INSERTs ran)."""
    import psycopg

    schema = re.search(r"search_path%3D(\w+)", url)
    assert schema is not None
    with psycopg.connect(url.split("?")[0]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'users' AND l.mode = 'RowExclusiveLock' "
            "AND l.pid <> pg_backend_pid()",
            (schema.group(1),),
        ).fetchone()
    return row is not None and row[0] > 0


def test_kill_9_mid_apply_leaves_store_fully_before(database_url: str, tmp_path: Path) -> None:
    first = write_users(tmp_path / "v1", "u", 5)
    done = subprocess.run(
        [MCPCTL, "apply", "-f", str(first), "--yes", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    before = names(database_url)
    second = tmp_path / "v2"
    second.mkdir()
    # Same source path (so u-* would be pruned) with 40 other users: deletes and creates in one apply.
    (first / "users.yaml").rename(second / "old.yaml")
    write_users(first / "more", "v", 40)
    victim = subprocess.Popen(
        [MCPCTL, "apply", "-f", str(first), "--yes", "--database-url", database_url],
        env={**os.environ, COMMIT_DELAY_ENV: "30"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Killed once every row is written to the database (deletes and inserts ran), before the commit.
    assert victim.stderr is not None
    line = victim.stderr.readline()
    assert f"{COMMIT_DELAY_ENV}: rows written" in line, line + victim.stderr.read()
    if database_url.startswith("postgresql"):
        assert _writer_holds_row_locks(database_url)  # seen from outside: the INSERTs reached the server
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert names(database_url) == before
    # The lock died with the process: the next apply goes through and reaches the full "after".
    redo = subprocess.run(
        [MCPCTL, "apply", "-f", str(first), "--yes", "--database-url", database_url, "--lock-timeout", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert redo.returncode == 0, redo.stderr
    assert names(database_url) == {f"v-{i}" for i in range(40)}


def write_token(directory: Path, expires: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    docs = [
        {"apiVersion": "mcpctl.dev/v1", "kind": "Project", "metadata": {"name": "team"}, "spec": {}},
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "McpToken",
            "metadata": {"name": "ci", "project": "team"},
            "spec": {"expires": expires},
        },
    ]
    (directory / "all.yaml").write_text(yaml.safe_dump_all(docs))
    return directory


def accepted_by(url: str, path: Path) -> bool:
    """True when the token file holds a value the store accepts for team/ci."""
    store = Store.open(url)
    try:
        record = store.find_token(hash_token(path.read_text().strip()))
    finally:
        store.close()
    return record is not None and record.name == "ci" and record.is_valid()


def interrupt_token_replacement(url: str, tmp_path: Path, signum: int) -> tuple[Path, str]:
    """Apply a token, then kill the apply that replaces it once the new value is staged beside it."""
    source, out = write_token(tmp_path / "repo", "30d"), tmp_path / "tokens"
    done = subprocess.run(
        [MCPCTL, "apply", "-f", str(source), "--yes", "--database-url", url, "--token-output", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    path = out / "team.ci.token"
    old = path.read_text()
    write_token(source, "never")  # an immutable field: the token is replaced (revoke + new value)
    victim = start_apply(url, source, "--token-output", str(out), delay=3.0)
    deadline = time.monotonic() + 60
    # The new value is written (beside the old file, or, as older versions did, over it) mid-transaction.
    while not (out / "team.ci.token.new").exists() and path.read_text() == old:
        assert victim.poll() is None and time.monotonic() < deadline, "the new value was never written"
        time.sleep(0.02)
    victim.send_signal(signum)
    victim.communicate(timeout=30)
    assert victim.returncode != 0
    return path, old


def test_ctrl_c_mid_token_replacement_keeps_a_working_token_file(database_url: str, tmp_path: Path) -> None:
    path, old = interrupt_token_replacement(database_url, tmp_path, signal.SIGINT)
    assert path.read_text() == old and accepted_by(database_url, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["team.ci.token"]


def test_kill_9_mid_token_replacement_keeps_a_working_token_file(database_url: str, tmp_path: Path) -> None:
    path, old = interrupt_token_replacement(database_url, tmp_path, signal.SIGKILL)
    assert path.read_text() == old and accepted_by(database_url, path)
    # The staged value the store never saved is left beside it; the next apply replaces it.
    redo = subprocess.run(
        [MCPCTL, "apply", "-f", str(tmp_path / "repo"), "--yes", "--database-url", database_url,
         "--token-output", str(path.parent), "--lock-timeout", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert redo.returncode == 0, redo.stderr
    assert path.read_text() != old and accepted_by(database_url, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["team.ci.token"]
