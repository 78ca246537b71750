"""The summary of last resort: the head and tail of a text with what was left out said in between."""

from __future__ import annotations


def head_and_tail(text: str, max_chars: int) -> str:
    """`text` itself when it fits in `max_chars`, else its start and end around an omission marker."""
    if len(text) <= max_chars:
        return text
    marker = f"\n\n[… {len(text):,} characters in all; the middle is left out …]\n\n"
    room = max(max_chars - len(marker), 2)
    head = room * 2 // 3
    tail = room - head
    return text[:head] + marker + text[len(text) - tail :]
