"""The gateway's result cache: cut-up results by id, LRU by bytes with a TTL, optionally spilling to disk.

One per gateway, shared by every project. An entry belongs to the session that produced it: `get` with
another session's id answers None, exactly as for an id that never existed. The cache is used from one
event loop and takes no locks.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from ._disk import DiskCache
from ._entry import CachedResult, CacheStats, EntryInfo, parts_size

RESULT_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""What a result id looks like; anything else is refused before any lookup."""
SESSION_PREFIX = 8
_SWEEP_SECONDS = 1.0


class ResultTooLarge(ValueError):
    """An entry larger than the whole cache."""


def new_result_id() -> str:
    """A fresh, unguessable result id (24 URL-safe characters)."""
    return secrets.token_urlsafe(18)


class ResultCache:
    """Entries in memory up to `max_bytes` (least recently used out first, to `disk` when there is one),
    each for `ttl_seconds` after it was stored, at most `max_per_session` per session."""

    def __init__(
        self,
        max_bytes: int = 256 * 1024 * 1024,
        ttl_seconds: float = 3600.0,
        max_per_session: int = 64,
        disk: DiskCache | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 1 or ttl_seconds <= 0 or max_per_session < 1:
            raise ValueError("max_bytes, ttl_seconds and max_per_session must be positive")
        self.max_bytes, self.ttl, self.max_per_session = max_bytes, ttl_seconds, max_per_session
        self.disk = disk
        self._clock = clock
        self._memory: OrderedDict[str, CachedResult] = OrderedDict()
        self._sessions: dict[str, dict[str, None]] = {}
        self.bytes = 0
        self._swept = clock()
        self.hits = self.misses = self.evictions = self.expired = self.spilled = self.refused = 0

    def __len__(self) -> int:
        return len(self._memory) + (len(self.disk) if self.disk is not None else 0)

    def put(self, entry: CachedResult) -> CachedResult:
        """Store `entry` (its `created` and `size` are set); ResultTooLarge when it alone exceeds the cap."""
        entry.created = self._clock()
        entry.size = parts_size(entry.parts)
        entry.chars = sum(len(p.text) for p in entry.parts)
        entry.count = len(entry.parts)
        if entry.size > self.max_bytes:
            self.refused += 1
            raise ResultTooLarge(f"{entry.size} bytes exceed the result cache's {self.max_bytes}")
        self._sweep()
        self._remove(entry.id)
        owned = self._sessions.setdefault(entry.session_id, {})
        while len(owned) >= self.max_per_session:
            victim = next(iter(owned))
            owned.pop(victim)
            self._remove(victim)
            self.evictions += 1
        self._memory[entry.id] = entry
        owned[entry.id] = None
        self.bytes += entry.size
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._memory.values()))
            self._evict(oldest)
        return entry

    def get(self, result_id: str, session_id: str) -> CachedResult | None:
        """The entry when it exists, has not expired and belongs to `session_id`; else None."""
        if not RESULT_ID.match(result_id):
            self.misses += 1
            return None
        entry = self._memory.get(result_id)
        if entry is None and self.disk is not None:
            meta = self.disk.peek(result_id)
            if meta is not None and meta.session_id == session_id and not self._stale(meta):
                entry = self.disk.take(result_id)
                if entry is not None:
                    self._memory[entry.id] = entry
                    self.bytes += entry.size
                    while self.bytes > self.max_bytes and next(iter(self._memory)) != entry.id:
                        self._evict(next(iter(self._memory.values())))
        if entry is None or entry.session_id != session_id:
            self.misses += 1
            return None
        if self._stale(entry):
            self._remove(entry.id)
            self.expired += 1
            self.misses += 1
            return None
        self._memory.move_to_end(result_id)
        owned = self._sessions.setdefault(session_id, {})
        owned.pop(result_id, None)
        owned[result_id] = None
        self.hits += 1
        return entry

    def entries(self, project: str | None = None) -> list[EntryInfo]:
        """Every live entry's metadata (of one project when named), oldest first."""
        self._sweep(force=True)
        now = self._clock()
        found: list[tuple[CachedResult, Literal["memory", "disk"]]] = [
            (e, "memory") for e in self._memory.values()
        ]
        if self.disk is not None:
            found += [(e, "disk") for e in self.disk.entries()]
        out = [
            EntryInfo(
                id=e.id,
                project=e.project,
                session=e.session_id[:SESSION_PREFIX],
                kind=e.kind,
                unit=e.unit,
                parts=e.count,
                chars=e.chars,
                bytes=e.size,
                age_seconds=round(now - e.created, 3),
                where=where,
            )
            for e, where in found
            if project is None or e.project == project
        ]
        return sorted(out, key=lambda info: -info.age_seconds)

    def stats(self, project: str | None = None) -> CacheStats:
        """Sizes and counters; with `project`, its entries and bytes (the counters stay the gateway's)."""
        self._sweep(force=True)
        memory = [e for e in self._memory.values() if project is None or e.project == project]
        disk = self.disk.entries() if self.disk is not None else []
        on_disk = [e for e in disk if project is None or e.project == project]
        return CacheStats(
            entries=len(memory),
            bytes=sum(e.size for e in memory),
            max_bytes=self.max_bytes,
            disk_entries=len(on_disk),
            disk_bytes=sum(e.size for e in on_disk),
            disk_max_bytes=self.disk.max_bytes if self.disk is not None else 0,
            ttl_seconds=self.ttl,
            hits=self.hits,
            misses=self.misses,
            evictions=self.evictions,
            expired=self.expired,
            spilled=self.spilled,
            refused=self.refused,
        )

    def clear(self, project: str | None = None) -> int:
        """Drop every entry (of one project when named); how many went."""
        ids = [e.id for e in self._memory.values() if project is None or e.project == project]
        if self.disk is not None:
            ids += [e.id for e in self.disk.entries() if project is None or e.project == project]
        for result_id in ids:
            self._remove(result_id)
        return len(ids)

    def drop_session(self, session_id: str) -> int:
        """Drop the entries of a session that ended; how many went."""
        owned = list(self._sessions.get(session_id, {}))
        for result_id in owned:
            self._remove(result_id)
        self._sessions.pop(session_id, None)
        return len(owned)

    def close(self) -> None:
        self.clear()
        if self.disk is not None:
            self.disk.close()

    def _stale(self, entry: CachedResult) -> bool:
        return self._clock() - entry.created >= self.ttl

    def _sweep(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._swept < _SWEEP_SECONDS:
            return
        self._swept = now
        stale = [e.id for e in self._memory.values() if self._stale(e)]
        if self.disk is not None:
            stale += [e.id for e in self.disk.entries() if self._stale(e)]
        for result_id in stale:
            self._remove(result_id)
        self.expired += len(stale)

    def _evict(self, entry: CachedResult) -> None:
        """Push the least recently used entry out of memory: to disk when there is room, else away."""
        self._memory.pop(entry.id)
        self.bytes -= entry.size
        self.evictions += 1
        if self.disk is not None and self.disk.put(entry):
            self.spilled += 1
            return  # still the session's: it may come back from disk
        owned = self._sessions.get(entry.session_id)
        if owned is not None:
            owned.pop(entry.id, None)

    def _remove(self, result_id: str) -> None:
        entry = self._memory.pop(result_id, None)
        if entry is not None:
            self.bytes -= entry.size
        session: str | None = entry.session_id if entry is not None else None
        if self.disk is not None:
            meta = self.disk.peek(result_id)
            if meta is not None:
                session = meta.session_id
                self.disk.discard(result_id)
        if session is not None:
            owned = self._sessions.get(session)
            if owned is not None:
                owned.pop(result_id, None)
