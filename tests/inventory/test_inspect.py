"""Relation queries: references, dependents, effective RBAC, token status, delete plans, describe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from _samples import res
from mcpctl.errors import ResourceNotFound, UsageError
from mcpctl.inventory._inspect import (
    Inventory,
    dependents,
    missing_references,
    permissions_of,
    plan_delete,
    references,
    relations,
)
from mcpctl.policy import SubjectRef
from mcpctl.schemas import (
    CLI_MANAGER,
    Identity,
    LiveResource,
    McpToken,
    ResourceModel,
    parse_resource,
    token_expiry,
    token_status,
)
from mcpctl.store import Store
from plan._samples import live, stdio

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class MemoryReader:
    """The two Store reading methods over a list, counting queries."""

    def __init__(self, rows: list[LiveResource]) -> None:
        self.rows = rows
        self.queries = 0
        self.point_reads = 0

    def list_resources(self, kind: str | None = None, project: str | None = None) -> list[LiveResource]:
        self.queries += 1
        return [
            r
            for r in self.rows
            if (kind is None or r.identity.kind == kind)
            and (project is None or r.identity.project == project)
        ]

    def get_resource(self, identity: Identity) -> LiveResource | None:
        self.point_reads += 1
        return next((r for r in self.rows if r.identity == identity), None)


def estate() -> list[ResourceModel]:
    """A small estate touching every relation."""
    return [
        res(
            "Template",
            "git",
            {
                "parameters": [{"name": "repo", "required": True}],
                "server": {
                    "transport": "stdio",
                    "command": "mcp-server-git",
                    "args": ["--repository", "{{ repo }}"],
                },
            },
        ),
        res("Server", "time", stdio("mcp-server-time")),
        res("Server", "git", {"fromTemplate": {"name": "git", "values": {"repo": "."}}}),
        res("Project", "alpha", {"servers": ["time", "git", "ghost"]}),
        res("Project", "beta", {"servers": ["time"]}),
        res("Prompt", "intro", {"content": "hi", "tags": ["x"]}, project="alpha"),
        res("Prompt", "intro", {"content": "hello"}, project="beta"),
        res("Prompt", "linked", {"linkTarget": "beta/time:file:///x"}, project="beta"),
        res("User", "ada", {"email": "ada@example.com"}),
        res("User", "bob", {"email": "bob@example.com"}),
        res("Group", "devs", {"members": ["ada", "bob"]}),
        res(
            "RoleBinding",
            "devs-run",
            {
                "subjects": [{"kind": "Group", "name": "devs"}],
                "rules": [{"role": "run", "resource": "servers"}, {"role": "view", "resource": "*"}],
            },
        ),
        res(
            "RoleBinding",
            "ada-alpha",
            {
                "subjects": [{"kind": "User", "name": "ada"}],
                "rules": [{"role": "edit", "resource": "prompts"}],
            },
            project="alpha",
        ),
        res(
            "RoleBinding",
            "ada-beta",
            {
                "subjects": [{"kind": "User", "name": "ada"}],
                "rules": [{"role": "delete", "resource": "prompts"}],
            },
            project="beta",
        ),
        res(
            "McpToken",
            "ci",
            {"bindings": [{"role": "run", "resource": "servers", "names": ["time"]}]},
            project="alpha",
        ),
        res(
            "McpToken",
            "laptop",
            {
                "rbac": "clone",
                "owner": "ada",
                "bindings": [
                    {"role": "run", "resource": "*", "names": ["git", "time"]},
                    {"role": "edit", "resource": "*"},
                ],
            },
            project="alpha",
        ),
        res("McpToken", "agent", {"expires": "30d"}, project="beta"),
        res(
            "RoleBinding",
            "agent-view",
            {
                "subjects": [{"kind": "McpToken", "name": "agent"}],
                "rules": [{"role": "view", "resource": "prompts"}],
            },
            project="beta",
        ),
    ]


@pytest.fixture
def inventory() -> Inventory:
    created = NOW - timedelta(days=10)
    rows = [LiveResource(r, "gitops:/repo", created_at=created) for r in estate()]
    return Inventory(MemoryReader(rows))


def test_inventory_reads_each_kind_once_and_single_rows_by_point_reads() -> None:
    reader = MemoryReader([live(r) for r in estate()])
    inventory = Inventory(reader)
    assert inventory.get("Server", "time") is not None
    assert (reader.queries, reader.point_reads) == (0, 1)
    for _ in range(3):
        inventory.of_kind("Prompt", "alpha")
        inventory.of_kind("Server")
        assert inventory.get("Server", "time") is not None
        assert inventory.get("Server", "nope") is None
    assert (reader.queries, reader.point_reads) == (2, 1)


def test_find_needs_project_only_when_ambiguous(inventory: Inventory) -> None:
    assert inventory.find("Prompt", "linked").identity == Identity("Prompt", "beta", "linked")
    assert inventory.find("Prompt", "intro", "alpha").identity.project == "alpha"
    with pytest.raises(UsageError, match=r"several projects \(alpha, beta\)"):
        inventory.find("Prompt", "intro")
    with pytest.raises(ResourceNotFound, match='Server "nope" not found'):
        inventory.find("Server", "nope")
    with pytest.raises(ResourceNotFound, match='Prompt "gamma/intro" not found'):
        inventory.find("Prompt", "intro", "gamma")


def test_references_name_fields_and_ownership() -> None:
    prompt = res("Prompt", "p", {"linkTarget": "beta/time:file:///x"}, project="alpha")
    found = {(r.target, r.field, r.owned) for r in references(prompt)}
    assert found == {
        (Identity("Project", None, "alpha"), "metadata.project", True),
        (Identity("Project", None, "beta"), "spec.linkTarget", True),
        (Identity("Server", None, "time"), "spec.linkTarget", True),
    }
    binding = res(
        "RoleBinding",
        "rb",
        {
            "subjects": [{"kind": "McpToken", "name": "t"}, {"kind": "ServiceAccount", "name": "ci"}],
            "rules": [{"role": "view", "resource": "*"}],
        },
        project="p",
    )
    assert [r.target for r in references(binding)] == [
        Identity("Project", None, "p"),
        Identity("McpToken", "p", "t"),
    ]


def test_missing_references(inventory: Inventory) -> None:
    project = res("Project", "gamma", {"servers": ["time", "ghost"], "proxyModel": "fancy"})
    assert missing_references(inventory, project) == [
        'spec.servers: Server "ghost" not found',
        'spec.proxyModel: ProxyModel "fancy" not found',
    ]
    assert missing_references(inventory, res("Prompt", "x", {"content": "c"}, project="alpha")) == []


def test_dependents_of_a_server_and_a_project(inventory: Inventory) -> None:
    used_by = [(r.source, r.field) for r in dependents(inventory, Identity("Server", None, "time"))]
    assert used_by == [
        (Identity("Project", None, "alpha"), "spec.servers"),
        (Identity("Project", None, "beta"), "spec.servers"),
        (Identity("Prompt", "beta", "linked"), "spec.linkTarget"),
    ]
    children = {r.source for r in dependents(inventory, Identity("Project", None, "alpha"))}
    assert children == {
        Identity("Prompt", "alpha", "intro"),
        Identity("McpToken", "alpha", "ci"),
        Identity("McpToken", "alpha", "laptop"),
        Identity("RoleBinding", "alpha", "ada-alpha"),
    }


def grants(
    inventory: Inventory, subject: SubjectRef
) -> set[tuple[str | None, str, str | None, tuple[str, ...], str]]:
    """(project, verb, resource, names, via) of the subject's grants, as describe gets them."""
    return {
        (g.project, g.verb, g.resource, tuple(sorted(g.names)), g.via)
        for g in permissions_of(inventory, subject)
    }


