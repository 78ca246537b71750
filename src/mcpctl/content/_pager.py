"""Cutting a long text into pages whose concatenation is exactly the text.

A page ends after a line break when one falls in its last fifth (a page rarely cuts a line), else at its
size. Python strings are code points, so a cut never splits a character.
"""

from __future__ import annotations

import math

MAX_PAGES = 1000
"""Most pages one text is cut into: a longer text gets larger pages instead of more of them."""
_BREAK_WINDOW = 5
"""A page may end at a line break within its last 1/5."""


def page_size(total: int, page_chars: int, max_pages: int = MAX_PAGES) -> int:
    """The page size for a text of `total` characters: `page_chars`, grown so no more than `max_pages`."""
    if page_chars < 1 or max_pages < 1:
        raise ValueError("page_chars and max_pages must be positive")
    return max(page_chars, math.ceil(total / max_pages))


def split_pages(text: str, page_chars: int, max_pages: int = MAX_PAGES) -> list[str]:
    """`text` in pages of at most `page_size(len(text), page_chars, max_pages)` characters.

    `"".join(split_pages(text, n)) == text` always; an empty text is one empty page.
    """
    size = page_size(len(text), page_chars, max_pages)
    pages: list[str] = []
    start, total = 0, len(text)
    while total - start > size:
        end = start + size
        window = max(start + 1, end - size // _BREAK_WINDOW)
        newline = text.rfind("\n", window, end)
        if newline != -1:
            end = newline + 1
        pages.append(text[start:end])
        start = end
    pages.append(text[start:])
    return pages
