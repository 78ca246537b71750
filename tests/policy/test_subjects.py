"""Tests of mcpctl.policy._subjects: subjects written as plans write identities."""

from __future__ import annotations

import pytest

from mcpctl.errors import UsageError
from mcpctl.policy import SubjectRef, parse_subject


@pytest.mark.parametrize(
    ("text", "project", "expected"),
    [
        ("User/alice", None, SubjectRef("User", "alice")),
        ("user/alice", None, SubjectRef("User", "alice")),
        ("Group/ops", None, SubjectRef("Group", "ops")),
        ("ServiceAccount/ci", None, SubjectRef("ServiceAccount", "ci")),
        ("sa/ci", None, SubjectRef("ServiceAccount", "ci")),
        ("McpToken/demo/ci", None, SubjectRef("McpToken", "ci", "demo")),
        ("token/demo/ci", "other", SubjectRef("McpToken", "ci", "demo")),
        ("McpToken/ci", "demo", SubjectRef("McpToken", "ci", "demo")),
    ],
)
def test_parse_subject(text: str, project: str | None, expected: SubjectRef) -> None:
    assert parse_subject(text, project) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Usr/alice", 'unknown subject kind "Usr" in "Usr/alice"; did you mean "User"?'),
        ("alice", 'unknown subject kind "alice"'),
        ("User/", 'subject "User/" should be written User/NAME'),
        ("User/a/b", "should be written User/NAME"),
        ("McpToken/ci", "should be written McpToken/PROJECT/NAME"),
        ("McpToken/demo/", "should be written McpToken/PROJECT/NAME"),
    ],
)
def test_badly_written_subjects_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_subject(text)


def test_subjects_print_as_plans_write_them_and_sort_by_kind() -> None:
    found = [SubjectRef("McpToken", "ci", "demo"), SubjectRef("Group", "ops"), SubjectRef("User", "zed")]
    assert [str(s) for s in sorted(found, key=lambda s: s.sort_key)] == [
        "User/zed",
        "Group/ops",
        "McpToken/demo/ci",
    ]
