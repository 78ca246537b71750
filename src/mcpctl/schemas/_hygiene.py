"""Description hygiene: what in a tool's description is aimed at the model rather than at a reader.

Hidden characters (zero-width, bidi controls, the Unicode tags block), HTML comments and instruction-like
cues ("ignore previous instructions", "do not tell the user", sending data somewhere) are flagged by
`pin`, `validate` and the gateway; `strip_invisible` removes the hidden characters when asked to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

FindingKind = Literal["hidden-character", "html-comment", "instruction", "length"]

LONG_DESCRIPTION = 8_000
"""Characters past which a description is flagged as unusually long (room to hide instructions)."""
MAX_SCANNED = 65_536
"""Only this much of a description is scanned: the server controls it, and the scan must stay cheap."""

_VARIATION_SUPPLEMENT = range(0xE0100, 0xE01F0)
"""Variation selectors 17-256: invisible, and a known way to smuggle bytes into text."""
_ALLOWED_CONTROLS = {"\n", "\t", "\r"}

_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (message, re.compile(pattern, re.IGNORECASE))
    for message, pattern in (
        (
            "tells the model to ignore its instructions",
            r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+)?"
            r"(previous|prior|above|earlier|preceding|other|system)\s+(instructions?|prompts?|rules|messages?)",
        ),
        (
            "tells the model to keep something from the user",
            r"\b(do\s+not|don'?t|never)\s+(tell|inform|mention|reveal|show|notify|alert)\b[^.\n]{0,40}"
            r"\buser\b|\bwithout\s+(telling|informing|notifying|asking)\s+the\s+user\b",
        ),
        (
            "asks to send data elsewhere (exfiltration)",
            r"\b(send|forward|upload|post|transmit|exfiltrate|copy|leak)\b[^.\n]{0,60}"
            r"(https?://|\bto\s+(this|the\s+following|an?\s+external)\s+(url|address|server|endpoint|email))",
        ),
        (
            "refers to credentials or private files the tool should not need",
            r"(~/\.ssh|\bid_rsa\b|\.aws/credentials|\b\.env\b|\bmcp\.json\b|\bprivate\s+key\b)",
        ),
        (
            "poses as a system or priority message",
            r"<\s*/?\s*(important|system|instructions?|secret)\s*>|\[\s*(system|important)\s*\]",
        ),
        (
            "tells the model what to do before or instead of using the tool",
            r"\bbefore\s+(using|calling)\s+(this|any)\s+tool\b[^.\n]{0,40}\b(read|call|send|pass|include)\b",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One hygiene problem in a text; `message` never carries the hidden characters themselves."""

    kind: FindingKind
    message: str
    offset: int
    """Character offset of the first occurrence (for comments and cues: in the text without its hidden
    characters, where they are looked for)."""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message} (at character {self.offset})"


def is_invisible(char: str) -> bool:
    """Format characters (zero-width, bidi controls, tags, BOM, soft hyphen), stray controls, and the
    supplementary variation selectors: characters a reader does not see but a model reads."""
    if char in _ALLOWED_CONTROLS:
        return False
    category = unicodedata.category(char)
    return category in ("Cf", "Cc") or ord(char) in _VARIATION_SUPPLEMENT


def strip_invisible(text: str) -> str:
    """`text` without the characters `is_invisible` finds."""
    return "".join(char for char in text if not is_invisible(char))


def description_findings(text: str | None) -> list[Finding]:
    """Every hygiene problem of a description: its length, hidden characters, comments, cues (in that order;
    only the first `MAX_SCANNED` characters are looked at)."""
    if not text:
        return []
    findings: list[Finding] = []
    if len(text) > LONG_DESCRIPTION:
        findings.append(Finding("length", f"unusually long ({len(text):,} characters)", LONG_DESCRIPTION))
        text = text[:MAX_SCANNED]
    hidden = [(i, c) for i, c in enumerate(text) if is_invisible(c)]
    if hidden:
        codes = sorted({f"U+{ord(c):04X}" for _, c in hidden})
        shown = ", ".join(codes[:5]) + (", ..." if len(codes) > 5 else "")
        findings.append(
            Finding("hidden-character", f"{len(hidden)} invisible character(s): {shown}", hidden[0][0])
        )
    # Cues are looked for in the visible text, so hiding a character inside a phrase does not hide it.
    visible = strip_invisible(text) if hidden else text
    comment = _HTML_COMMENT.search(visible)
    if comment is not None:
        findings.append(Finding("html-comment", "an HTML comment (hidden when rendered)", comment.start()))
    for message, pattern in _CUES:
        found = pattern.search(visible)
        if found is not None:
            findings.append(Finding("instruction", message, found.start()))
    return findings
