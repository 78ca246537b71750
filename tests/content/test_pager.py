"""Pages: joined they are the text, none longer than the page size, breaks after line ends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.content import MAX_PAGES, page_size, split_pages

TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\n", "😀", "字", " ", "\r", "#"]), max_size=3000)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=400))
def test_pages_join_to_the_text_and_fit(text: str, page_chars: int) -> None:
    pages = split_pages(text, page_chars)
    assert "".join(pages) == text
    assert all(0 < len(p) <= page_chars for p in pages) or pages == [""]


def test_a_page_ends_after_a_line_break_near_its_end() -> None:
    text = ("x" * 95 + "\n") * 10
    pages = split_pages(text, 100)
    assert all(p.endswith("\n") for p in pages)
    assert [len(p) for p in pages] == [96] * 10


def test_a_long_text_gets_larger_pages_not_more_of_them() -> None:
    text = "y" * 50_000
    pages = split_pages(text, 10)
    assert len(pages) == MAX_PAGES
    assert page_size(len(text), 10) == 50
    assert "".join(pages) == text


def test_an_empty_text_is_one_empty_page() -> None:
    assert split_pages("", 10) == [""]
