"""Parsing the tail of a big input in a forked child process while this process reads the head.

Why: parsing is half of `validate`'s time at 10,000 documents (libyaml composes a Python node per
value and every step of it holds the GIL), and every machine has a second core. A child forked from
the one-shot command parses the last files and hands back their data; the parent meanwhile parses the
first ones and checks them against the schemas, then takes the child's.

The child only ever contributes files that parsed cleanly: a file it could not read or parse without a
problem, or that would pass the run's document limit, comes back as None, and the parent reads it again
itself, the one way problems are made. So the result is the same as reading every file here, problem
for problem; only the time differs. A child that dies or sends garbage costs its files a second read.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mcpctl._gc import in_one_shot_process

MIN_BYTES = 512 * 1024
"""Smaller inputs are read here alone: the fork and the hand-over cost more than half their parse."""
PARENT_SHARE = 0.45
"""Of the input's bytes, what the parent parses: it also checks every document against the schemas
while the child parses, so a little less than half keeps both busy until the hand-over."""

DocumentFields = tuple[int, int, int, dict[str, Any], tuple[str | int, ...]]
"""(index, line, col, data, base) of one document, as `Document` holds them."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One file the child parsed without a problem."""

    text: str
    """The decoded text, kept for positions of fields."""
    nodes: int
    """Documents counted against the run's limit (empty ones included)."""
    documents: list[DocumentFields]
    """What the file's documents hold, in order."""


ParseFile = Callable[[str, bool], ParsedFile | None]
"""Reads and parses one file (its path, whether a directory walk found it); None on any problem."""


def fork_possible() -> bool:
    """Whether this process may fork a parsing helper: a one-shot command, Linux, one thread."""
    # fork copies only the calling thread: a lock another thread held would stay locked in the child.
    return sys.platform == "linux" and in_one_shot_process() and threading.active_count() == 1


def split(files: Sequence[tuple[str, bool]]) -> int:
    """How many of `files` the parent parses (the child takes the rest); all of them when small."""
    sizes = [_size(path) for path, _ in files]
    total = sum(sizes)
    if total < MIN_BYTES or len(files) < 2:
        return len(files)
    head = 0
    for count, size in enumerate(sizes):
        if head + size > total * PARENT_SHARE:
            return max(1, count)
        head += size
    return len(files)


class ForkedParse:
    """A child process parsing `files` with `parse`; `results` yields what it found, file by file."""

    def __init__(self, files: Sequence[tuple[str, bool]], parse: ParseFile) -> None:
        self._count = len(files)
        read_end, write_end = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child: parse, write, and leave without running the parent's exit code
            os.close(read_end)
            _run_child(files, parse, write_end)
        os.close(write_end)
        self._reader = os.fdopen(read_end, "rb")

    def results(self) -> Iterator[ParsedFile | None]:
        """One entry per file, in order: what the child parsed, or None where the parent must read it."""
        try:
            found = marshal.loads(self._reader.read())
        except (EOFError, ValueError, TypeError, OSError):
            found = None  # the child died or was killed before it finished
        if not isinstance(found, list) or len(found) != self._count:
            found = [None] * self._count
        self.close()
        for entry in found:
            yield ParsedFile(*entry) if entry is not None else None

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        if self._pid:
            self._reader.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0


def _run_child(files: Sequence[tuple[str, bool]], parse: ParseFile, write_end: int) -> None:
    status = 1
    try:
        found: list[tuple[Any, ...] | None] = []
        for path, walked in files:
            parsed = parse(path, walked)
            found.append(None if parsed is None else (parsed.text, parsed.nodes, parsed.documents))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(marshal.dumps(found))
        status = 0
    finally:
        os._exit(status)  # neither atexit handlers nor the parent's buffered output run twice


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
