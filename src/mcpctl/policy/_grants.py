"""Grants: one verb on one scope, where it holds, and the binding (and path) it reached a subject by.

Rules and operations of role bindings and tokens become grants here; `narrow` intersects two of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import get_args

from mcpctl.schemas import KINDS, Identity, Operation, Rule

from ._tools import Term, ToolScope

ROLES: tuple[str, ...] = get_args(Rule.model_fields["role"].annotation)
"""`view create edit delete run`: verbs on resources."""
OPERATIONS: tuple[str, ...] = get_args(Operation.model_fields["action"].annotation)
"""`backup logs impersonate audit`: verbs on no resource."""
VERBS = (*ROLES, *OPERATIONS)
"""Every verb a decision may ask about."""
RESOURCES: tuple[str, ...] = tuple(r for r in get_args(Rule.model_fields["resource"].annotation) if r != "*")
"""Resource types rules name (`*` in a rule stands for all of them)."""
KIND_RESOURCES: dict[str, str] = {
    kind: f"{kind.lower()}s" for kind in KINDS if f"{kind.lower()}s" in RESOURCES
}
"""The resource type rules use for each kind that has one (`Server` → `servers`; not ProxyModel)."""
IMPLIES: dict[str, tuple[str, ...]] = {"edit": ("view",)}
"""Roles that grant other roles on the same scope too: what one may edit one may read."""

Atom = tuple[str | None, str, str | None, str | None, Term | None]
"""(project, verb, resource, name, tool term): one line of access changes; None parts mean "every"."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a rule is written: a RoleBinding's rule or operation, or one of an McpToken's own bindings."""

    binding: Identity
    """The RoleBinding, or the McpToken whose `spec.bindings` hold the rule."""
    field: str
    """`spec.rules[0]`, `spec.operations[1]` or `spec.bindings[0]`."""
    rule: str
    """The rule as written, in short: `run servers/git,time tools git_log`, `audit`."""

    def __str__(self) -> str:
        return f"{self.binding} {self.field}"


def scope_text(verb: str, resource: str | None, names: frozenset[str], tools: ToolScope) -> str:
    """`run servers/git,time tools git_diff*,git_log`, `edit *`, `audit`."""
    if resource is None:
        return verb
    text = f"{verb} {resource}"
    if names:
        text += "/" + ",".join(sorted(names))
    if not tools.any:
        text += f" tools {tools.text}"
    return text