def test_user_permissions_come_directly_and_through_groups(inventory: Inventory) -> None:
    assert grants(inventory, SubjectRef("User", "ada")) == {
        (None, "run", "servers", (), "group devs"),
        (None, "view", "*", (), "group devs"),
        ("alpha", "edit", "prompts", (), "direct"),
        ("alpha", "view", "prompts", (), "direct"),  # edit implies view
        ("beta", "delete", "prompts", (), "direct"),
    }
    assert {g[1] for g in grants(inventory, SubjectRef("User", "bob"))} == {"run", "view"}


def test_clone_token_is_owner_permissions_narrowed_in_its_project(inventory: Inventory) -> None:
    # Owner: run servers, view *, edit prompts (alpha), delete prompts (beta, not this project).
    # Limits: run * [git, time], edit * (which implies view *). The beta rule falls away.
    assert {g[:4] for g in grants(inventory, SubjectRef("McpToken", "laptop", "alpha"))} == {
        ("alpha", "run", "servers", ("git", "time")),
        ("alpha", "edit", "prompts", ()),
        ("alpha", "view", "prompts", ()),
        ("alpha", "view", "*", ()),
    }


def test_empty_token_has_its_bindings_and_role_bindings(inventory: Inventory) -> None:
    assert grants(inventory, SubjectRef("McpToken", "ci", "alpha")) == {
        ("alpha", "run", "servers", ("time",), "token bindings")
    }
    assert grants(inventory, SubjectRef("McpToken", "agent", "beta")) == {
        ("beta", "view", "prompts", (), "direct")
    }


