"""Relation queries over the live store for `get`, `describe`, `create` and `delete`.

Reads only through the public Store reading methods, so an in-memory reader serves tests just as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from mcpctl.errors import ResourceNotFound, UsageError
from mcpctl.plan import dependency_key, describe_identity, kind_rank
from mcpctl.policy import POLICY_KINDS, Grant, PermissionSet, PolicySet, SubjectRef
from mcpctl.schemas import (
    BUILTIN_PROXY_MODELS,
    KINDS,
    Group,
    Identity,
    LiveResource,
    McpToken,
    Project,
    Prompt,
    ProxyModel,
    Reference,
    ResourceModel,
    RoleBinding,
    Server,
    Stage,
    ToolPins,
    parse_resource,
    project_stages,
    references,
    referrers,
    token_status,
)


class ResourceReader(Protocol):
    """The reading half of `mcpctl.store.Store` that relation queries need."""

    def list_resources(self, kind: str | None = None, project: str | None = None) -> list[LiveResource]: ...

    def get_resource(self, identity: Identity) -> LiveResource | None: ...


class Inventory:
    """A read-through cache of the live store, one query per kind, for the length of one command."""

    def __init__(self, reader: ResourceReader) -> None:
        self._reader = reader
        self._by_kind: dict[str, list[LiveResource]] = {}
        self._index: dict[str, dict[Identity, LiveResource]] = {}

    def of_kind(self, kind: str, project: str | None = None) -> list[LiveResource]:
        """Live resources of one kind (optionally of one project), sorted by project then name."""
        if kind not in self._by_kind:
            found = self._reader.list_resources(kind)
            self._by_kind[kind] = sorted(found, key=lambda r: (r.identity.project or "", r.identity.name))
            self._index[kind] = {live.identity: live for live in found}
        rows = self._by_kind[kind]
        if project is None:
            return list(rows)
        return [r for r in rows if r.identity.project == project]

    def get(self, kind: str, name: str, project: str | None = None) -> LiveResource | None:
        """The resource with this identity, or None."""
        identity = Identity(kind, project, name)
        if kind in self._index:
            return self._index[kind].get(identity)
        # One row does not justify reading the whole kind; relation queries will read it if they need to.
        return self._reader.get_resource(identity)

    def exists(self, kind: str, name: str, project: str | None = None) -> bool:
        """Whether the resource with this identity is stored."""
        return self.get(kind, name, project) is not None

    def lookup(self, identity: Identity) -> LiveResource | None:
        """The resource with this identity, or None."""
        return self.get(identity.kind, identity.name, identity.project)

    def find(self, kind: str, name: str, project: str | None = None) -> LiveResource:
        """The one resource a user named; without a project, a project-scoped name must be unambiguous."""
        scope = KINDS[kind].scope
        if scope == "global" or project is not None:
            found = self.get(kind, name, project if scope != "global" else None)
            if found is None:
                raise ResourceNotFound(f"{describe_identity(Identity(kind, project, name))} not found")
            return found
        matches = [live for live in self.of_kind(kind) if live.identity.name == name]
        # A RoleBinding may be global or in a project: without -p its name means the global one first.
        unscoped = [live for live in matches if live.identity.project is None]
        if unscoped:
            return unscoped[0]
        if not matches:
            raise ResourceNotFound(f'{kind} "{name}" not found')
        if len(matches) > 1:
            projects = ", ".join(live.identity.project or "(global)" for live in matches)
            raise UsageError(f'{kind} "{name}" exists in several projects ({projects}); choose one with -p')
        return matches[0]


def missing_references(inventory: Inventory, resource: ResourceModel) -> list[str]:
    """One message per reference of `resource` whose target is not stored."""
    problems = []
    for ref in references(resource):
        if inventory.lookup(ref.target) is None:
            problems.append(f"{ref.field}: {describe_identity(ref.target)} not found")
    return problems


def dependents(inventory: Inventory, identity: Identity) -> list[Reference]:
    """Every stored reference to `identity`, sorted by referring identity."""
    found = [
        ref
        for kind in referrers(identity.kind)
        for live in inventory.of_kind(kind)
        for ref in references(live.resource)
        if ref.target == identity
    ]
    return sorted(found, key=lambda ref: dependency_key(ref.source))


def user_bindings(inventory: Inventory, user: str) -> list[tuple[LiveResource, str]]:
    """Role bindings reaching a user, directly or through a group, with how (`direct`, `group g`)."""
    groups = [g.identity.name for g in inventory.of_kind("Group") if user in _members(g.resource)]
    found = []
    for live in inventory.of_kind("RoleBinding"):
        assert isinstance(live.resource, RoleBinding)
        for subject in live.resource.spec.subjects:
            if subject.kind == "User" and subject.name == user:
                found.append((live, "direct"))
            elif subject.kind == "Group" and subject.name in groups:
                found.append((live, f"group {subject.name}"))
    return found


def _members(resource: ResourceModel) -> list[str]:
    return resource.spec.members if isinstance(resource, Group) else []


def policy_of(inventory: Inventory) -> PolicySet:
    """The RBAC of everything the inventory reads: users, groups, role bindings, tokens."""
    return PolicySet.from_resources(live for kind in POLICY_KINDS for live in inventory.of_kind(kind))


def permissions_of(inventory: Inventory, subject: SubjectRef) -> PermissionSet:
    """What a subject may do, each grant with its provenance (the one evaluator, `mcpctl.policy`)."""
    return policy_of(inventory).permissions_of(subject, strict=False)


def token_bindings(inventory: Inventory, token: LiveResource) -> list[LiveResource]:
    """Role bindings of the token's project that name the token as a subject."""
    found = []
    for live in inventory.of_kind("RoleBinding", token.identity.project):
        assert isinstance(live.resource, RoleBinding)
        if any(s.kind == "McpToken" and s.name == token.identity.name for s in live.resource.spec.subjects):
            found.append(live)
    return found