@dataclass(frozen=True, slots=True)
class Grant:
    """One verb on one scope that a subject holds, with how it got it.

    The scope is `resource` (a type, `*` for all, None for an operation), `names` (every name when
    empty) and `tools` (for `run` on servers). A grant holds in `project`, or in every project (and
    outside any) when None.
    """

    verb: str
    """A role (`view` ... `run`) or an operation (`backup` ... `audit`)."""
    resource: str | None
    """`servers` ... `mcptokens`, `*` for every type; None for an operation."""
    names: frozenset[str]
    """Resource names it is limited to; every name when empty."""
    tools: ToolScope
    """Tools of the servers it covers (`ToolScope.ANY` but for tool-scoped `run` rules)."""
    project: str | None
    """The project it holds in; None: every project, and questions asked outside any."""
    origin: Origin
    """The rule that grants it."""
    group: str | None = None
    """The group it reached its user through (for a cloned grant: the owner's group)."""
    owner: str | None = None
    """For a `rbac: clone` token: the owner User it was cloned from."""
    limit: Origin | None = None
    """For a narrowed clone: the token's binding it was narrowed by."""
    implied_by: str | None = None
    """The role that implies this one (`edit` for an implied `view`)."""
    _atoms: frozenset[Atom] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def atoms(self) -> frozenset[Atom]:
        """The grant as access-change lines: one per name and tool term (None: every name, every tool)."""
        if self._atoms is None:
            names: list[str | None] = [*sorted(self.names)] if self.names else [None]
            terms: list[Term | None] = [*self.tools] if self.tools.terms is not None else [None]
            atoms = frozenset((self.project, self.verb, self.resource, n, t) for n in names for t in terms)
            # Grants are shared by every member of a group: work their atoms out once.
            object.__setattr__(self, "_atoms", atoms)
            return atoms
        return self._atoms

    @property
    def scope(self) -> str:
        """What it grants: `run servers/git tools git_log`, `audit`."""
        return scope_text(self.verb, self.resource, self.names, self.tools)

    @property
    def via(self) -> str:
        """How it reaches the subject: `direct`, `group G`, `token bindings`, `owner U [via group G]`."""
        if self.owner is not None:
            return f"owner {self.owner}" + (f" via group {self.group}" if self.group else "")
        if self.group is not None:
            return f"group {self.group}"
        return "token bindings" if self.origin.binding.kind == "McpToken" else "direct"

    def explain(self) -> str:
        """Why it is held: the rule, the way it came (group, owner) and any narrowing, in one line."""
        parts = [f"{self.origin} grants {self.origin.rule}"]
        if self.implied_by is not None:
            parts[0] += f" ({self.implied_by} implies {self.verb})"
        if self.group is not None:
            parts.append(f"via Group/{self.group}")
        if self.owner is not None:
            parts.append(f"cloned from owner User/{self.owner}")
        if self.limit is not None:
            parts.append(f"narrowed by {self.limit} to {self.scope}")
        if self.project is not None and self.origin.binding.project != self.project:
            parts.append(f"in project {self.project}")
        return ", ".join(parts)

    def cloned(self, owner: str, project: str) -> Grant:
        """This grant of `owner` as a clone token of `project` holds it."""
        # The constructor, not dataclasses.replace: a plan clones tens of thousands of grants.
        return Grant(
            self.verb, self.resource, self.names, self.tools, project, self.origin, self.group, owner,
            self.limit, self.implied_by,
        )  # fmt: skip

    def holds_in(self, project: str | None) -> bool:
        """Whether the grant answers questions asked in `project` (None: outside any project)."""
        return self.project is None or self.project == project


def rule_grants(rule: Rule, origin: Origin, project: str | None) -> list[Grant]:
    """The grants of one rule: its role, and the roles that role implies."""
    grant = Grant(
        verb=rule.role,
        resource=rule.resource,
        names=frozenset(rule.names),
        tools=ToolScope.of(rule.tools),
        project=project,
        origin=origin,
    )
    implied = [replace(grant, verb=verb, implied_by=rule.role) for verb in IMPLIES.get(rule.role, ())]
    return [grant, *implied]


def rule_text(rule: Rule) -> str:
    """A rule as `Origin.rule` writes it."""
    return scope_text(rule.role, rule.resource, frozenset(rule.names), ToolScope.of(rule.tools))


def binding_grants(
    binding: Identity, rules: list[Rule], operations: list[Operation], field: str = "spec.rules"
) -> list[Grant]:
    """The grants written in a RoleBinding (or, with `field="spec.bindings"`, an McpToken's own rules)."""
    project = binding.project
    grants: list[Grant] = []
    for index, rule in enumerate(rules):
        grants += rule_grants(rule, Origin(binding, f"{field}[{index}]", rule_text(rule)), project)
    for index, operation in enumerate(operations):
        origin = Origin(binding, f"spec.operations[{index}]", operation.action)
        grants.append(Grant(operation.action, None, frozenset(), ToolScope.ANY, project, origin))
    return grants


def narrow(grant: Grant, limit: Grant) -> Grant | None:
    """The part of `grant` that `limit` also covers, or None when they share nothing.

    A request is allowed by the result exactly when both allow it: same verb, the narrower resource
    (`*` gives way), names in both (every name only when neither limits them), tools both cover.
    """
    if grant.verb != limit.verb:
        return None
    if grant.resource == "*" or grant.resource is None:
        resource = limit.resource
    elif limit.resource in ("*", grant.resource):
        resource = grant.resource
    else:
        return None
    if grant.names and limit.names:
        names = grant.names & limit.names
        if not names:
            return None
    else:
        names = grant.names or limit.names
    tools = grant.tools.intersect(limit.tools)
    if tools.empty:
        return None
    return replace(grant, resource=resource, names=names, tools=tools, limit=limit.origin)
