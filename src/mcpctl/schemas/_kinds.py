"""The descriptor of every kind: what is particular to a kind outside its model, in one table.

The CLI words, the store table, the path in the example repository layout and the `get` table columns
of each kind live here; its scope is its model's, its references are its entry in the one reference
graph (`_refgraph.py`). Everything that dispatches by kind (`_resource`, the store's tables, export,
`get`, `create`) reads this table instead of keeping its own list, so a kind is added in one place
(docs/architecture.md, "Where a change goes", lists the files). A kind without an entry fails at
import; the table's order is the dependency order (a kind only refers to kinds before it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar

from ._base import Identity, ResourceModel, Scope
from ._live import LiveResource, token_expiry, token_status
from ._pins import ToolPins
from ._project import Project, Prompt, ProxyModel
from ._rbac import Group, McpToken, RoleBinding, User
from ._sensitive import SENSITIVE, mask_args, mask_url
from ._server import Server, ServerSpec, Template

M = TypeVar("M", bound=ResourceModel)


@dataclass(frozen=True)
class Column:
    """One `get` table column: header, how to read its cell, and whether only `-o wide` shows it."""

    header: str
    cell: Callable[[LiveResource], str]
    wide: bool = False


@dataclass(frozen=True)
class KindInfo:
    """Everything about one kind that is not its model."""

    model: type[ResourceModel]
    words: tuple[str, ...]
    """CLI words (lowercase), the lowercase kind first, then plural and short forms (`get srv`,
    `create token`); RBAC rules name a kind by one of them (`servers`)."""
    table: str
    """The store table holding the kind's resources (`store/_tables.py` makes it from this)."""
    layout: str
    """Where `mcpctl export` puts a new resource, relative to the repository root: `{name}` and
    `{project}` are the resource's (several resources may share one file)."""
    columns: tuple[Column, ...]
    """`get` table columns between NAME/PROJECT and MANAGED-BY/AGE."""
    mints_value: bool = False
    """Creating one mints a secret value that is shown once and stored only as a hash (McpToken)."""

    @property
    def kind(self) -> str:
        """The `kind` value (`Server`)."""
        return self.model.kind_name()

    @property
    def scope(self) -> Scope:
        """`global`, `project` or `either` (the model's)."""
        return self.model.scope

    def layout_path(self, identity: Identity) -> PurePosixPath:
        """Where the example layout keeps the resource of `identity`."""
        return PurePosixPath(self.layout.format(name=identity.name, project=identity.project))


def _as(model: type[M]) -> Callable[[LiveResource], M]:
    """A column's accessor of the live resource as its kind's model (columns are listed per kind)."""

    def resource(live: LiveResource) -> M:
        assert isinstance(live.resource, model)
        return live.resource

    return resource


_server = _as(Server)
_template = _as(Template)
_project = _as(Project)
_prompt = _as(Prompt)
_user = _as(User)
_group = _as(Group)
_binding = _as(RoleBinding)
_token = _as(McpToken)
_proxy_model = _as(ProxyModel)
_pins = _as(ToolPins)


def server_target(spec: ServerSpec) -> str:
    """What a server runs or reaches, credentials masked: `template:x`, a command line or a URL."""
    if spec.from_template is not None:
        return f"template:{spec.from_template.name}"
    if spec.transport == "stdio":
        return " ".join([spec.command or "", *mask_args(spec.args)])
    return mask_url(spec.url or "", SENSITIVE)


def _keys(mapping: dict[str, Any]) -> str:
    # Only keys: env and header values may be literal credentials.
    return ",".join(sorted(mapping))


def _rules(binding: RoleBinding | McpToken) -> str:
    rules = binding.spec.rules if isinstance(binding, RoleBinding) else binding.spec.bindings
    return ",".join(f"{r.role}:{r.resource}" + (f"[{' '.join(r.names)}]" if r.names else "") for r in rules)


def expiry_text(live: LiveResource) -> str:
    """When a token stops working, as a UTC date and time (`2027-03-01T09:30Z`), or `never`."""
    expiry = token_expiry(_token(live).spec.expires, live.created_at)
    return expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if expiry is not None else "never"


