"""The progress line: drawn and then erased on a terminal's stderr, absent on a pipe, never on stdout.

Real `mcpctl` processes: stderr on a pseudo-terminal (the TTY case) or on a pipe.
"""

from __future__ import annotations

import importlib.util
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mcpctl.cli._progress import progress

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
ERASE_LINE = b"\x1b[2K"
"""What rich writes to take a transient line away."""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("validate_bench", BENCH / "validate_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path_factory.mktemp("progress") / "repo"
    bench.generate_repo(path, 400, 20)
    return path


def _drain(leader: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        chunks.append(chunk)


def _run(args: list[str], *, tty: bool) -> tuple[int, bytes, bytes]:
    """Run `mcpctl ARGS` with stdout on a pipe and stderr on a pseudo-terminal (tty) or a pipe."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-c", "from mcpctl.cli import main; main()", *args]
    if not tty:
        done = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env
        )
        os.close(follower)
        chunks: list[bytes] = []
        # Read the terminal in a thread while stdout drains: a full pipe would block the child.
        reader = threading.Thread(target=_drain, args=(leader, chunks))
        reader.start()
        stdout, _ = process.communicate(timeout=120)
        reader.join(timeout=30)
        return process.returncode, stdout, b"".join(chunks)
    finally:
        os.close(leader)


def test_validate_on_a_terminal_shows_a_line_that_goes_away(repo: Path) -> None:
    code, stdout, terminal = _run(["validate", str(repo)], tty=True)
    assert code == 0, terminal
    assert b"Validating documents" in terminal
    assert terminal.rstrip().endswith(ERASE_LINE) or ERASE_LINE in terminal.rsplit(b"documents", 1)[-1]
    assert stdout == b"400 documents, 0 errors, 0 warnings\n"  # stdout untouched by the progress line


def test_validate_on_a_pipe_or_as_json_shows_none(repo: Path) -> None:
    code, stdout, stderr = _run(["validate", str(repo)], tty=False)
    assert code == 0
    assert stderr == b"" and stdout == b"400 documents, 0 errors, 0 warnings\n"
    code, stdout, terminal = _run(["validate", "-o", "json", str(repo)], tty=True)
    assert code == 0
    assert b"Validating" not in terminal and b"\x1b" not in terminal
    assert stdout.startswith(b"{")


def test_apply_on_a_terminal_counts_the_changes_and_stdout_stays_clean(repo: Path) -> None:
    url = f"sqlite:///{repo.parent}/store.db"
    tokens = str(repo.parent / "tokens")
    args = ["apply", "-f", str(repo), "--yes", "--database-url", url, "--token-output", tokens]
    code, stdout, terminal = _run(args, tty=True)
    assert code == 0, terminal
    assert b"Applying changes" in terminal and ERASE_LINE in terminal
    assert b"Applying" not in stdout and b"\x1b" not in stdout
    assert b"Apply complete! Resources: 400 added" in stdout


def test_plan_on_a_terminal_shows_the_load_and_json_shows_none(repo: Path) -> None:
    url = f"sqlite:///{repo.parent}/plan-store.db"
    code, stdout, terminal = _run(["plan", "-f", str(repo), "--database-url", url], tty=True)
    assert code == 0, terminal
    assert b"Loading documents" in terminal and ERASE_LINE in terminal
    assert b"\x1b" not in stdout and b"400 to add" in stdout
    code, stdout, terminal = _run(["plan", "-f", str(repo), "-o", "json", "--database-url", url], tty=True)
    assert code == 0, terminal
    assert b"Loading" not in terminal and stdout.startswith(b"{")


def test_a_repository_is_fetched_then_validated_on_a_terminal(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    subprocess.run(["git", "init", "-q", "-b", "main", str(remote)], check=True)
    subprocess.run(["cp", "-r", f"{repo}/.", str(remote)], check=True)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(remote), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(remote), *identity, "commit", "-qm", "state"], check=True)
    monkeypatch.setenv("MCPCTL_CACHE_DIR", str(tmp_path / "cache"))
    code, stdout, terminal = _run(["validate", "--repo", str(remote)], tty=True)
    assert code == 0, terminal
    assert b"Fetching" in terminal and b"Validating documents" in terminal
    assert stdout == b"400 documents, 0 errors, 0 warnings\n"


def _read_until(leader: int, needle: bytes, timeout: float = 10.0) -> bytes:
    """What the terminal shows until `needle` appears (or `timeout` passes without it)."""
    chunks, deadline = b"", time.monotonic() + timeout
    while needle not in chunks and select.select([leader], [], [], max(0.0, deadline - time.monotonic()))[0]:
        chunks += os.read(leader, 65536)
    return chunks


@contextmanager
def _stderr_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """sys.stderr on a pseudo-terminal; yields the terminal's reading end.

    Entered in the test itself: pytest puts its own sys.stderr back between a fixture and the test.
    """
    leader, follower = pty.openpty()
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    try:
        with os.fdopen(follower, "w") as terminal, monkeypatch.context() as patch:
            patch.setattr(sys, "stderr", terminal)
            yield leader
    finally:
        os.close(leader)


def test_a_line_that_ticks_runs_no_thread_and_redraws_on_its_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # One thread is what lets a big load fork its parsing helper on a terminal too.
    before = set(threading.enumerate())
    with _stderr_on_a_terminal(monkeypatch) as terminal:
        with progress("Validating documents") as tick:
            assert set(threading.enumerate()) - before == set()
            tick(3, 10)
            assert b"3/10" in _read_until(terminal, b"3/10")
            tick(10, 10)  # the last tick is drawn however soon it comes
            assert b"10/10" in _read_until(terminal, b"10/10")
        assert ERASE_LINE in _read_until(terminal, ERASE_LINE)


def test_a_line_with_a_timer_redraws_its_time_from_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    before = set(threading.enumerate())
    with _stderr_on_a_terminal(monkeypatch) as terminal, progress("Fetching origin", timer=True):
        (refresher,) = set(threading.enumerate()) - before
        assert b"0:00:01" in _read_until(terminal, b"0:00:01")  # redrawn as time passes
    assert not refresher.is_alive()  # waited for, so a load that follows may fork
