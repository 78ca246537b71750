"""The result cache: owner sessions only, LRU by bytes, TTL, per-session cap, spilling to a capped disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mcpctl.content import CachedResult, DiskCache, Part, ResultCache, ResultTooLarge, new_result_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry(session: str = "s1", chars: int = 1000, project: str = "p", kind: str = "tool") -> CachedResult:
    parts = (Part("Page 1", "a" * (chars // 2)), Part("Page 2", "b" * (chars - chars // 2)))
    return CachedResult(new_result_id(), project, session, kind, "srv__tool", "page", parts)  # type: ignore[arg-type]


def test_only_the_owning_session_gets_an_entry() -> None:
    cache = ResultCache()
    stored = cache.put(entry("session-a"))
    assert cache.get(stored.id, "session-a") is stored
    assert cache.get(stored.id, "session-b") is None
    assert cache.get("not-an-id!", "session-a") is None
    assert cache.get(new_result_id(), "session-a") is None
    assert (cache.hits, cache.misses) == (1, 3)


def test_least_recently_used_entries_leave_when_over_the_byte_cap() -> None:
    one = entry(chars=10_000)
    cache = ResultCache(max_bytes=int(ResultCache().put(one).size * 2.5))
    a, b = cache.put(entry(chars=10_000)), cache.put(entry(chars=10_000))
    assert cache.get(a.id, "s1") is a  # a is now the most recently used
    c = cache.put(entry(chars=10_000))
    assert cache.get(b.id, "s1") is None
    assert cache.get(a.id, "s1") is a and cache.get(c.id, "s1") is c
    assert cache.bytes <= cache.max_bytes
    assert cache.evictions == 1


def test_an_entry_larger_than_the_cache_is_refused() -> None:
    cache = ResultCache(max_bytes=5000)
    with pytest.raises(ResultTooLarge):
        cache.put(entry(chars=20_000))
    assert len(cache) == 0 and cache.refused == 1


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = ResultCache(ttl_seconds=60, clock=clock)
    stored = cache.put(entry())
    clock.now += 59
    assert cache.get(stored.id, "s1") is stored
    clock.now += 2
    assert cache.get(stored.id, "s1") is None
    assert cache.expired == 1 and cache.bytes == 0


def test_a_session_holds_at_most_its_share_of_entries() -> None:
    cache = ResultCache(max_per_session=3)
    ids = [cache.put(entry("s1")).id for _ in range(5)]
    other = cache.put(entry("s2"))
    assert [cache.get(i, "s1") is not None for i in ids] == [False, False, True, True, True]
    assert cache.get(other.id, "s2") is not None


def test_a_closed_session_and_clear_drop_entries() -> None:
    cache = ResultCache()
    mine, theirs = cache.put(entry("s1", project="p")), cache.put(entry("s2", project="q"))
    assert cache.drop_session("s1") == 1
    assert cache.get(mine.id, "s1") is None and cache.bytes == theirs.size
    cache.put(entry("s3", project="p"))
    assert cache.clear(project="p") == 1
    assert [info.project for info in cache.entries()] == ["q"]
    assert cache.clear() == 1 and cache.bytes == 0


def test_listing_shows_sizes_and_a_session_prefix_but_no_content() -> None:
    cache = ResultCache()
    stored = cache.put(entry("0123456789abcdef", chars=3000))
    (info,) = cache.entries()
    assert info.session == "01234567" and info.chars == 3000 and info.parts == 2
    assert "aaa" not in repr(info) and "srv__tool" not in repr(info)
    assert cache.stats().entries == 1 and cache.stats(project="other").entries == 0
    assert info.id == stored.id


def test_evicted_entries_spill_to_disk_and_come_back(tmp_path: Path) -> None:
    probe = ResultCache().put(entry(chars=10_000)).size
    disk = DiskCache(tmp_path, max_bytes=25_000)
    clock = Clock()
    cache = ResultCache(max_bytes=int(probe * 1.5), disk=disk, clock=clock)
    first = cache.put(entry(chars=10_000))
    text = first.text
    clock.now += 1
    second = cache.put(entry(chars=10_000))
    assert first.id in disk and cache.spilled == 1
    assert stat.S_IMODE(disk.directory.stat().st_mode) == 0o700
    (spilled,) = list(disk.directory.iterdir())
    assert stat.S_IMODE(spilled.stat().st_mode) == 0o600
    assert [i.where for i in cache.entries()] == ["disk", "memory"]
    assert cache.get(first.id, "s2") is None  # another session's lookup does not load it
    back = cache.get(first.id, "s1")
    assert back is not None and back.text == text
    assert second.id in disk  # made room for the one that came back
    cache.close()
    assert not disk.directory.exists()


def test_the_disk_tier_keeps_within_its_cap(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path, max_bytes=25_000)
    cache = ResultCache(max_bytes=ResultCache().put(entry(chars=10_000)).size + 10, disk=disk)
    for _ in range(6):
        cache.put(entry(chars=10_000))
    assert disk.bytes <= 25_000 and len(disk) == 2
    assert sum(f.stat().st_size for f in disk.directory.iterdir()) == disk.bytes