def test_clone_without_bindings_copies_owner_permissions() -> None:
    rows = [live(r) for r in estate()]
    rows.append(live(res("McpToken", "all", {"rbac": "clone", "owner": "bob"}, project="beta")))
    inventory = Inventory(MemoryReader(rows))
    found = grants(inventory, SubjectRef("McpToken", "all", "beta"))
    assert {(g[1], g[2]) for g in found} == {("run", "servers"), ("view", "*")}
    assert {g[4] for g in found} == {"owner bob via group devs"}


def test_token_expiry_and_status() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert token_expiry("never", created) is None
    assert token_expiry("30d", created) == created + timedelta(days=30)
    assert token_expiry("12h", created.replace(tzinfo=None)) == created + timedelta(hours=12)
    assert token_expiry("2027-02-03", created) == datetime(2027, 2, 3, tzinfo=UTC)
    assert token_expiry("2027-02-03T04:05:06Z", created) == datetime(2027, 2, 3, 4, 5, 6, tzinfo=UTC)

    def token(spec: dict[str, object]) -> LiveResource:
        return LiveResource(res("McpToken", "t", spec, project="p"), CLI_MANAGER, created_at=created)

    assert token_status(token({"expires": "30d"}), created + timedelta(days=29)) == "active"
    assert token_status(token({"expires": "30d"}), created + timedelta(days=31)) == "expired"
    assert token_status(token({"revoked": True}), created) == "revoked"
    assert token_status(token({}), created + timedelta(days=9999)) == "active"


def test_delete_without_cascade_names_every_blocker(inventory: Inventory) -> None:
    plan = plan_delete(inventory, [inventory.find("Server", "time")], cascade=False)
    assert plan.blockers == [
        'Server "time" is used by Project "alpha" (spec.servers)',
        'Server "time" is used by Project "beta" (spec.servers)',
        'Server "time" is used by Prompt "beta/linked" (spec.linkTarget)',
    ]
    assert plan.deletes == []
    free = plan_delete(inventory, [inventory.find("Prompt", "intro", "alpha")], cascade=False)
    assert free.blockers == [] and [d.identity.name for d in free.deletes] == ["intro"]


def test_cascade_drops_references_and_deletes_owned_dependents(inventory: Inventory) -> None:
    plan = plan_delete(inventory, [inventory.find("Server", "time")], cascade=True)
    assert plan.blockers == []
    assert [str(d.identity) for d in plan.deletes] == ["Prompt/beta/linked", "Server/time"]
    updated = {identity.name: new for identity, (_, new, _) in plan.updates.items()}
    assert set(updated) == {"alpha", "beta"}
    assert updated["alpha"].spec.servers == ["ghost", "git"]  # type: ignore[attr-defined]
    assert updated["beta"].spec.servers == []  # type: ignore[attr-defined]


def test_cascade_of_a_project_deletes_children_in_reverse_dependency_order(inventory: Inventory) -> None:
    plan = plan_delete(inventory, [inventory.find("Project", "alpha")], cascade=True)
    assert [str(d.identity) for d in plan.deletes] == [
        "McpToken/alpha/ci",
        "McpToken/alpha/laptop",
        "RoleBinding/alpha/ada-alpha",
        "Prompt/alpha/intro",
        "Project/alpha",
    ]
    assert plan.updates == {}


def test_cascade_of_a_user_edits_groups_and_deletes_lone_bindings_and_clone_tokens(
    inventory: Inventory,
) -> None:
    plan = plan_delete(inventory, [inventory.find("User", "ada")], cascade=True)
    assert {str(d.identity) for d in plan.deletes} == {
        "User/ada",
        "RoleBinding/alpha/ada-alpha",
        "RoleBinding/beta/ada-beta",
        "McpToken/alpha/laptop",
    }
    ((old, new, removed),) = plan.updates.values()
    assert old.identity.name == "devs" and new.spec.members == ["bob"]  # type: ignore[attr-defined]
    assert removed == ["spec.members: ada"]


def test_relations_of_a_project(inventory: Inventory) -> None:
    sections = {s.title: s.rows for s in relations(inventory, inventory.find("Project", "alpha"), NOW)}
    assert sections["Servers"] == [("ghost", "missing"), ("git", "present"), ("time", "present")]
    assert sections["Prompts"] == [("intro", "5", "x")]
    assert sections["Tokens"] == [("ci", "active", "empty", "never"), ("laptop", "active", "clone", "never")]
    assert sections["Role bindings"] == [("ada-alpha", "User/ada")]