@dataclass(frozen=True)
class Section:
    """A titled table of related resources in `describe`."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


PERMISSION_COLUMNS = ("PROJECT", "VERB", "RESOURCE", "NAMES", "TOOLS", "VIA", "FROM", "NARROWED-BY")
"""Columns of a grant row, in `describe` and `auth can-i --list`."""


def grant_row(grant: Grant) -> tuple[str, ...]:
    """A grant as a table row (see PERMISSION_COLUMNS): its scope, how it reaches the subject, its rule."""
    via = grant.via
    if grant.implied_by is not None:
        via += f", {grant.implied_by} implies {grant.verb}"
    if grant.resource is None:
        names = tools = "-"
    else:
        names, tools = ",".join(sorted(grant.names)) or "*", grant.tools.text
    return (
        grant.project or "*",
        grant.verb,
        grant.resource or "-",
        names,
        tools,
        via,
        str(grant.origin),
        str(grant.limit) if grant.limit is not None else "-",
    )


def permission_sections(permissions: PermissionSet) -> list[Section]:
    """`Effective permissions` (every grant with provenance), and `Notes` when something explains gaps."""
    sections = [Section("Effective permissions", PERMISSION_COLUMNS, [grant_row(g) for g in permissions])]
    if permissions.notes:
        sections.append(Section("Notes", ("NOTE",), [(note,) for note in permissions.notes]))
    return sections


def _present(flag: bool) -> str:
    return "present" if flag else "missing"


def relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    """The related resources `describe` shows for one resource."""
    builder = _RELATIONS.get(live.identity.kind)
    return builder(inventory, live, now) if builder else []


def _project_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    resource = live.resource
    assert isinstance(resource, Project)
    name = live.identity.name
    servers = Section("Servers", ("NAME", "STATUS"))
    servers.rows.extend((s, _present(inventory.exists("Server", s))) for s in resource.spec.servers)
    prompts = Section("Prompts", ("NAME", "PRIORITY", "TAGS"))
    for prompt in inventory.of_kind("Prompt", name):
        assert isinstance(prompt.resource, Prompt)
        spec = prompt.resource.spec
        prompts.rows.append((prompt.identity.name, str(spec.priority), ",".join(spec.tags)))
    tokens = Section("Tokens", ("NAME", "STATUS", "RBAC", "EXPIRES"))
    for token in inventory.of_kind("McpToken", name):
        assert isinstance(token.resource, McpToken)
        tokens.rows.append(
            (
                token.identity.name,
                token_status(token, now),
                token.resource.spec.rbac,
                token.resource.spec.expires,
            )
        )
    bindings = Section("Role bindings", ("NAME", "SUBJECTS"))
    bindings.rows.extend((rb.identity.name, _subjects(rb)) for rb in inventory.of_kind("RoleBinding", name))
    sections = [servers, prompts, tokens, bindings]
    model = resource.spec.proxy_model
    if model not in BUILTIN_PROXY_MODELS:
        row = (model, _present(inventory.exists("ProxyModel", model)))
        sections.append(Section("Proxy model", ("NAME", "STATUS"), [row]))
    stored = inventory.get("ProxyModel", model) if model not in BUILTIN_PROXY_MODELS else None
    models = (
        {model: stored.resource.spec}
        if stored is not None and isinstance(stored.resource, ProxyModel)
        else {}
    )
    stages = project_stages(resource.spec, models)
    pipeline = Section(f"Content pipeline ({model})", ("ORDER", "STAGE", "SETTINGS"))
    if stages is None:
        pipeline.rows.append(("-", "paginate", "the proxy model is missing: results are only paginated"))
    else:
        pipeline.rows.extend(stage_rows(stages))
    sections.append(pipeline)
    return sections


def stage_rows(stages: list[Stage]) -> list[tuple[str, ...]]:
    """One row per content stage: its order, type and settings (`maxResponseChars=80000 pageChars=40000`)."""
    rows: list[tuple[str, ...]] = []
    for order, stage in enumerate(stages, 1):
        settings = stage.model_dump(mode="json", by_alias=True, exclude={"type"})
        rows.append((str(order), stage.type, " ".join(f"{k}={v}" for k, v in settings.items())))
    return rows


def _subjects(live: LiveResource) -> str:
    assert isinstance(live.resource, RoleBinding)
    return ", ".join(f"{s.kind}/{s.name}" for s in live.resource.spec.subjects)


def _server_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    resource = live.resource
    assert isinstance(resource, Server)
    projects = Section("Projects", ("NAME", "PROXY-MODEL"))
    for ref in dependents(inventory, live.identity):
        if ref.source.kind == "Project":
            project = inventory.get("Project", ref.source.name)
            if project is not None and isinstance(project.resource, Project):
                projects.rows.append((ref.source.name, project.resource.spec.proxy_model))
    sections = [projects]
    if resource.spec.from_template is not None:
        template = resource.spec.from_template.name
        row = (template, _present(inventory.exists("Template", template)))
        sections.append(Section("Template", ("NAME", "STATUS"), [row]))
    pins = inventory.get("ToolPins", live.identity.name)
    if pins is not None or resource.spec.pinning is not None:
        mode = resource.spec.pinning or "block"
        pinned = pins.resource if pins is not None else None
        count = len(pinned.spec.tools) if isinstance(pinned, ToolPins) else 0
        sections.append(Section("Tool pins", ("MODE", "PINNED-TOOLS"), [(mode, str(count))]))
    return sections


def _user_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    user = live.identity.name
    groups = Section("Groups", ("NAME",))
    groups.rows.extend((g.identity.name,) for g in inventory.of_kind("Group") if user in _members(g.resource))
    bindings = Section("Role bindings", ("NAME", "PROJECT", "VIA"))
    bindings.rows.extend(
        (rb.identity.name, rb.identity.project or "*", via) for rb, via in user_bindings(inventory, user)
    )
    tokens = Section("Owned tokens", ("PROJECT", "NAME", "RBAC"))
    for token in inventory.of_kind("McpToken"):
        assert isinstance(token.resource, McpToken)
        if token.resource.spec.owner == user:
            tokens.rows.append((token.identity.project or "", token.identity.name, token.resource.spec.rbac))
    permissions = permission_sections(permissions_of(inventory, SubjectRef("User", user)))
    return [groups, bindings, *permissions, tokens]


def _token_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    resource = live.resource
    assert isinstance(resource, McpToken)
    own = Section("Bindings", ("ROLE", "RESOURCE", "NAMES", "TOOLS"))
    own.rows.extend(
        (r.role, r.resource, ",".join(r.names) or "*", ",".join(r.tools) or "*")
        for r in resource.spec.bindings
    )
    bound = Section("Role bindings", ("NAME", "SUBJECTS"))
    bound.rows.extend((rb.identity.name, _subjects(rb)) for rb in token_bindings(inventory, live))
    subject = SubjectRef("McpToken", live.identity.name, live.identity.project)
    return [own, bound, *permission_sections(permissions_of(inventory, subject))]


def _group_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    members = Section("Members", ("NAME", "STATUS"))
    members.rows.extend((m, _present(inventory.exists("User", m))) for m in _members(live.resource))
    bindings = Section("Role bindings", ("NAME", "PROJECT"))
    for ref in dependents(inventory, live.identity):
        if ref.source.kind == "RoleBinding":
            bindings.rows.append((ref.source.name, ref.source.project or "*"))
    permissions = permission_sections(permissions_of(inventory, SubjectRef("Group", live.identity.name)))
    return [members, bindings, *permissions]


def _template_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    servers = Section("Servers", ("NAME",))
    servers.rows.extend((ref.source.name,) for ref in dependents(inventory, live.identity))
    return [servers]


def _toolpins_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    resource = live.resource
    assert isinstance(resource, ToolPins)
    server = Section(
        "Server",
        ("NAME", "STATUS"),
        [(resource.metadata.name, _present(inventory.exists("Server", resource.metadata.name)))],
    )
    tools = Section("Tools", ("NAME", "SHA256", "DESCRIPTION"))
    for tool in resource.spec.tools:
        first = (tool.description or "").strip().split("\n", 1)[0]
        tools.rows.append((tool.name, tool.sha256[:12], first[:60]))
    return [server, tools]


def _proxymodel_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    assert isinstance(live.resource, ProxyModel)
    stages = Section("Stages", ("ORDER", "STAGE", "SETTINGS"), stage_rows(list(live.resource.spec.stages)))
    projects = Section("Projects", ("NAME",))
    name = live.identity.name
    if name in BUILTIN_PROXY_MODELS:
        # Projects name built-ins without a reference (nothing to resolve): found by their field.
        projects.rows.extend(
            (p.identity.name,)
            for p in inventory.of_kind("Project")
            if isinstance(p.resource, Project) and p.resource.spec.proxy_model == name
        )
    else:
        projects.rows.extend((ref.source.name,) for ref in dependents(inventory, live.identity))
    return [stages, projects]


def _rolebinding_relations(inventory: Inventory, live: LiveResource, now: datetime) -> list[Section]:
    subjects = Section("Subjects", ("KIND", "NAME", "STATUS"))
    for ref in references(live.resource):
        if ref.field == "spec.subjects":
            subjects.rows.append(
                (ref.target.kind, ref.target.name, _present(inventory.lookup(ref.target) is not None))
            )
    assert isinstance(live.resource, RoleBinding)
    for subject in live.resource.spec.subjects:
        if subject.kind == "ServiceAccount" or (subject.kind == "McpToken" and not live.identity.project):
            subjects.rows.append((subject.kind, subject.name, "-"))
    return [subjects]


_RELATIONS: dict[str, Callable[[Inventory, LiveResource, datetime], list[Section]]] = {
    "Project": _project_relations,
    "Server": _server_relations,
    "User": _user_relations,
    "McpToken": _token_relations,
    "Group": _group_relations,
    "Template": _template_relations,
    "ProxyModel": _proxymodel_relations,
    "ToolPins": _toolpins_relations,
    "RoleBinding": _rolebinding_relations,
}


@dataclass
class DeletePlan:
    """What deleting some resources takes: updates to referrers, then deletes in dependency order."""

    deletes: list[LiveResource] = field(default_factory=list)
    updates: dict[Identity, tuple[LiveResource, ResourceModel, list[str]]] = field(default_factory=dict)
    """Referrer identity → (as stored, as it will be, what was removed)."""
    blockers: list[str] = field(default_factory=list)
    """Why the delete cannot go ahead without `--cascade`."""

    @property
    def touched(self) -> list[LiveResource]:
        """Every stored resource this plan deletes or changes."""
        return [*self.deletes, *(old for old, _, _ in self.updates.values())]


def plan_delete(inventory: Inventory, targets: list[LiveResource], *, cascade: bool) -> DeletePlan:
    """Work out a delete: without cascade, every dependent is a blocker; with it, dependents that cannot
    live without a deleted resource are deleted too and other referrers drop the reference."""
    plan = DeletePlan()
    doomed: dict[Identity, LiveResource] = {}
    queue = list(targets)
    while queue:
        live = queue.pop(0)
        if live.identity in doomed:
            continue
        doomed[live.identity] = live
        for ref in dependents(inventory, live.identity):
            if ref.source in doomed:
                continue
            referrer = inventory.lookup(ref.source)
            if referrer is None:
                continue
            if not cascade:
                used_by = describe_identity(ref.source)
                plan.blockers.append(f"{describe_identity(live.identity)} is used by {used_by} ({ref.field})")
                continue
            current = plan.updates[ref.source][1] if ref.source in plan.updates else referrer.resource
            edited = None if ref.owned else _drop_reference(current, ref)
            if edited is None:
                plan.updates.pop(ref.source, None)
                queue.append(referrer)
            else:
                removed = plan.updates[ref.source][2] if ref.source in plan.updates else []
                plan.updates[ref.source] = (referrer, edited, [*removed, f"{ref.field}: {ref.target.name}"])
    if cascade:
        for identity in doomed:
            plan.updates.pop(identity, None)
    if not plan.blockers:
        plan.deletes = _dependents_first(doomed)
    return plan


def _dependents_first(doomed: dict[Identity, LiveResource]) -> list[LiveResource]:
    """Deletion order: a resource only after everything that refers to it (ties: reverse kind order)."""
    remaining = dict(doomed)
    ordered: list[LiveResource] = []
    while remaining:
        referenced = {
            ref.target
            for live in remaining.values()
            for ref in references(live.resource)
            if ref.target in remaining and ref.target != live.identity
        }
        ready = [live for identity, live in remaining.items() if identity not in referenced]
        # References among stored resources form no cycles, but never loop forever if one appears.
        ready = ready or list(remaining.values())
        ready.sort(key=lambda r: (-kind_rank(r.identity.kind), r.identity.project or "", r.identity.name))
        ordered.extend(ready)
        for live in ready:
            del remaining[live.identity]
    return ordered


def _drop_reference(resource: ResourceModel, ref: Reference) -> ResourceModel | None:
    """`resource` without its reference to `ref.target`, or None when it cannot stand without it.

    The reference graph's field says where: a list loses the item naming the target (a name, or a
    `{kind, name}` subject), an optional field is dropped; what no longer validates cannot stand.
    """
    doc: dict[str, Any] = resource.to_document()
    *parents, last = ref.field.split(".")
    node: Any = doc
    for step in parents:
        node = node.get(step) if isinstance(node, dict) else None
    if not isinstance(node, dict) or last not in node:
        return None
    value = node[last]
    if isinstance(value, list):
        node[last] = [item for item in value if not _names_target(item, ref.target)]
    else:
        del node[last]
    try:
        return parse_resource(doc)
    except ValidationError:
        return None


def _names_target(item: Any, target: Identity) -> bool:
    if isinstance(item, dict):
        return (item.get("kind"), item.get("name")) == (target.kind, target.name)
    return bool(item == target.name)
