"""Splitting a Markdown-ish document on its headings into sections whose concatenation is the document.

ATX headings (`#` to `######` at the start of a line, then a space) start a section, except inside fenced
code blocks. Text before the first heading is its own section. A section longer than the limit is cut
into parts (`split_pages`), each titled `<heading> (part i/n)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._pager import split_pages

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")
MAX_TITLE_CHARS = 120
PREAMBLE_TITLE = "(start)"
"""Title of the text before the first heading."""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a document: its heading's text, level (0 for the preamble) and its full text."""

    title: str
    level: int
    text: str


def _title(raw: str) -> str:
    title = " ".join(raw.split())
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def _headed(text: str) -> list[Section]:
    sections: list[Section] = []
    title, level, start = PREAMBLE_TITLE, 0, 0
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        opened = _FENCE.match(stripped)
        if fence is not None:
            if opened is not None and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif opened is not None:
            fence = opened.group(1)
        elif (heading := _HEADING.match(stripped)) is not None:
            if offset > start:
                sections.append(Section(title, level, text[start:offset]))
            title, level, start = _title(heading.group(2)), len(heading.group(1)), offset
        offset += len(line)
    sections.append(Section(title, level, text[start:]))
    return sections


def split_sections(text: str, max_chars: int) -> list[Section]:
    """`text` split on its headings, no section longer than `max_chars` (longer ones cut into parts).

    `"".join(s.text for s in split_sections(text, n)) == text` always.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    out: list[Section] = []
    for section in _headed(text):
        if len(section.text) <= max_chars:
            out.append(section)
            continue
        parts = split_pages(section.text, max_chars)
        out.extend(
            Section(f"{section.title} (part {index}/{len(parts)})", section.level, part)
            for index, part in enumerate(parts, 1)
        )
    return out
