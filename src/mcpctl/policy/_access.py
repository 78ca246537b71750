"""Access changes: what each subject may newly do, or may no longer do, between two states of an estate.

Each change is a statement about one scope that became true (granted) or false (revoked). Narrower
statements that hold on both sides are not listed: narrowing `run servers` to `run servers/git` is
one line, `- ... may run servers`, while `may run servers/git` stays true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mcpctl.schemas import Identity, LiveResource, ResourceModel

from ._grants import VERBS, Atom
from ._permissions import PermissionSet
from ._policyset import PolicySet
from ._subjects import SubjectRef
from ._tools import _implies, term_text

Change = Literal["granted", "revoked"]


@dataclass(frozen=True, slots=True)
class AccessChange:
    """One scope a subject gains (`granted`) or loses (`revoked`); None parts mean "every"."""

    subject: str
    """As plans write identities: `User/alice`, `Group/ops`, `ServiceAccount/ci`, `McpToken/demo/ci`."""
    verb: str
    """A role or an operation."""
    resource: str | None
    """`servers` ... or `*`; None for an operation."""
    name: str | None
    """The resource name, or None for every name."""
    tool: str | None
    """For `run servers`: the tool (a name, a glob, or globs joined by `&` that must all match)."""
    project: str | None
    """The project it holds in, or None for every project."""
    change: Change
    """`granted` or `revoked`."""

    @property
    def target(self) -> str:
        """`servers/git/git_log`, `servers/git`, `servers`, `*/x`; empty for an operation."""
        if self.resource is None:
            return ""
        parts = [self.resource]
        if self.name is not None or self.tool is not None:
            parts.append(self.name or "*")
        if self.tool is not None:
            parts.append(self.tool)
        return "/".join(parts)

    def __str__(self) -> str:
        sign = "+" if self.change == "granted" else "-"
        text = f"{sign} {self.subject} may {self.verb}"
        if self.resource is not None:
            text += f" {self.target}"
        if self.project is not None and not self.subject.startswith("McpToken/"):
            text += f" in project {self.project}"
        return text

    def to_dict(self) -> dict[str, str | None]:
        """The plan JSON object: subject, verb, resource, name, tool, project, change."""
        return {
            "subject": self.subject,
            "verb": self.verb,
            "resource": self.resource,
            "name": self.name,
            "tool": self.tool,
            "project": self.project,
            "change": self.change,
        }


def _policy(state: PolicySet | Iterable[ResourceModel | LiveResource]) -> PolicySet:
    return state if isinstance(state, PolicySet) else PolicySet.from_resources(state)


def access_changes(
    before: PolicySet | Iterable[ResourceModel | LiveResource],
    after: PolicySet | Iterable[ResourceModel | LiveResource],
) -> list[AccessChange]:
    """What every subject gains or loses from `before` (the live state) to `after` (the desired one).

    Subjects present on one side only gain (or lose) everything. Sorted by subject (users, groups,
    service accounts, tokens), then project, resource (operations last), name, tool and verb.
    """
    old, new = _policy(before), _policy(after)
    edited = _edited_bindings(old, new)
    changes: list[AccessChange] = []
    for subject in sorted({*old.subjects(), *new.subjects()}, key=lambda s: s.sort_key):
        if _same_inputs(old, new, subject, edited):
            continue
        was = old.permissions_of(subject, strict=False)
        now = new.permissions_of(subject, strict=False)
        if was.atoms() == now.atoms():
            continue
        label = str(subject)
        found = [_change(label, atom, "granted") for atom in _widest(_uncovered(now, was))]
        found += [_change(label, atom, "revoked") for atom in _widest(_uncovered(was, now))]
        changes += sorted(found, key=_order)
    return changes


def _edited_bindings(old: PolicySet, new: PolicySet) -> set[Identity]:
    """Role bindings that differ, come or go between the two states."""
    was, now = old.binding_ids, new.binding_ids
    return {identity for identity in was.keys() | now.keys() if was.get(identity) != now.get(identity)}


def _same_inputs(old: PolicySet, new: PolicySet, subject: SubjectRef, edited: set[Identity]) -> bool:
    """Whether everything the subject's permissions are made of is unchanged (then they are too)."""
    if old.knows(subject) != new.knows(subject):
        return False
    reaching = old.reaching(subject)
    if reaching != new.reaching(subject):
        return False
    if any(identity in edited for identity, _ in reaching):
        return False
    if subject.kind != "McpToken":
        return True
    key = (subject.project or "", subject.name)
    token = old.tokens.get(key)
    if token != new.tokens.get(key):
        return False
    owner = token.spec.owner if token is not None and token.spec.rbac == "clone" else None
    return owner is None or _same_inputs(old, new, SubjectRef("User", owner), edited)


def _uncovered(side: PermissionSet, other: PermissionSet) -> list[Atom]:
    """The atoms of `side` that `other` does not allow."""
    return [atom for atom in side.atoms() - other.atoms() if not other.covers(atom)]


def _atom_covers(wide: Atom, atom: Atom) -> bool:
    project, verb, resource, name, term = wide
    return (
        verb == atom[1]
        and (resource == "*" or resource == atom[2])
        and (project is None or project == atom[0])
        and (name is None or name == atom[3])
        and (term is None or (atom[4] is not None and _implies(atom[4], term)))
    )


def _atom_key(atom: Atom) -> tuple[str, ...]:
    project, verb, resource, name, term = atom
    return (project or "", verb, resource or "", name or "", term_text(term) if term else "")


def _widest(atoms: list[Atom]) -> list[Atom]:
    """The atoms no other atom of the list covers: `+ run servers` makes `+ run servers/git` noise."""
    ordered = sorted(atoms, key=_atom_key)
    kept: list[Atom] = []
    for atom in ordered:
        # Of two atoms covering each other (`a*` and `a**`), the first in order stays.
        if not any(_atom_covers(wide, atom) for wide in kept):
            kept = [k for k in kept if not _atom_covers(atom, k)]
            kept.append(atom)
    return kept


def _change(subject: str, atom: Atom, change: Change) -> AccessChange:
    project, verb, resource, name, term = atom
    tool = term_text(term) if term is not None else None
    return AccessChange(subject, verb, resource, name, tool, project, change)


def _order(change: AccessChange) -> tuple[str, bool, str, str, str, int, str]:
    # Within a subject: by project, resources before operations, then scope, verb and change.
    return (
        change.project or "",
        change.resource is None,
        change.resource or "",
        change.name or "",
        change.tool or "",
        VERBS.index(change.verb),
        change.change,
    )
