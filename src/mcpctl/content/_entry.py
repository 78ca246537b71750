"""What the result cache holds: one cut-up result (pages or sections) and the session it belongs to."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

EntryKind = Literal["tool", "prompt"]
Unit = Literal["page", "section"]
_PART_OVERHEAD = 120
_ENTRY_OVERHEAD = 600
"""Rough bytes of the objects around the texts (dataclasses, tuples, dict slots)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One page or section: a title for the index and its text."""

    title: str
    text: str


def parts_size(parts: tuple[Part, ...]) -> int:
    """Bytes the parts hold in memory (what the cache's cap counts), without encoding anything."""
    held = sum(sys.getsizeof(p.text) + sys.getsizeof(p.title) + _PART_OVERHEAD for p in parts)
    return held + _ENTRY_OVERHEAD


@dataclass(slots=True)
class CachedResult:
    """A result kept for the session that produced it, served one part at a time."""

    id: str
    project: str
    session_id: str
    kind: EntryKind
    """What produced it: a tool call or a prompt get."""
    target: str
    """The tool or prompt name the client used; a part is served only to a call of the same name."""
    unit: Unit
    parts: tuple[Part, ...]
    created: float = 0.0
    """The cache clock when it was stored (set by the cache)."""
    size: int = field(default=0)
    """Bytes counted against the cap (set by the cache)."""
    chars: int = 0
    """Characters of all parts (set by the cache; kept when the parts are on disk)."""
    count: int = 0
    """Number of parts (set by the cache; kept when the parts are on disk)."""

    @property
    def text(self) -> str:
        """The whole result again: the parts joined."""
        return "".join(p.text for p in self.parts)


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """What `mcpctl cache list` shows of an entry: never its content, its tool or its full session id."""

    id: str
    project: str
    session: str
    """The first 8 characters of the session id."""
    kind: EntryKind
    unit: Unit
    parts: int
    chars: int
    bytes: int
    age_seconds: float
    where: Literal["memory", "disk"]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters and sizes of the cache (one project's share when asked for one)."""

    entries: int
    bytes: int
    max_bytes: int
    disk_entries: int
    disk_bytes: int
    disk_max_bytes: int
    ttl_seconds: float
    hits: int
    misses: int
    evictions: int
    expired: int
    spilled: int
    refused: int
