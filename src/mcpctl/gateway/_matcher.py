"""The gate's deterministic matcher: BM25 over tools' names, servers, descriptions and parameters.

Used when no LLM answers, and to shortlist what the LLM is shown. Pure and fast (an index of 50 tools
builds and ranks in well under a millisecond); ties are broken by name, so one task always gets one answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]

K1 = 1.2
B = 0.75
"""BM25's usual term-saturation and length-normalisation constants."""
NAME_WEIGHT = 3
"""A word of the tool's own name counts this many times a word of its description."""
SERVER_WEIGHT = 2
MAX_QUERY_CHARS = 4000
"""Longer tasks are cut: the head says what the task is, and ranking stays fast."""

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_STOP_WORDS = """
a an and any are as at be by can do does for from get has have how i in into is it its me my need needs of
on or our please some that the their them then there these this to up use using want we what when which will
with you your all also about after before new
"""
_STOP = frozenset(_STOP_WORDS.split())
_STEMMER = snowballstemmer.stemmer("english")
_SYNONYMS = {
    "delet": "remov",
    "erase": "remov",
    "fetch": "read",
    "retriev": "read",
    "show": "list",
    "modifi": "updat",
    "edit": "updat",
    "chang": "updat",
    "find": "search",
    "lookup": "search",
    "look": "search",
    "make": "creat",
    "add": "creat",
    "send": "post",
    "run": "execut",
    "launch": "execut",
    "save": "write",
    "store": "write",
    "mail": "email",
    "meet": "event",
    "appoint": "event",
    "avail": "free",
    "renam": "move",
}
"""Stems folded onto one another: tool names and tasks say the same thing in different verbs."""


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    stem: str = _STEMMER.stemWord(word)
    return _SYNONYMS.get(stem, stem)


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of `text`: `createPullRequest`, `create_pull_request` and
    "creating pull requests" give the same terms; stop words are dropped."""
    words = (w.lower() for w in _WORD.findall(text))
    return [_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]


@dataclass(frozen=True)
class Candidate:
    """Something the matcher may pick: a tool (or a prompt) with the text it is known by."""

    name: str
    """What the client calls it (`github__create_issue`)."""
    title: str
    """Its own name, without the server prefix."""
    group: str = ""
    """Its server (or, for a prompt, its tags)."""
    text: str = ""
    """Description and parameter names and descriptions."""


def tool_text(description: str | None, input_schema: dict[str, Any] | None) -> str:
    """A tool's description followed by its parameters' names and descriptions."""
    parts = [description or ""]
    properties = (input_schema or {}).get("properties")
    if isinstance(properties, dict):
        for key, value in list(properties.items())[:32]:
            parts.append(str(key))
            if isinstance(value, dict) and isinstance(value.get("description"), str):
                parts.append(value["description"][:200])
    return " ".join(parts)[:4000]


@dataclass(frozen=True)
class Ranked:
    name: str
    score: float


class Matcher:
    """A BM25 index of candidates; `rank(query)` orders them by relevance to a task."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self._docs: list[Counter[str]] = []
        for candidate in self.candidates:
            doc: Counter[str] = Counter(terms(candidate.text))
            for term in terms(candidate.title):
                doc[term] += NAME_WEIGHT
            for term in terms(candidate.group):
                doc[term] += SERVER_WEIGHT
            self._docs.append(doc)
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        frequency: Counter[str] = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        n = len(self._docs)
        # Lucene's IDF: never negative, so a word most tools share still counts a little.
        self._idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}

    def scores(self, query: str) -> list[float]:
        """BM25 score of every candidate for `query`, in candidate order."""
        wanted = Counter(terms(query[:MAX_QUERY_CHARS]))
        scores = [0.0] * len(self._docs)
        if not wanted or not self._docs:
            return scores
        average = self._average or 1.0
        for index, doc in enumerate(self._docs):
            norm = K1 * (1 - B + B * self._lengths[index] / average)
            score = 0.0
            for term, count in wanted.items():
                tf = doc.get(term)
                if tf:
                    score += self._idf[term] * count * tf * (K1 + 1) / (tf + norm)
            scores[index] = score
        return scores

    def rank(self, query: str, limit: int | None = None, *, exclude: Iterable[str] = ()) -> list[Ranked]:
        """Candidates that match `query` at all, best first (ties by name), at most `limit`."""
        skip = set(exclude)
        ranked = [
            Ranked(c.name, s)
            for c, s in zip(self.candidates, self.scores(query), strict=True)
            if s > 0 and c.name not in skip
        ]
        ranked.sort(key=lambda r: (-r.score, r.name))
        return ranked if limit is None else ranked[:limit]


@lru_cache(maxsize=64)
def matcher_of(candidates: tuple[Candidate, ...]) -> Matcher:
    """A shared index of `candidates`: sessions of one project mostly see the same tools, so it is reused."""
    return Matcher(candidates)


def pick(ranked: Sequence[Ranked], limit: int, *, cutoff: float = 0.0) -> list[str]:
    """The best `limit` names, dropping those scoring under `cutoff` times the best score."""
    if not ranked:
        return []
    floor = ranked[0].score * cutoff
    return [r.name for r in ranked[:limit] if r.score >= floor]


def with_neighbours(
    chosen: Sequence[str], ranked: Sequence[Ranked], candidates: Sequence[Candidate], limit: int
) -> list[str]:
    """`chosen`, topped up to `limit` with the other tools of the best match's server (ranked ones first).

    A task that needs one tool of a server usually needs its siblings (list, then read; find, then cancel),
    which a short task may not name."""
    names = list(chosen)
    if not names:
        return names
    group = {c.name: c.group for c in candidates}
    server = group.get(names[0])
    order = [r.name for r in ranked] + sorted(c.name for c in candidates)
    for name in order:
        if len(names) >= limit:
            break
        if group.get(name) == server and name not in names:
            names.append(name)
    return names
