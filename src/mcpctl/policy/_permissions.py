"""A subject's effective permissions, indexed by verb and resource, and the decisions they give.

`decide` answers one question with the grant that allows it (or why nothing does); `allows` is the
same answer as a bare bool for hot paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mcpctl.errors import UsageError

from ._grants import OPERATIONS, RESOURCES, VERBS, Atom, Grant
from ._subjects import SubjectRef, suggest
from ._tools import ToolScope

NO_RULE = "no rule grants it"
"""The reason of a denial when nothing comes close."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one question, and why: the grant that allows it, or what is missing."""

    allowed: bool
    reason: str
    """One line: the rule that grants it and how it reaches the subject, or why nothing does."""
    grant: Grant | None = None
    """The grant that allows it (None when denied)."""

    def __bool__(self) -> bool:
        return self.allowed


def check_request(verb: str, resource: str | None, name: str | None, tool: str | None) -> None:
    """Raise UsageError for a question policy cannot answer (unknown verb or resource, misplaced tool)."""
    if verb not in VERBS:
        raise UsageError(f'unknown verb "{verb}"{suggest(verb, VERBS)} (one of: {", ".join(VERBS)})')
    if verb in OPERATIONS:
        if resource is not None:
            raise UsageError(f'"{verb}" is an operation: it takes no resource')
        return
    if resource is None:
        raise UsageError(f'"{verb}" needs a resource (one of: {", ".join(RESOURCES)}, *)')
    if resource != "*" and resource not in RESOURCES:
        raise UsageError(f'unknown resource "{resource}"{suggest(resource, RESOURCES)}')
    if tool is not None and (verb, resource) != ("run", "servers"):
        raise UsageError("only run on servers has tools")


