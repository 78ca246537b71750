"""User, Group, RoleBinding and McpToken kinds: who may do what, and the tokens clients use."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._base import Model, Name, ResourceModel, SortedNames

Role = Literal["view", "create", "edit", "delete", "run"]
RuleResource = Literal[
    "servers", "templates", "projects", "prompts", "users", "groups", "rolebindings", "mcptokens", "*"
]
SubjectKind = Literal["User", "Group", "ServiceAccount", "McpToken"]
ToolPattern = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""A tool name, or a glob over tool names: `*` any run of characters, `?` one character."""
# Sorted after validation (not before, as names are), so an error points at the item as written.
ToolPatterns = Annotated[list[ToolPattern], AfterValidator(lambda v: sorted(set(v)))]
EXPIRES = re.compile(r"^(never|\d+[hdw]|\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)$")
"""`never`, a duration (`12h`, `30d`, `4w`) from creation, or an ISO date/time."""
_DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class UserSpec(Model):
    """A person known to mcpctl."""

    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    """Email address."""
    display_name: str = ""
    """Name shown in listings."""


class User(ResourceModel):
    """A person; a subject of role bindings and the owner of cloned tokens."""

    kind: Literal["User"] = "User"
    """Always `User`."""
    spec: UserSpec
    """Email and display name."""


class GroupSpec(Model):
    """Members of a group."""

    members: SortedNames = Field(default_factory=list)
    """Names of Users in the group."""


class Group(ResourceModel):
    """A set of users, bound to roles together."""

    kind: Literal["Group"] = "Group"
    """Always `Group`."""
    spec: GroupSpec = Field(default_factory=GroupSpec)
    """Members."""


class Subject(Model):
    """Who a role binding applies to."""

    kind: SubjectKind
    """`User`, `Group`, `ServiceAccount` or `McpToken`."""
    name: Name
    """Name of that subject (an McpToken in the binding's project)."""


class Rule(Model):
    """A permission: a role on a resource type, optionally limited to names (and, to run, tools)."""

    # Generic JSON Schema validators learn the tools rule too (mcpctl checks it in `_tools_need_run`).
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["tools"], "properties": {"tools": {"minItems": 1}}},
            "then": {"properties": {"role": {"const": "run"}, "resource": {"const": "servers"}}},
        }
    )

    role: Role
    """`view`, `create`, `edit` (implies `view`), `delete` or `run` (run = call a server's tools)."""
    resource: RuleResource
    """Resource type, or `*` for all."""
    names: SortedNames = Field(default_factory=list)
    """Limit to these resource names (all when empty)."""
    tools: ToolPatterns = Field(default_factory=list)
    """Only for `run` on `servers`: limit to these upstream tools, names or globs (`git_*`); all if empty."""

    @field_validator("tools")
    @classmethod
    def _tools_need_run(cls, tools: list[str], info: ValidationInfo) -> list[str]:
        role, resource = info.data.get("role"), info.data.get("resource")
        if tools and None not in (role, resource) and (role, resource) != ("run", "servers"):
            raise ValueError(f"only a run rule on servers may name tools (this rule is {role} {resource})")
        return tools


class Operation(Model):
    """A permission for an administrative operation."""

    action: Literal["backup", "logs", "impersonate", "audit"]
    """The operation allowed."""


class RoleBindingSpec(Model):
    """Rules granted to subjects."""

    subjects: list[Subject] = Field(min_length=1)
    """Users, groups, service accounts or tokens receiving the rules."""
    rules: list[Rule] = Field(default_factory=list)
    """Resource permissions granted."""
    operations: list[Operation] = Field(default_factory=list)
    """Operation permissions granted."""

    @field_validator("subjects")
    @classmethod
    def _sort_subjects(cls, subjects: list[Subject]) -> list[Subject]:
        unique = {(s.kind, s.name): s for s in subjects}
        return [unique[key] for key in sorted(unique)]

    @model_validator(mode="after")
    def _check_grants(self) -> RoleBindingSpec:
        if not self.rules and not self.operations:
            raise ValueError("a role binding needs at least one rule or operation")
        return self


class RoleBinding(ResourceModel):
    """Grants rules to subjects, globally or within one project."""

    scope = "either"
    kind: Literal["RoleBinding"] = "RoleBinding"
    """Always `RoleBinding`."""
    spec: RoleBindingSpec
    """Subjects, rules and operations."""


class TokenRateLimit(Model):
    """A token's own request limit at the gateway, in place of `mcpctl serve --rate-limit-per-token`."""

    requests_per_minute: Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
    """Requests per minute the token may make (a burst of this many, then an even rate); 0: no limit."""


class McpTokenSpec(Model):
    """A project-scoped bearer token for MCP clients; its value is generated by the store."""

    description: str = ""
    """What the token is for."""
    expires: Annotated[str, StringConstraints(pattern=EXPIRES.pattern)] = "never"
    """`never`, a duration from creation (`30d`, `12h`, `4w`), or an ISO date."""
    owner: Name | None = None
    """User whose permissions `rbac: clone` copies."""
    rbac: Literal["empty", "clone"] = "empty"
    """`empty`: only `bindings`; `clone`: the owner's permissions, narrowed by `bindings` when given."""
    bindings: list[Rule] = Field(default_factory=list)
    """Rules granted to (or, with clone, the limit of) the token."""
    revoked: StrictBool = False
    """A revoked token is refused by the gateway."""
    rate_limit: TokenRateLimit | None = None
    """The token's own rate limit; unset: the gateway's `--rate-limit-per-token` (default 2,000/min)."""

    @field_validator("expires", mode="before")
    @classmethod
    def _date_to_str(cls, value: object) -> object:
        # YAML reads an unquoted 2027-01-01 as a date.
        return value.isoformat() if isinstance(value, date) else value

    @field_validator("expires")
    @classmethod
    def _real_date(cls, value: str) -> str:
        # The pattern admits 2027-13-45; such a token could be stored but its expiry never computed.
        if value != "never" and value[-1] not in _DURATION_UNITS:
            datetime.fromisoformat(value)
        return value

    def expiry(self, created_at: datetime) -> datetime | None:
        """When a token made at `created_at` stops working, in UTC; None for `never`.

        Durations count from `created_at`; a date means its midnight, and times without a zone are UTC.
        """
        if self.expires == "never":
            return None
        unit = _DURATION_UNITS.get(self.expires[-1])
        if unit is not None:
            return created_at + int(self.expires[:-1]) * unit
        moment = datetime.fromisoformat(self.expires)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def expired_at_creation(self, now: datetime | None = None) -> bool:
        """True when `expires` is a date or time already past: a token made now would never work."""
        now = now or datetime.now(UTC)
        expiry = self.expiry(now)
        return expiry is not None and self.expires[-1] not in _DURATION_UNITS and expiry <= now

    @model_validator(mode="after")
    def _check_owner(self) -> McpTokenSpec:
        if self.rbac == "clone" and self.owner is None:
            raise ValueError("rbac: clone needs an owner")
        return self


class McpToken(ResourceModel):
    """A bearer token for one project's MCP endpoint."""

    scope = "project"
    kind: Literal["McpToken"] = "McpToken"
    """Always `McpToken`."""
    spec: McpTokenSpec = Field(default_factory=McpTokenSpec)
    """Expiry, RBAC mode, bindings, revocation."""
