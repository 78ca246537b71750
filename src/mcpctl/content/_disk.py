"""The optional disk tier of the result cache: entries pushed out of memory, size-capped, one file each.

Each gateway process writes under a directory of its own (sessions do not outlive the process, so neither
do its files) with mode 0700, files 0600, and removes it on close. Files are JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from ._entry import CachedResult, Part

CACHE_DIR_ENV = "MCPCTL_RESULT_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$MCPCTL_RESULT_CACHE_DIR`, else `$XDG_CACHE_HOME/mcpctl/results` (`~/.cache/mcpctl/results`)."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcpctl" / "results"


@dataclass(slots=True)
class _OnDisk:
    entry: CachedResult
    """The entry without its parts (they are in the file)."""
    file_bytes: int


class DiskCache:
    """Spilled entries by id, least recently used first; the oldest files go when over `max_bytes`."""

    def __init__(self, base: Path, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory = base / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.directory.mkdir(mode=0o700)
        self._index: OrderedDict[str, _OnDisk] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, result_id: str) -> bool:
        return result_id in self._index

    def _path(self, result_id: str) -> Path:
        return self.directory / f"{result_id}.json"

    def entries(self) -> list[CachedResult]:
        """The spilled entries' metadata (their `parts` are empty)."""
        return [held.entry for held in self._index.values()]

    def put(self, entry: CachedResult) -> bool:
        """Write `entry`; False when it alone exceeds the cap. Older files are removed to make room."""
        body = json.dumps(
            {"parts": [[p.title, p.text] for p in entry.parts]}, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        if len(body) > self.max_bytes:
            return False
        self.discard(entry.id)
        while self._index and self.bytes + len(body) > self.max_bytes:
            self.discard(next(iter(self._index)))
        descriptor = os.open(self._path(entry.id), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
        meta = replace(entry, parts=())
        self._index[entry.id] = _OnDisk(meta, len(body))
        self.bytes += len(body)
        return True

    def peek(self, result_id: str) -> CachedResult | None:
        """The metadata of a spilled entry (parts empty), reading no file."""
        held = self._index.get(result_id)
        return held.entry if held is not None else None

    def take(self, result_id: str) -> CachedResult | None:
        """The whole entry, removed from disk (the caller puts it back in memory); None if gone."""
        held = self._index.get(result_id)
        if held is None:
            return None
        try:
            raw = json.loads(self._path(result_id).read_bytes())
            parts = tuple(Part(str(title), str(text)) for title, text in raw["parts"])
        except (OSError, ValueError, KeyError, TypeError):
            self.discard(result_id)
            return None
        self.discard(result_id)
        return replace(held.entry, parts=parts)

    def discard(self, result_id: str) -> bool:
        held = self._index.pop(result_id, None)
        if held is None:
            return False
        self.bytes -= held.file_bytes
        self._path(result_id).unlink(missing_ok=True)
        return True

    def close(self) -> None:
        """Remove this process's directory and everything in it."""
        self._index.clear()
        self.bytes = 0
        shutil.rmtree(self.directory, ignore_errors=True)
