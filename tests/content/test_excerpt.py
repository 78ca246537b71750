"""The head-and-tail excerpt: short texts whole, long ones bounded with both ends kept."""

from __future__ import annotations

from mcpctl.content import head_and_tail


def test_a_text_that_fits_is_returned_whole() -> None:
    assert head_and_tail("short", 100) == "short"


def test_a_long_text_keeps_its_start_and_end_within_the_limit() -> None:
    text = "START" + "m" * 10_000 + "END"
    excerpt = head_and_tail(text, 400)
    assert len(excerpt) <= 400
    assert excerpt.startswith("START") and excerpt.endswith("END")
    assert "10,008 characters" in excerpt
