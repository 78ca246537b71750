"""Sections on headings: joined they are the text; fenced code hides headings; long sections are cut."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.content import PREAMBLE_TITLE, split_sections

LINES = st.lists(
    st.sampled_from(
        ["# One", "## Two two", "text é 😀", "", "```", "# in code", "~~~", "####### seven", "#no", "x" * 80]
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(LINES, st.sampled_from(["\n", "\r\n"]), st.integers(min_value=1, max_value=300))
def test_sections_join_to_the_text_and_fit(lines: list[str], newline: str, max_chars: int) -> None:
    text = newline.join(lines)
    sections = split_sections(text, max_chars)
    assert "".join(s.text for s in sections) == text
    assert all(len(s.text) <= max_chars for s in sections)


def test_headings_start_sections_with_their_titles_and_levels() -> None:
    text = "intro\n# Install\nrun it\n## Linux  ##\napt\n# Use\ngo\n"
    sections = split_sections(text, 1000)
    assert [(s.title, s.level) for s in sections] == [
        (PREAMBLE_TITLE, 0),
        ("Install", 1),
        ("Linux", 2),
        ("Use", 1),
    ]
    assert sections[1].text == "# Install\nrun it\n"


def test_a_heading_inside_a_code_fence_is_text() -> None:
    text = "# Real\n```sh\n# a comment\n```\nafter\n"
    assert [s.title for s in split_sections(text, 1000)] == ["Real"]


def test_a_long_section_is_cut_into_numbered_parts() -> None:
    text = "# Big\n" + "line of text\n" * 100
    sections = split_sections(text, 500)
    assert [s.title for s in sections][:2] == ["Big (part 1/3)", "Big (part 2/3)"]
    assert "".join(s.text for s in sections) == text