class PermissionSet:
    """Everything one subject may do: its grants, each with provenance, indexed for decisions.

    For an McpToken, `home` is its project: questions without a project are asked in it, and
    questions in any other project are denied (a token acts only in its own project).
    """

    __slots__ = ("_atoms", "_index", "grants", "home", "notes", "subject")

    def __init__(
        self,
        subject: SubjectRef,
        grants: Iterable[Grant],
        *,
        home: str | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        self.subject = subject
        """Whose permissions these are."""
        self.grants: tuple[Grant, ...] = tuple(grants)
        """Every grant, most direct first (own bindings, then groups, then cloned)."""
        self.home = home
        """The project a token acts in; None for other subjects."""
        self.notes: tuple[str, ...] = tuple(notes)
        """Facts that explain missing permissions (an undefined owner, ...), added to denials."""
        self._index: dict[tuple[str, str | None], tuple[Grant, ...]] | None = None
        self._atoms: frozenset[Atom] | None = None

    def __iter__(self) -> Iterator[Grant]:
        return iter(self.grants)

    def __len__(self) -> int:
        return len(self.grants)

    def __repr__(self) -> str:
        return f"PermissionSet({self.subject}, {len(self.grants)} grants)"

    def _by_key(self) -> dict[tuple[str, str | None], tuple[Grant, ...]]:
        # Built on the first question: access changes compare thousands of sets and ask few of them.
        if self._index is None:
            index: dict[tuple[str, str | None], list[Grant]] = {}
            for grant in self.grants:
                index.setdefault((grant.verb, grant.resource), []).append(grant)
            self._index = {key: tuple(found) for key, found in index.items()}
        return self._index

    def _asked_in(self, project: str | None) -> tuple[bool, str | None]:
        """Whether the subject acts in `project` at all, and the project asked in (a token's by default)."""
        if self.home is None:
            return True, project
        return project in (None, self.home), self.home

    def _candidates(self, verb: str, resource: str | None) -> tuple[Grant, ...]:
        index = self._index if self._index is not None else self._by_key()
        exact = index.get((verb, resource), ())
        if resource is None or resource == "*":
            return exact
        wild = index.get((verb, "*"), ())
        return exact + wild if exact and wild else exact or wild

    def _match(
        self, verb: str, resource: str | None, name: str | None, tool: str | None, project: str | None
    ) -> Grant | None:
        for grant in self._candidates(verb, resource):
            if (
                (grant.project is None or grant.project == project)
                and (not grant.names or name in grant.names)
                and grant.tools.allows(tool)
            ):
                return grant
        return None

    def allows(
        self,
        verb: str,
        resource: str | None = None,
        name: str | None = None,
        tool: str | None = None,
        project: str | None = None,
    ) -> bool:
        """`decide(...).allowed` without the reason (and without checking the question's words)."""
        acts, where = self._asked_in(project)
        return acts and self._match(verb, resource, name, tool, where) is not None

    def decide(
        self,
        verb: str,
        resource: str | None = None,
        name: str | None = None,
        tool: str | None = None,
        project: str | None = None,
    ) -> Decision:
        """May the subject `verb` the `resource` (named `name`; for `run servers`, its `tool`) in `project`?

        Without `name` the question is about every name (a tool without a name: that tool of every
        server), without `tool` about the whole server (its tools, prompts and resources): a grant
        limited to some names or tools does not answer yes.
        Operations (`audit` ...) take no resource. Project None asks outside any project: only
        grants that hold everywhere answer it (for a token, None means its own project).
        """
        check_request(verb, resource, name, tool)
        acts, where = self._asked_in(project)
        if not acts:
            return Decision(False, f"{self.subject} acts only in project {self.home}")
        grant = self._match(verb, resource, name, tool, where)
        if grant is not None:
            return Decision(True, grant.explain(), grant)
        return Decision(False, self._denial(verb, resource, where))

    def _denial(self, verb: str, resource: str | None, project: str | None) -> str:
        # Name the closest grants (same verb and resource type), so "no" says what would be allowed.
        near = [g for g in self._candidates(verb, resource) if g.holds_in(project)]
        reason = NO_RULE
        if near:
            shown = "; ".join(f"{g.scope} by {g.origin}" for g in near[:3])
            reason += f" (nearest: {shown}{'; ...' if len(near) > 3 else ''})"
        elif not self.grants:
            reason += f" ({self.subject} holds no permissions)"
        else:
            elsewhere = sorted({g.project for g in self._candidates(verb, resource) if g.project})
            if elsewhere:
                reason += f" here (it holds in project {', '.join(elsewhere)})"
        return "; ".join([reason, *self.notes])

    def in_project(self, project: str | None) -> PermissionSet:
        """The grants that answer questions in `project` (None: those holding outside any project)."""
        if self.home is not None and project not in (None, self.home):
            note = f"{self.subject} acts only in project {self.home}"
            return PermissionSet(self.subject, (), home=self.home, notes=(*self.notes, note))
        return PermissionSet(
            self.subject,
            (g for g in self.grants if g.holds_in(project if self.home is None else self.home)),
            home=self.home,
            notes=self.notes,
        )

    def tool_scope(self, server: str, project: str | None = None) -> ToolScope:
        """The tools of `server` the subject may run in `project`: a filter for tool listings."""
        acts, where = self._asked_in(project)
        scope = ToolScope(())
        for grant in self._candidates("run", "servers") if acts else ():
            if grant.holds_in(where) and (not grant.names or server in grant.names):
                scope = scope.union(grant.tools)
                if scope.any:
                    break
        return scope

    def operations(self, project: str | None = None) -> tuple[str, ...]:
        """The operations the subject may perform in `project`, in their usual order."""
        return tuple(op for op in OPERATIONS if self.allows(op, project=project))

    def atoms(self) -> frozenset[Atom]:
        """Every grant's access-change lines (`Grant.atoms`)."""
        if self._atoms is None:
            self._atoms = frozenset().union(*(g.atoms for g in self.grants))
        return self._atoms

    def covers(self, atom: Atom) -> bool:
        """Whether everything `atom` stands for is allowed (sound: a glob term may be reported uncovered)."""
        project, verb, resource, name, term = atom
        for grant in self._candidates(verb, resource):
            if (
                (grant.project is None or grant.project == project)
                and (not grant.names or (name is not None and name in grant.names))
                and grant.tools.covers(term)
            ):
                return True
        return False
