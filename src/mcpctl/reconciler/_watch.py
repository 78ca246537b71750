"""Watching a local directory or git repository with watchdog, calling back once per burst of changes.

Editors and `git commit` touch many files in a row; a trailing debounce turns that into one call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

DEFAULT_DEBOUNCE = 0.3
_log = logging.getLogger("mcpctl.reconcile")


def config_file_filter(root: Path) -> Callable[[str], bool]:
    """Accept YAML files under `root`, skipping hidden paths (`.git/`, editor swap files)."""

    def accept(path: str) -> bool:
        try:
            relative = Path(path).relative_to(root)
        except ValueError:
            return False
        if any(part.startswith(".") or part.endswith("~") for part in relative.parts):
            return False
        # Directory events (a folder renamed or removed) carry no suffix and may hide YAML changes.
        return relative.suffix in (".yaml", ".yml", "")

    return accept


def git_ref_filter(git_dir: Path) -> Callable[[str], bool]:
    """Accept changes of a git directory's refs (`HEAD`, `refs/...`, `packed-refs`), not its objects."""

    def accept(path: str) -> bool:
        try:
            relative = Path(path).relative_to(git_dir)
        except ValueError:
            return False
        if relative.suffix == ".lock":
            return False
        return relative.parts[:1] in (("refs",), ("HEAD",), ("packed-refs",))

    return accept


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: DebouncedWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        # A folder is "modified" whenever a child changes; the child's own event is the one that counts.
        if event.is_directory and event.event_type in ("modified", "created", "closed"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and self._watcher.accept(str(p)) for p in paths):
            self._watcher.poke()


class DebouncedWatcher:
    """Calls `callback` once, `delay` seconds after the last accepted change under `paths`."""

    def __init__(
        self,
        paths: Iterable[Path],
        callback: Callable[[], object],
        *,
        accept: Callable[[str], bool] = lambda path: True,
        delay: float = DEFAULT_DEBOUNCE,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.accept = accept
        self.delay = delay
        self._callback = callback
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]

    def poke(self) -> None:
        """Note a change now: (re)start the quiet period after which the callback runs."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self._callback()
        except Exception:
            # The watcher thread must outlive a failing callback; the loop reports its own errors.
            _log.exception("watch callback failed")

    def start(self) -> None:
        """Begin watching (recursively) in a background thread."""
        observer = Observer()
        handler = _Handler(self)
        for path in self.paths:
            observer.schedule(handler, str(path), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Stop watching and drop a pending callback."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def __enter__(self) -> DebouncedWatcher:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
