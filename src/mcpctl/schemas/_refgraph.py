"""The one reference graph: which identities each resource names, through which field.

Validation (`_crossrefs`: every target must exist) and the read model (`mcpctl.inventory`: describe,
dependents, delete cascades) both read it, so they cannot disagree about what refers to what. Every
kind has an entry, even one that refers to nothing: a kind missing here raises instead of silently
having no references (a programming error, so a plain `LookupError`, not an `McpctlError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from ._base import Identity, ResourceModel
from ._pins import ToolPins
from ._project import BUILTIN_PROXY_MODELS, LINK_TARGET, Project, Prompt
from ._rbac import Group, McpToken, RoleBinding
from ._resource import KINDS
from ._server import Server


class Reference(NamedTuple):
    """One resource naming another: `source` refers to `target` through `field`."""

    # A NamedTuple, like Identity: validation makes one per name every resource uses (tens of
    # thousands in a big repo), and a frozen dataclass costs three times as much to build.

    source: Identity
    target: Identity
    field: str
    owned: bool
    """True when `source` cannot exist without `target` (a prompt in a project, a server from a template)."""


_Add = Callable[[str, "str | None", str, str, bool], None]


def _server(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, Server)
    if resource.spec.from_template is not None:
        add("Template", None, resource.spec.from_template.name, "spec.fromTemplate.name", True)


def _toolpins(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, ToolPins)
    add("Server", None, resource.metadata.name, "metadata.name", True)


def _project(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, Project)
    for server in resource.spec.servers:
        add("Server", None, server, "spec.servers", False)
    if resource.spec.proxy_model not in BUILTIN_PROXY_MODELS:
        add("ProxyModel", None, resource.spec.proxy_model, "spec.proxyModel", False)


def _prompt(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, Prompt)
    add("Project", None, resource.metadata.project or "", "metadata.project", True)
    link = LINK_TARGET.match(resource.spec.link_target or "")
    if link:
        add("Project", None, link.group("project"), "spec.linkTarget", True)
        add("Server", None, link.group("server"), "spec.linkTarget", True)


def _group(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, Group)
    for member in resource.spec.members:
        add("User", None, member, "spec.members", False)


def _rolebinding(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, RoleBinding)
    if resource.metadata.project:
        add("Project", None, resource.metadata.project, "metadata.project", True)
    for subject in resource.spec.subjects:
        if subject.kind in ("User", "Group"):
            add(subject.kind, None, subject.name, "spec.subjects", False)
        elif subject.kind == "McpToken" and resource.metadata.project:
            add("McpToken", resource.metadata.project, subject.name, "spec.subjects", False)


def _mcptoken(resource: ResourceModel, add: _Add) -> None:
    assert isinstance(resource, McpToken)
    add("Project", None, resource.metadata.project or "", "metadata.project", True)
    if resource.spec.owner:
        add("User", None, resource.spec.owner, "spec.owner", resource.spec.rbac == "clone")


def _nothing(resource: ResourceModel, add: _Add) -> None:
    """A kind that names no other resource."""


@dataclass(frozen=True)
class _Edges:
    targets: tuple[str, ...]
    """The kinds this kind may refer to."""
    collect: Callable[[ResourceModel, _Add], None]


REFERENCE_GRAPH: dict[str, _Edges] = {
    "Template": _Edges((), _nothing),
    "Server": _Edges(("Template",), _server),
    "ToolPins": _Edges(("Server",), _toolpins),
    "ProxyModel": _Edges((), _nothing),
    "Project": _Edges(("Server", "ProxyModel"), _project),
    "Prompt": _Edges(("Project", "Server"), _prompt),
    "User": _Edges((), _nothing),
    "Group": _Edges(("User",), _group),
    "RoleBinding": _Edges(("Project", "User", "Group", "McpToken"), _rolebinding),
    "McpToken": _Edges(("Project", "User"), _mcptoken),
}
"""Every kind → the kinds it may refer to and how to read its references."""


def _edges(kind: str) -> _Edges:
    edges = REFERENCE_GRAPH.get(kind)
    if edges is None:
        raise LookupError(f"kind {kind!r} has no entry in the reference graph (schemas/_refgraph.py)")
    return edges


def references(resource: ResourceModel) -> list[Reference]:
    """Every identity a resource refers to, with the field that does it (empty names left out)."""
    me = resource.identity
    edges = _edges(me.kind)
    refs: list[Reference] = []

    def add(kind: str, project: str | None, name: str, where: str, owned: bool) -> None:
        if kind not in edges.targets:
            raise LookupError(f"{me.kind} refers to {kind} but its graph entry does not list it")
        if name:
            refs.append(Reference(me, Identity(kind, project, name), where, owned))

    edges.collect(resource, add)
    return refs


def referrers(kind: str) -> tuple[str, ...]:
    """The kinds that may refer to `kind` (in dependency order): the only ones a reverse lookup reads."""
    _edges(kind)
    return tuple(source for source, edges in REFERENCE_GRAPH.items() if kind in edges.targets)


def check_graph() -> None:
    """Raise unless the graph has exactly one entry per kind and names only kinds that exist."""
    missing, extra = set(KINDS) - set(REFERENCE_GRAPH), set(REFERENCE_GRAPH) - set(KINDS)
    if missing or extra:
        raise LookupError(f"reference graph: kinds missing {sorted(missing)}, unknown {sorted(extra)}")
    for kind, edges in REFERENCE_GRAPH.items():
        if unknown := set(edges.targets) - set(KINDS):
            raise LookupError(f"reference graph: {kind} refers to unknown kinds {sorted(unknown)}")


check_graph()
