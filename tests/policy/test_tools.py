"""Tests of mcpctl.policy._tools: tool names and globs, scopes, their exact intersection."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.policy import ToolScope, contains, is_glob, matches

# A tiny alphabet makes collisions (and so interesting overlaps) likely.
TOOLS = st.text(alphabet="ab_", max_size=5)
PATTERNS = st.text(alphabet="ab_*?", min_size=1, max_size=5)
SCOPES = st.one_of(st.just(ToolScope.ANY), st.lists(PATTERNS, max_size=3).map(ToolScope.of))
EVERY_TOOL = ["".join(p) for n in range(6) for p in itertools.product("ab_", repeat=n)]
"""Every tool name of the alphabet up to length 5: checking them all is checking the whole language."""


@pytest.mark.parametrize(
    ("pattern", "tool", "expected"),
    [
        ("git_log", "git_log", True),
        ("git_log", "git_lo", False),
        ("git_diff*", "git_diff", True),
        ("git_diff*", "git_diff_staged", True),
        ("git_diff*", "git_dif", False),
        ("*_log", "git_log", True),
        ("git_?og", "git_log", True),
        ("git_?og", "git_og", False),
        ("*", "", True),
        ("a.b", "axb", False),  # only * and ? are wildcards; regex characters are literal
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
    ],
)
def test_matches(pattern: str, tool: str, expected: bool) -> None:
    assert matches(pattern, tool) is expected


def test_is_glob() -> None:
    assert is_glob("git_*") and is_glob("git_?og") and not is_glob("git_log")


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("git_*", "git_diff*", True),
        ("git_diff*", "git_*", False),
        ("*", "?", True),
        ("git_?", "git_*", False),  # ? is one character, * any number
        ("git_*", "git_?", True),
        ("git_log", "git_log", True),
        ("git_log", "git_*", False),
        ("*_log", "git_log", True),
    ],
)
def test_contains(outer: str, inner: str, expected: bool) -> None:
    assert contains(outer, inner) is expected


@settings(max_examples=200)
@given(PATTERNS, PATTERNS)
def test_contains_is_never_wrong_when_it_says_yes(outer: str, inner: str) -> None:
    if contains(outer, inner):
        assert all(matches(outer, t) for t in EVERY_TOOL if matches(inner, t))


@settings(max_examples=200)
@given(SCOPES, SCOPES)
def test_intersection_allows_exactly_what_both_allow(a: ToolScope, b: ToolScope) -> None:
    both = a.intersect(b)
    assert [both.allows(t) for t in EVERY_TOOL] == [a.allows(t) and b.allows(t) for t in EVERY_TOOL]
    assert both.allows(None) is (a.any and b.any)


@settings(max_examples=200)
@given(SCOPES, SCOPES)
def test_union_allows_what_either_allows(a: ToolScope, b: ToolScope) -> None:
    either = a.union(b)
    assert [either.allows(t) for t in EVERY_TOOL] == [a.allows(t) or b.allows(t) for t in EVERY_TOOL]


@settings(max_examples=200)
@given(SCOPES, SCOPES)
def test_covers_is_sound(a: ToolScope, b: ToolScope) -> None:
    # Every term of b that a says it covers really is inside a.
    for term in b:
        if a.covers(term):
            assert all(a.allows(t) for t in EVERY_TOOL if all(matches(p, t) for p in term))


def test_narrowing_globs_by_globs_keeps_both_conditions() -> None:
    owner = ToolScope.of(["git_*"])
    token = ToolScope.of(["*_log", "git_diff*"])
    both = owner.intersect(token)
    assert both.text == "*_log&git_*,git_diff*"
    assert both.allows("git_log") and both.allows("git_diff_staged")
    assert not both.allows("time_log") and not both.allows("git_commit")


def test_intersections_that_leave_nothing_are_empty() -> None:
    assert ToolScope.of(["git_log"]).intersect(ToolScope.of(["time_*"])).empty
    assert ToolScope.of(["git_*"]).intersect(ToolScope.of(["time_*"])).empty
    assert ToolScope.of(["*_log"]).intersect(ToolScope.of(["*_diff"])).empty
    assert not ToolScope.ANY.intersect(ToolScope.of(["x"])).empty


def test_names_under_globs_simplify_to_the_names() -> None:
    scope = ToolScope.of(["git_log", "git_show", "time"]).intersect(ToolScope.of(["git_*"]))
    assert scope.text == "git_log,git_show"
    assert ToolScope.of(["git_*", "git_log"]).text == "git_*"


def test_any_and_empty() -> None:
    assert ToolScope.ANY.any and ToolScope.ANY.allows(None) and ToolScope.ANY.text == "*"
    assert ToolScope.of([]) is ToolScope.ANY
    nothing = ToolScope(())
    assert nothing.empty and not nothing.allows("x") and not nothing.any
    assert not ToolScope.of(["x"]).allows(None)
    assert ToolScope.of(["b", "a"]) == ToolScope.of(["a", "b"])
    assert len({ToolScope.of(["a"]), ToolScope.of(["a"])}) == 1
