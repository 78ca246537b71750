"""Tool scopes of `run` rules on servers: which upstream tools a grant covers, by name or glob.

A scope is a union of terms and a term a conjunction of patterns: narrowing one scope by another joins
their terms instead of computing a glob intersection (which is not always a glob), so it stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

Term = tuple[str, ...]
"""Patterns a tool must all match, sorted; one pattern for a scope as written."""


def is_glob(pattern: str) -> bool:
    """Whether `pattern` has a wildcard: `*` (any run of characters) or `?` (one character)."""
    return "*" in pattern or "?" in pattern


def _regex(pattern: str, one: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else one if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=4096)
def _matcher(pattern: str) -> re.Pattern[str]:
    return _regex(pattern, ".")


@lru_cache(maxsize=4096)
def _container(pattern: str) -> re.Pattern[str]:
    # Read against another pattern's text: its `*` may only fall under our `*`, its `?` under our `?`
    # or `*`. A match then proves every tool the other matches, we match too.
    return _regex(pattern, "[^*]")


def matches(pattern: str, tool: str) -> bool:
    """Whether the tool name matches the pattern (a name matches only itself)."""
    if not is_glob(pattern):
        return pattern == tool
    return _matcher(pattern).fullmatch(tool) is not None


def contains(outer: str, inner: str) -> bool:
    """Whether every tool `inner` matches, `outer` matches too.

    Never true when that is false; false for a few exotic pairs where it holds (`*?` vs `?*`), which
    only makes access changes list a line that changes nothing.
    """
    if not is_glob(outer):
        return outer == inner
    return _container(outer).fullmatch(inner) is not None


def _literal_ends(pattern: str) -> tuple[str, str]:
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    tail = re.split(r"[*?]", pattern)[-1]
    return head, tail


def _disjoint(patterns: Iterable[str]) -> bool:
    # Globs whose fixed prefixes (or suffixes) disagree share no tool: a cheap, sound emptiness test.
    ends = [_literal_ends(p) for p in patterns]
    heads = sorted((h for h, _ in ends), key=len)
    tails = sorted((t for _, t in ends), key=len)
    return any(not heads[-1].startswith(h) for h in heads) or any(not tails[-1].endswith(t) for t in tails)


def _simplify(patterns: Iterable[str]) -> Term | None:
    """A conjunction of patterns in its simplest form, or None when no tool can match them all."""
    unique = sorted(set(patterns), key=lambda p: (len(p), p))
    names = [p for p in unique if not is_glob(p)]
    if names:
        name = names[0]
        return (name,) if all(matches(p, name) for p in unique) else None
    if _disjoint(unique):
        return None
    kept: list[str] = []
    for pattern in unique:
        if any(contains(pattern, narrower) for narrower in kept):
            continue
        kept = [p for p in kept if not contains(p, pattern)]
        kept.append(pattern)
    return tuple(sorted(kept))


def _implies(term: Term, other: Term) -> bool:
    """Whether every tool matching `term` matches `other` (sound, as `contains`)."""
    return all(any(contains(outer, inner) for inner in term) for outer in other)


def _minimal(terms: Iterable[Term]) -> frozenset[Term]:
    """The terms without those another term already covers."""
    kept: list[Term] = []
    for term in sorted(set(terms), key=lambda t: (-len(t), t)):
        if any(_implies(term, wider) for wider in kept):
            continue
        kept = [t for t in kept if not _implies(t, term)]
        kept.append(term)
    return frozenset(kept)


def term_text(term: Term) -> str:
    """A term as written in access changes and listings: `git_log`, `git_*&*_log` (both must match)."""
    return "&".join(term)


class ToolScope:
    """The tools of a server a grant covers: every tool (`ToolScope.ANY`), or a union of terms."""

    __slots__ = ("_globs", "_names", "terms")

    ANY: ToolScope
    """Every tool (a rule without `tools`)."""

    def __init__(self, terms: Iterable[Term] | None = None) -> None:
        self.terms: frozenset[Term] | None = None if terms is None else frozenset(terms)
        """None for every tool; otherwise a tool is covered when it matches every pattern of one term."""
        plain = [t for t in self.terms or () if len(t) == 1 and not is_glob(t[0])]
        self._names = frozenset(t[0] for t in plain)
        self._globs = tuple(tuple(_matcher(p) for p in t) for t in sorted(self.terms or ()) if t not in plain)

    @classmethod
    def of(cls, patterns: Iterable[str]) -> ToolScope:
        """The scope of a rule's `tools` list: every tool when empty."""
        written = [(p,) for p in patterns]
        return cls(_minimal(written)) if written else cls.ANY

    @property
    def any(self) -> bool:
        """Whether every tool is covered."""
        return self.terms is None

    @property
    def empty(self) -> bool:
        """Whether no tool at all is covered (a narrowing that left nothing)."""
        return self.terms is not None and not self.terms

    def allows(self, tool: str | None) -> bool:
        """Whether the tool is covered; None (the whole server) only by a scope of every tool."""
        if self.terms is None:
            return True
        if tool is None:
            return False
        if tool in self._names:
            return True
        return any(all(m.fullmatch(tool) for m in term) for term in self._globs)

    def covers(self, term: Term | None) -> bool:
        """Whether every tool `term` matches (every tool for None) is covered."""
        if self.terms is None:
            return True
        return term is not None and any(_implies(term, mine) for mine in self.terms)

    def intersect(self, other: ToolScope) -> ToolScope:
        """The tools both scopes cover: a tool is in it exactly when both allow it."""
        if self.terms is None:
            return other
        if other.terms is None:
            return self
        joined = (_simplify((*a, *b)) for a in self.terms for b in other.terms)
        return ToolScope(_minimal(t for t in joined if t is not None))

    def union(self, other: ToolScope) -> ToolScope:
        """The tools either scope covers."""
        if self.terms is None or other.terms is None:
            return ToolScope.ANY
        return ToolScope(_minimal(self.terms | other.terms))

    def __iter__(self) -> Iterator[Term]:
        return iter(sorted(self.terms or ()))

    @property
    def text(self) -> str:
        """`git_diff*,git_log`, or `*` for every tool."""
        return "*" if self.terms is None else ",".join(term_text(t) for t in self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ToolScope) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        return f"ToolScope({self.text})"


ToolScope.ANY = ToolScope(None)
