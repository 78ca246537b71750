"""The debounced watchdog watcher on real directories and a real git repository."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import git

from mcpctl.reconciler._watch import DebouncedWatcher, config_file_filter, git_ref_filter


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        found = self.event.wait(timeout)
        self.event.clear()
        return found


def test_a_burst_of_writes_gives_one_call(tmp_path: Path) -> None:
    calls = Calls()
    # A generous quiet period, so a busy CI machine pausing between two writes cannot split the burst.
    with DebouncedWatcher([tmp_path], calls, accept=config_file_filter(tmp_path), delay=0.6):
        started = time.monotonic()
        for n in range(10):
            (tmp_path / f"s{n}.yaml").write_text(f"n: {n}\n")
            time.sleep(0.02)
        assert calls.wait()
        elapsed = time.monotonic() - started
        time.sleep(0.8)
    assert calls.count == 1
    assert 0.6 <= elapsed < 4.0


def test_nested_changes_and_deletes_are_seen(tmp_path: Path) -> None:
    (tmp_path / "projects" / "p").mkdir(parents=True)
    target = tmp_path / "projects" / "p" / "project.yaml"
    target.write_text("a: 1\n")
    calls = Calls()
    with DebouncedWatcher([tmp_path], calls, accept=config_file_filter(tmp_path), delay=0.1):
        target.write_text("a: 2\n")
        assert calls.wait()
        target.unlink()
        assert calls.wait()


def test_hidden_and_non_yaml_files_are_ignored(tmp_path: Path) -> None:
    calls = Calls()
    with DebouncedWatcher([tmp_path], calls, accept=config_file_filter(tmp_path), delay=0.1):
        (tmp_path / ".project.yaml.swp").write_text("x")
        (tmp_path / "notes.txt").write_text("x")
        (tmp_path / ".git").mkdir()
        (tmp_path / ".git" / "index.yaml").write_text("x")
        assert not calls.wait(1.0)
    assert calls.count == 0


def test_a_commit_in_a_local_repository_is_seen(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    (tmp_path / "repo" / "a.yaml").write_text("a: 1\n")
    repo.index.add(["a.yaml"])
    repo.index.commit("first")
    git_dir = Path(repo.git_dir)
    calls = Calls()
    with DebouncedWatcher([git_dir], calls, accept=git_ref_filter(git_dir), delay=0.1):
        (tmp_path / "repo" / "a.yaml").write_text("a: 2\n")
        repo.index.add(["a.yaml"])  # staging alone moves no ref
        assert not calls.wait(0.8)
        repo.index.commit("second")
        assert calls.wait()


def test_stop_drops_a_pending_call(tmp_path: Path) -> None:
    calls = Calls()
    watcher = DebouncedWatcher([tmp_path], calls, delay=0.5)
    watcher.start()
    watcher.poke()
    watcher.stop()
    time.sleep(0.8)
    assert calls.count == 0
