"""Problems found while loading or validating desired state, with the place they were found.

A problem prints as `path:line:col: Kind/name: field.path: message`, leaving out what is unknown.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import ValidationError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with (or worth a warning about) a document; positions are 1-based."""

    path: str
    """File the problem is in (`<stdin>` for standard input)."""
    line: int | None = None
    """Line of the offending node, 1-based; None when the problem is about the whole file."""
    col: int | None = None
    """Column of the offending node, 1-based."""
    kind: str | None = None
    """`kind` of the document, when it has one."""
    name: str | None = None
    """`metadata.name` of the document, when it has one."""
    field: str | None = None
    """Dotted path of the offending field inside the document, like `spec.servers[2]`."""
    message: str = ""
    """What is wrong, in one line."""
    severity: Severity = "error"
    """`error` makes validation fail; `warning` does not."""

    def __str__(self) -> str:
        place = self.path
        if self.line is not None:
            place += f":{self.line}"
            if self.col is not None:
                place += f":{self.col}"
        parts = [place]
        if self.kind and self.name:
            parts.append(f"{self.kind}/{self.name}")
        elif self.kind:
            parts.append(self.kind)
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts)
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{text}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order of problems in reports: by file, then line, then column."""
        return (self.path, self.line or 0, self.col or 0, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON object (every key present, unknown parts null)."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


def format_field(path: tuple[str | int, ...]) -> str:
    """`("spec", "servers", 2)` → `spec.servers[2]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


def pydantic_messages(error: ValidationError, *, skip: int = 0) -> list[str]:
    """Each of `error`'s problems as `field: message` (its path without its first `skip` parts)."""
    messages = []
    for item in error.errors(include_url=False, include_input=False):
        where = format_field(tuple(item["loc"][skip:]))
        message = str(item["msg"]).removeprefix("Value error, ")
        messages.append(f"{where}: {message}" if where else message)
    return messages


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'X'?` for the closest candidate, or an empty string."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return f"; did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


class ProblemLog:
    """The problems of one run: at most `limit` kept, in the order found; the rest only counted.

    An error past the limit makes the log `full`: the run stops there (a broken repository is not
    worth reading to its end only to print the first thousand problems).
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.problems: list[Problem] = []
        self.omitted_errors = 0
        self.omitted_warnings = 0
        self.first_omitted: Problem | None = None
        """Where the log ran out of room (the first problem not kept)."""

    @property
    def full(self) -> bool:
        """True once an error was dropped for want of room."""
        return self.omitted_errors > 0

    def add(self, problem: Problem) -> None:
        """Keep `problem` if there is room, else count it."""
        if self.limit is None or len(self.problems) < self.limit:
            self.problems.append(problem)
            return
        self.first_omitted = self.first_omitted or problem
        if problem.is_error:
            self.omitted_errors += 1
        else:
            self.omitted_warnings += 1

    def extend(self, problems: Iterable[Problem]) -> None:
        """`add` each of `problems`."""
        for problem in problems:
            self.add(problem)
