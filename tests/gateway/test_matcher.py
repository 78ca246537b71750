"""The gate's deterministic matcher: terms, BM25 ranking over the 44-tool catalog, ties, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcpctl.gateway import Candidate, Matcher
from mcpctl.gateway._matcher import pick, terms, tool_text

CATALOG = json.loads((Path(__file__).parent / "servers" / "catalog.json").read_text())


def catalog() -> list[Candidate]:
    return [
        Candidate(
            f"{server}__{tool['name']}",
            tool["name"],
            server,
            tool_text(
                tool["description"],
                {"properties": {k: {"description": v} for k, v in tool["params"].items()}},
            ),
        )
        for server, tools in CATALOG.items()
        for tool in tools
    ]


def test_terms_split_identifiers_stem_and_drop_stop_words() -> None:
    assert terms("createPullRequest") == terms("create_pull_request") == terms("creating pull requests")
    assert terms("the issues of my repositories") == ["issu", "repositori"]
    assert terms("HTTPServer v2") == ["http", "server", "2"]  # one-letter words go, numbers stay
    # Synonyms fold onto one stem: a task that says "remove" finds a tool that says "delete".
    assert terms("delete") == terms("remove")


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("open a jira ticket for the login bug", "jira__create_ticket"),
        ("post a message in the #ops slack channel", "slack__post_message"),
        ("which SQL queries are slow in postgres", "postgres__list_slow_queries"),
        ("merge the approved pull request 42", "github__merge_pull_request"),
        ("schedule a meeting with the team next week", "calendar__create_event"),
        ("rename the config file", "files__move_file"),
        ("remove the old log file", "files__delete_file"),
    ],
)
def test_realistic_tasks_rank_the_right_tool_in_the_top_three(task: str, expected: str) -> None:
    ranked = Matcher(catalog()).rank(task, 3)
    assert expected in [r.name for r in ranked], ranked


def test_ranking_is_deterministic_and_ties_break_by_name() -> None:
    twins = [Candidate("b__same", "same", "b", "x"), Candidate("a__same", "same", "a", "x")]
    ranked = Matcher(twins).rank("same")
    assert [r.name for r in ranked] == ["a__same", "b__same"]
    assert ranked[0].score == ranked[1].score > 0
    first = Matcher(catalog()).rank("read the file and search it")
    assert first == Matcher(list(reversed(catalog()))).rank("read the file and search it")


def test_nothing_matching_ranks_nothing_and_limits_hold() -> None:
    matcher = Matcher(catalog())
    assert matcher.rank("zzzz qqqq") == []
    assert matcher.rank("") == []
    assert len(matcher.rank("list", 5)) == 5
    excluded = matcher.rank("list", exclude=["slack__list_channels"])
    assert "slack__list_channels" not in [r.name for r in excluded]
    assert Matcher([]).rank("anything") == []


def test_a_word_every_tool_shares_still_scores_positive() -> None:
    # Lucene's IDF stays positive where BM25Okapi's goes negative (a word in more than half the tools).
    common = [Candidate(f"s__t{i}", f"t{i}", "s", "ticket") for i in range(5)]
    assert all(r.score > 0 for r in Matcher(common).rank("ticket"))


def test_pick_keeps_the_best_and_drops_far_weaker_matches() -> None:
    ranked = Matcher(catalog()).rank("send an email to the customer")
    assert ranked[0].name == "email__send_email"
    kept = pick(ranked, 8, cutoff=0.5)
    assert kept[0] == "email__send_email" and len(kept) <= 8
    assert all(r.score >= ranked[0].score * 0.5 for r in ranked if r.name in kept)
    assert pick([], 8) == []


def test_tool_text_bounds_what_an_upstream_controls() -> None:
    schema = {"properties": {f"p{i}": {"description": "d" * 500} for i in range(100)}}
    text = tool_text("x" * 10_000, schema)
    assert len(text) <= 4000
    assert tool_text(None, None) == ""


def test_long_tasks_are_cut_before_ranking() -> None:
    matcher = Matcher(catalog())
    assert matcher.rank("email " * 100_000, 1)[0].name.startswith("email__")
