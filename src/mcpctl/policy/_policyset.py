"""The RBAC state of an estate, indexed once: who each binding names, who is in each group, each token.

Built from any collection of resources (the desired state of a config repo, or the live store's);
permissions are worked out per subject on first use and kept, since a PolicySet never changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mcpctl.errors import UnknownSubject
from mcpctl.schemas import Group, Identity, LiveResource, McpToken, ResourceModel, RoleBinding, User

from ._grants import Grant, binding_grants, narrow
from ._permissions import Decision, PermissionSet
from ._subjects import SubjectRef, parse_subject, suggest

POLICY_KINDS = ("User", "Group", "RoleBinding", "McpToken")
"""The kinds policy reads; a PolicySet ignores every other kind it is given."""


def _binding_key(binding: RoleBinding) -> tuple[str, str]:
    return (binding.metadata.project or "", binding.metadata.name)


class PolicySet:
    """Users, groups, role bindings and tokens, indexed for permission questions.

    `PolicySet.from_resources(resources)` builds one; `permissions_of(subject)` and `decide(...)`
    answer questions. Token revocation and expiry are not policy's concern (auth refuses such tokens
    before policy is asked): a revoked token's permissions are still what its bindings say.
    """

    def __init__(
        self,
        users: Iterable[User] = (),
        groups: Iterable[Group] = (),
        bindings: Iterable[RoleBinding] = (),
        tokens: Iterable[McpToken] = (),
    ) -> None:
        self.users: dict[str, User] = {u.metadata.name: u for u in users}
        """Users by name."""
        self.groups: dict[str, Group] = {g.metadata.name: g for g in groups}
        """Groups by name."""
        self.bindings: tuple[RoleBinding, ...] = tuple(sorted(bindings, key=_binding_key))
        """Role bindings, global ones first, by project and name."""
        self.tokens: dict[tuple[str, str], McpToken] = {
            (t.metadata.project or "", t.metadata.name): t for t in tokens
        }
        """Tokens by (project, name)."""
        user_groups: dict[str, list[str]] = {}
        for name in sorted(self.groups):
            for member in self.groups[name].spec.members:
                user_groups.setdefault(member, []).append(name)
        self._user_groups = {user: tuple(names) for user, names in user_groups.items()}
        self.binding_ids: dict[Identity, RoleBinding] = {b.identity: b for b in self.bindings}
        """Role bindings by identity."""
        self._named: dict[SubjectRef, list[tuple[Identity, RoleBinding]]] = {}
        self._direct: dict[SubjectRef, list[Grant]] = {}
        """The grants of the bindings naming each subject, in binding order."""
        for identity, binding in self.binding_ids.items():
            spec = binding.spec
            grants = binding_grants(identity, spec.rules, spec.operations)
            for subject in spec.subjects:
                if subject.kind == "McpToken":
                    # A token is named only by bindings of its own project (validation rejects others).
                    if binding.metadata.project is None:
                        continue
                    ref = SubjectRef("McpToken", subject.name, binding.metadata.project)
                else:
                    ref = SubjectRef(subject.kind, subject.name)
                self._named.setdefault(ref, []).append((identity, binding))
                self._direct.setdefault(ref, []).extend(grants)
        self._service_accounts = sorted(r.name for r in self._named if r.kind == "ServiceAccount")
        # Worked out on first use, once: per subject, and per group for every member.
        self._cache: dict[SubjectRef, PermissionSet] = {}
        self._grants_via: dict[str, list[Grant]] = {}
        self._reaching_via: dict[str, list[tuple[Identity, str]]] = {}

    @classmethod
    def from_resources(cls, resources: Iterable[ResourceModel | LiveResource]) -> PolicySet:
        """A PolicySet of the Users, Groups, RoleBindings and McpTokens among `resources`.

        From a config repo: `PolicySet.from_resources(load_and_validate(paths).models())`; from the
        live store: `PolicySet.from_resources(r for k in POLICY_KINDS for r in store.list_resources(k))`.
        """
        users: list[User] = []
        groups: list[Group] = []
        bindings: list[RoleBinding] = []
        tokens: list[McpToken] = []
        for item in resources:
            resource = item.resource if isinstance(item, LiveResource) else item
            if isinstance(resource, User):
                users.append(resource)
            elif isinstance(resource, Group):
                groups.append(resource)
            elif isinstance(resource, RoleBinding):
                bindings.append(resource)
            elif isinstance(resource, McpToken):
                tokens.append(resource)
        return cls(users, groups, bindings, tokens)

    def subjects(self) -> list[SubjectRef]:
        """Every subject known: users, groups, service accounts bindings name, tokens; in listing order."""
        found = [SubjectRef("User", name) for name in self.users]
        found += [SubjectRef("Group", name) for name in self.groups]
        found += [SubjectRef("ServiceAccount", name) for name in self._service_accounts]
        found += [SubjectRef("McpToken", name, project) for project, name in self.tokens]
        return sorted(found, key=lambda s: s.sort_key)

    def knows(self, subject: SubjectRef) -> bool:
        """Whether the subject is defined (a service account: named by some role binding)."""
        if subject.kind == "User":
            return subject.name in self.users
        if subject.kind == "Group":
            return subject.name in self.groups
        if subject.kind == "ServiceAccount":
            return subject in self._named
        return (subject.project or "", subject.name) in self.tokens

    def groups_of(self, user: str) -> tuple[str, ...]:
        """Names of the groups the user is a member of, sorted."""
        return self._user_groups.get(user, ())

    def bindings_for(self, subject: SubjectRef | str) -> list[tuple[RoleBinding, str]]:
        """Role bindings naming the subject, with how: `direct`, or `group G` for a user's groups."""
        return [(self.binding_ids[identity], via) for identity, via in self.reaching(self._ref(subject))]

    def reaching(self, subject: SubjectRef) -> list[tuple[Identity, str]]:
        """`bindings_for` as binding identities: what the subject's permissions are made of."""
        found = [(identity, "direct") for identity, _ in self._named.get(subject, ())]
        if subject.kind == "User":
            for group in self.groups_of(subject.name):
                found += self._group_reaching(group)
        return found

    def _group_reaching(self, group: str) -> list[tuple[Identity, str]]:
        found = self._reaching_via.get(group)
        if found is None:
            named = self._named.get(SubjectRef("Group", group), ())
            found = self._reaching_via[group] = [(identity, f"group {group}") for identity, _ in named]
        return found

    def permissions_of(
        self, subject: SubjectRef | str, project: str | None = None, *, strict: bool = True
    ) -> PermissionSet:
        """What the subject may do, with provenance; with `project`, only what holds in that project.

        Raises UnknownSubject for a user, group or token that is not defined, or a service account
        no role binding names; with `strict=False` such a subject simply holds nothing.
        """
        permissions = self._permissions(self._ref(subject), strict=strict)
        return permissions if project is None else permissions.in_project(project)

    def decide(
        self,
        who: SubjectRef | str | PermissionSet,
        verb: str,
        resource: str | None = None,
        name: str | None = None,
        tool: str | None = None,
        project: str | None = None,
    ) -> Decision:
        """`PermissionSet.decide` for a subject (or permissions already looked up)."""
        permissions = who if isinstance(who, PermissionSet) else self.permissions_of(who)
        return permissions.decide(verb, resource, name, tool, project)

    def _ref(self, subject: SubjectRef | str) -> SubjectRef:
        return parse_subject(subject) if isinstance(subject, str) else subject

    def _unknown(self, subject: SubjectRef) -> UnknownSubject:
        known = [str(s) for s in self.subjects() if s.kind == subject.kind]
        return UnknownSubject(f"{subject} is not defined{suggest(str(subject), known)}")

    def _permissions(self, subject: SubjectRef, *, strict: bool) -> PermissionSet:
        """The subject's permissions; an unknown subject raises (strict) or has none."""
        cached = self._cache.get(subject)
        if cached is not None:
            return cached
        if not self.knows(subject):
            if strict:
                raise self._unknown(subject)
            return PermissionSet(subject, (), home=subject.project)
        if subject.kind == "McpToken":
            permissions = self._token_permissions(subject)
        else:
            permissions = PermissionSet(subject, self._subject_grants(subject))
        self._cache[subject] = permissions
        return permissions

    def _subject_grants(self, subject: SubjectRef) -> list[Grant]:
        grants = list(self._direct.get(subject, ()))
        if subject.kind == "User":
            for group in self.groups_of(subject.name):
                grants += self._group_grants(group)
        return grants

    def _group_grants(self, group: str) -> list[Grant]:
        """The group's grants as its members hold them (marked with the group), made once per group."""
        found = self._grants_via.get(group)
        if found is None:
            direct = self._direct.get(SubjectRef("Group", group), ())
            found = self._grants_via[group] = [replace(g, group=group) for g in direct]
        return found

    def _token_permissions(self, subject: SubjectRef) -> PermissionSet:
        project = subject.project or ""
        token = self.tokens[(project, subject.name)]
        own = binding_grants(token.identity, token.spec.bindings, [], field="spec.bindings")
        own += self._subject_grants(subject)
        if token.spec.rbac == "empty" or token.spec.owner is None:
            return PermissionSet(subject, own, home=project)
        owner = token.spec.owner
        if owner not in self.users:
            note = f"its owner User/{owner} is not defined"
            return PermissionSet(subject, (), home=project, notes=(note,))
        cloned = [
            g.cloned(owner, project)
            for g in self._permissions(SubjectRef("User", owner), strict=True).grants
            if g.holds_in(project)
        ]
        if not own:
            return PermissionSet(subject, cloned, home=project)
        narrowed: dict[tuple[object, ...], Grant] = {}
        for grant in cloned:
            for limit in own:
                kept = narrow(grant, limit)
                if kept is not None:
                    narrowed.setdefault((kept.verb, kept.resource, kept.names, kept.tools), kept)
        return PermissionSet(subject, narrowed.values(), home=project)
