"""Who policy answers for: users, groups, service accounts and tokens, written as plans write them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple

from mcpctl.errors import UsageError

SUBJECT_KINDS = ("User", "Group", "ServiceAccount", "McpToken")
"""Kinds of subjects, in the order listings and access changes show them."""
_KIND_WORDS = {
    **{kind.lower(): kind for kind in SUBJECT_KINDS},
    "users": "User",
    "groups": "Group",
    "sa": "ServiceAccount",
    "serviceaccounts": "ServiceAccount",
    "token": "McpToken",
    "tokens": "McpToken",
    "mcptokens": "McpToken",
}


class SubjectRef(NamedTuple):
    """One subject: `User/alice`, `Group/ops`, `ServiceAccount/ci`, `McpToken/<project>/<name>`."""

    kind: str
    name: str
    project: str | None = None
    """The token's project (McpToken only)."""

    def __str__(self) -> str:
        if self.project is not None:
            return f"{self.kind}/{self.project}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Users, groups, service accounts, then tokens; by project and name within a kind."""
        return (SUBJECT_KINDS.index(self.kind), self.project or "", self.name)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean "X"?` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def parse_subject(text: str, project: str | None = None) -> SubjectRef:
    """`User/alice`, `Group/ops`, `ServiceAccount/ci` or `McpToken/<project>/<name>` as a SubjectRef.

    Kinds may be written in lowercase (`user/alice`, `token/demo/ci`); a token written without its
    project (`McpToken/ci`) takes `project`. Anything else is a UsageError saying what was expected.
    """
    word, _, rest = text.partition("/")
    kind = word if word in SUBJECT_KINDS else _KIND_WORDS.get(word.lower())
    if kind is None:
        raise UsageError(
            f'unknown subject kind "{word}" in "{text}"{suggest(word, SUBJECT_KINDS)} '
            f"(write User/NAME, Group/NAME, ServiceAccount/NAME or McpToken/PROJECT/NAME)"
        )
    parts = rest.split("/") if rest else []
    if kind == "McpToken" and len(parts) == 1 and project is not None:
        parts = [project, parts[0]]
    expected = 2 if kind == "McpToken" else 1
    if len(parts) != expected or not all(parts):
        form = "McpToken/PROJECT/NAME" if kind == "McpToken" else f"{kind}/NAME"
        raise UsageError(f'subject "{text}" should be written {form}')
    if kind == "McpToken":
        return SubjectRef(kind, parts[1], parts[0])
    return SubjectRef(kind, parts[0])
