"""Text from resources made safe for a terminal: control characters and bidi overrides escaped.

Resource fields come from config-repo authors and from the store; printed raw, an escape sequence
could recolour, retitle or rewrite what the reader sees. Every renderer sends such text through here.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
"""C0 controls but tab and newline, DEL, C1 controls (`\\x9b` is CSI), zero-width characters that hide
text (and the tags block, which spells hidden ASCII), and the bidi marks and overrides that reorder
what a terminal shows ("Trojan Source")."""


def printable(text: str) -> str:
    """`text` with every unsafe character written as a `\\uXXXX` escape (as JSON would write it)."""
    return _UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def has_unsafe(text: str) -> bool:
    """True when `printable` would change `text`."""
    return _UNSAFE.search(text) is not None