_KINDS = (
    KindInfo(
        Template,
        ("template", "templates", "tpl", "tmpl"),
        "templates",
        "templates/{name}.yaml",
        (
            Column("VERSION", lambda r: _template(r).spec.version),
            Column("TRANSPORT", lambda r: _template(r).spec.server.transport or ""),
            Column("PARAMETERS", lambda r: str(len(_template(r).spec.parameters))),
            Column(
                "PARAMETER-NAMES",
                lambda r: ",".join(
                    p.name + ("*" if p.required else "") for p in _template(r).spec.parameters
                ),
                wide=True,
            ),
            Column("TARGET", lambda r: server_target(_template(r).spec.server), wide=True),
        ),
    ),
    KindInfo(
        Server,
        ("server", "servers", "srv"),
        "servers",
        "servers/{name}.yaml",
        (
            Column("TRANSPORT", lambda r: _server(r).spec.transport or "(template)"),
            Column("TARGET", lambda r: server_target(_server(r).spec)),
            Column("ENV", lambda r: _keys(_server(r).spec.env), wide=True),
            Column("HEADERS", lambda r: _keys(_server(r).spec.headers), wide=True),
            Column("TOOLS", lambda r: ",".join(_server(r).spec.tool_filter.include) or "*", wide=True),
        ),
    ),
    KindInfo(
        ToolPins,
        ("toolpins", "toolpin", "tp"),
        "tool_pins",
        "pins/{name}.yaml",
        (
            Column("TOOLS", lambda r: str(len(_pins(r).spec.tools))),
            Column("TOOL-NAMES", lambda r: ",".join(t.name for t in _pins(r).spec.tools), wide=True),
        ),
    ),
    KindInfo(
        ProxyModel,
        ("proxymodel", "proxymodels", "pm"),
        "proxy_models",
        "proxymodels/{name}.yaml",
        (Column("STAGES", lambda r: ",".join(stage.type for stage in _proxy_model(r).spec.stages)),),
    ),
    KindInfo(
        Project,
        ("project", "projects", "proj"),
        "projects",
        "projects/{name}/project.yaml",
        (
            Column("SERVERS", lambda r: ",".join(_project(r).spec.servers)),
            Column("PROXY-MODEL", lambda r: _project(r).spec.proxy_model),
            Column("LLM", lambda r: _project(r).spec.llm.model or "", wide=True),
            Column(
                "MAX-RESPONSE-CHARS",
                lambda r: str(_project(r).spec.pagination.max_response_chars),
                wide=True,
            ),
            Column("INSTRUCTIONS", lambda r: _project(r).spec.instructions, wide=True),
        ),
    ),
    KindInfo(
        Prompt,
        ("prompt", "prompts", "pr"),
        "prompts",
        "projects/{project}/prompts/{name}.yaml",
        (
            Column("PRIORITY", lambda r: str(_prompt(r).spec.priority)),
            Column("SOURCE", lambda r: "link" if _prompt(r).spec.link_target else "inline"),
            Column("TAGS", lambda r: ",".join(_prompt(r).spec.tags)),
            Column("SUMMARY", lambda r: _prompt(r).spec.summary, wide=True),
            Column("LINK-TARGET", lambda r: _prompt(r).spec.link_target or "", wide=True),
        ),
    ),
    KindInfo(
        User,
        ("user", "users", "usr"),
        "users",
        "rbac/users.yaml",
        (
            Column("EMAIL", lambda r: _user(r).spec.email),
            Column("DISPLAY-NAME", lambda r: _user(r).spec.display_name),
        ),
    ),
    KindInfo(
        Group,
        ("group", "groups", "grp"),
        "groups",
        "rbac/groups.yaml",
        (
            Column("MEMBERS", lambda r: str(len(_group(r).spec.members))),
            Column("MEMBER-NAMES", lambda r: ",".join(_group(r).spec.members), wide=True),
        ),
    ),
    KindInfo(
        RoleBinding,
        ("rolebinding", "rolebindings", "rb"),
        "role_bindings",
        "rbac/bindings.yaml",
        (
            Column("SUBJECTS", lambda r: ",".join(f"{s.kind}/{s.name}" for s in _binding(r).spec.subjects)),
            Column("RULES", lambda r: str(len(_binding(r).spec.rules))),
            Column("RULE-LIST", lambda r: _rules(_binding(r)), wide=True),
            Column(
                "OPERATIONS", lambda r: ",".join(o.action for o in _binding(r).spec.operations), wide=True
            ),
        ),
    ),
    KindInfo(
        McpToken,
        ("mcptoken", "mcptokens", "token", "tokens", "tok"),
        "mcp_tokens",
        "tokens/{project}/{name}.yaml",
        (
            Column("RBAC", lambda r: _token(r).spec.rbac),
            Column("EXPIRES", lambda r: expiry_text(r)),
            Column("STATUS", lambda r: token_status(r, datetime.now(UTC))),
            Column("OWNER", lambda r: _token(r).spec.owner or "", wide=True),
            Column("BINDINGS", lambda r: _rules(_token(r)), wide=True),
            Column("DESCRIPTION", lambda r: _token(r).spec.description, wide=True),
        ),
        mints_value=True,
    ),
)

KIND_INFO: dict[str, KindInfo] = {info.kind: info for info in _KINDS}
"""Every kind's descriptor by its `kind` value, in dependency order."""


def kind_info(kind: str) -> KindInfo:
    """The descriptor of `kind`; a kind without one is a programming error (a plain `LookupError`)."""
    info = KIND_INFO.get(kind)
    if info is None:
        raise LookupError(f"kind {kind!r} has no descriptor in schemas/_kinds.py")
    return info


def _models(base: type[ResourceModel]) -> list[type[ResourceModel]]:
    found = []
    for model in base.__subclasses__():
        found += [model, *_models(model)]
    return found


def check_descriptors() -> None:
    """Raise unless every resource model has exactly one descriptor and no two share a word or table."""
    kinds = {model.kind_name() for model in _models(ResourceModel)}
    if kinds != set(KIND_INFO) or len(KIND_INFO) != len(_KINDS):
        missing, extra = sorted(kinds - set(KIND_INFO)), sorted(set(KIND_INFO) - kinds)
        raise LookupError(f"kind descriptors (schemas/_kinds.py): missing {missing}, unknown {extra}")
    words = [word for info in _KINDS for word in info.words]
    tables = [info.table for info in _KINDS]
    if len(set(words)) != len(words) or len(set(tables)) != len(tables):
        raise LookupError("kind descriptors share a CLI word or a store table")
    for info in _KINDS:
        if info.words[0] != info.kind.lower():
            raise LookupError(f"{info.kind}: the first CLI word must be {info.kind.lower()!r}")
        if "{project}" in info.layout and info.scope != "project":
            raise LookupError(f"{info.kind}: a layout with {{project}} needs a project-scoped kind")


check_descriptors()