def test_relations_of_server_template_group_and_token(inventory: Inventory) -> None:
    server = {s.title: s.rows for s in relations(inventory, inventory.find("Server", "git"), NOW)}
    assert server == {"Projects": [("alpha", "default")], "Template": [("git", "present")]}
    template = relations(inventory, inventory.find("Template", "git"), NOW)
    assert [(s.title, s.rows) for s in template] == [("Servers", [("git",)])]
    group = {s.title: s.rows for s in relations(inventory, inventory.find("Group", "devs"), NOW)}
    assert group["Members"] == [("ada", "present"), ("bob", "present")]
    assert group["Role bindings"] == [("devs-run", "*")]
    agent = {s.title: s.rows for s in relations(inventory, inventory.find("McpToken", "agent"), NOW)}
    assert agent["Role bindings"] == [("agent-view", "McpToken/agent")]
    assert agent["Effective permissions"] == [
        ("beta", "view", "prompts", "*", "*", "direct", "RoleBinding/beta/agent-view spec.rules[0]", "-")
    ]
    # The group's own grants, as policy computes them for its members.
    assert [row[:3] for row in group_permissions(inventory)] == [("*", "run", "servers"), ("*", "view", "*")]


def group_permissions(inventory: Inventory) -> list[tuple[str, ...]]:
    sections = relations(inventory, inventory.find("Group", "devs"), NOW)
    return next(s.rows for s in sections if s.title == "Effective permissions")


def test_inventory_over_the_real_store(store: Store) -> None:
    with store.transaction() as tx:
        for resource in estate():
            if isinstance(resource, McpToken):
                tx.create_token(resource, managed_by=CLI_MANAGER)
            else:
                tx.put(resource, managed_by="gitops:/repo")
    inventory = Inventory(store)
    plan = plan_delete(inventory, [inventory.find("Project", "beta")], cascade=False)
    assert sorted(plan.blockers) == [
        'Project "beta" is used by McpToken "beta/agent" (metadata.project)',
        'Project "beta" is used by Prompt "beta/intro" (metadata.project)',
        'Project "beta" is used by Prompt "beta/linked" (metadata.project)',
        'Project "beta" is used by Prompt "beta/linked" (spec.linkTarget)',
        'Project "beta" is used by RoleBinding "beta/ada-beta" (metadata.project)',
        'Project "beta" is used by RoleBinding "beta/agent-view" (metadata.project)',
    ]
    laptop = inventory.find("McpToken", "laptop")
    assert laptop.managed_by == CLI_MANAGER and token_status(laptop, datetime.now(UTC)) == "active"
    subject = SubjectRef("McpToken", "laptop", laptop.identity.project)
    assert {g.verb for g in permissions_of(inventory, subject)} == {"run", "edit", "view"}


def test_find_prefers_the_global_role_binding_without_a_project() -> None:
    rule = {"subjects": [{"kind": "User", "name": "ada"}], "rules": [{"role": "view", "resource": "*"}]}
    rows = [live(res("RoleBinding", "rb", rule, project="alpha")), live(res("RoleBinding", "rb", rule))]
    inventory = Inventory(MemoryReader(rows))
    assert inventory.find("RoleBinding", "rb").identity == Identity("RoleBinding", None, "rb")
    assert inventory.find("RoleBinding", "rb", "alpha").identity == Identity("RoleBinding", "alpha", "rb")


def test_relations_of_tool_pins_and_their_server(inventory: Inventory) -> None:
    from mcpctl.schemas import ToolPin

    pin = ToolPin.of({"name": "now", "description": "The time.\nIn UTC.", "inputSchema": {"type": "object"}})
    pins = LiveResource(
        parse_resource(
            {
                "apiVersion": "mcpctl.dev/v1",
                "kind": "ToolPins",
                "metadata": {"name": "time"},
                "spec": {"tools": [pin.model_dump(mode="json", by_alias=True, exclude_none=True)]},
            }
        ),
        "gitops:/repo",
        created_at=NOW,
    )
    rows = [LiveResource(r, "gitops:/repo", created_at=NOW) for r in estate()]
    with_pins = Inventory(MemoryReader([*rows, pins]))
    sections = {s.title: s.rows for s in relations(with_pins, pins, NOW)}
    assert sections == {"Server": [("time", "present")], "Tools": [("now", pin.sha256[:12], "The time.")]}
    server = {s.title: s.rows for s in relations(with_pins, with_pins.find("Server", "time"), NOW)}
    assert server["Tool pins"] == [("block", "1")]
    assert "ToolPins/time" in [
        str(ref.source) for ref in dependents(with_pins, Identity("Server", None, "time"))
    ]
    assert "Tool pins" not in {s.title for s in relations(inventory, inventory.find("Server", "time"), NOW)}
