"""Server and Template kinds: how an upstream MCP server is started or reached."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints, ValidationError, model_validator
from pydantic.alias_generators import to_snake

from ._base import Model, Name, ResourceModel, ValueSource
from ._problems import pydantic_messages

Transport = Literal["stdio", "sse", "streamable-http"]
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""A `{{ param }}` placeholder in a template's server spec."""


class HealthCheck(Model):
    """How the gateway probes a server; without `tool` it calls `tools/list`."""

    tool: str | None = None
    """Tool to call as the probe; `tools/list` when unset."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments passed to the probe tool."""
    interval_seconds: Annotated[int, Field(ge=1, strict=True)] = 30
    """Seconds between probes."""
    timeout_seconds: Annotated[float, Field(gt=0, strict=True)] = 10.0
    """Seconds before a probe counts as failed."""


class Timeouts(Model):
    """Time limits for talking to a server."""

    connect_seconds: Annotated[float, Field(gt=0, strict=True)] = 30.0
    """Seconds to start (or connect to) the server and initialize the session."""
    call_seconds: Annotated[float, Field(gt=0, strict=True)] = 60.0
    """Seconds a single request may take."""


class ToolFilter(Model):
    """Which of a server's tools a project sees; glob patterns (`fnmatch`)."""

    include: list[str] = Field(default_factory=list)
    """Only tools matching one of these are exposed (all when empty)."""
    exclude: list[str] = Field(default_factory=list)
    """Tools matching one of these are hidden, even if included."""


class ClientRequests(Model):
    """Which server→client requests of this server the gateway relays to the client session that caused them.

    A request kind turned off is not advertised to the server, so it answers as a client without it would.
    """

    elicitation: StrictBool = True
    """Relay `elicitation/create` (the server asks the user a question)."""
    sampling: StrictBool = True
    """Relay `sampling/createMessage` (the server asks the client's model for a completion)."""
    roots: StrictBool = True
    """Relay `roots/list` (the server asks for the client's roots)."""
    timeout_seconds: Annotated[float, Field(gt=0, le=3600, strict=True)] = 120.0
    """Seconds the gateway waits for the client's answer before answering the server with an error."""


SessionMode = Literal["shared", "per-client"]


class TemplateRef(Model):
    """Instantiate a Template with parameter values."""

    name: Name
    """Name of the Template."""
    values: dict[str, ValueSource] = Field(default_factory=dict)
    """Parameter values; secret parameters take a `secretRef` or `fromEnv`."""


class ServerSpec(Model):
    """How to start (stdio) or reach (sse, streamable-http) an upstream MCP server."""

    transport: Transport | None = None
    """`stdio`, `sse` or `streamable-http`; comes from the template when `fromTemplate` is set."""
    command: str | None = None
    """stdio: the executable to run (no shell)."""
    args: list[str] = Field(default_factory=list)
    """stdio: arguments to the command."""
    cwd: str | None = None
    """stdio: working directory."""
    env: dict[str, ValueSource] = Field(default_factory=dict)
    """stdio: environment variables; literals or secret/env references."""
    url: Annotated[str, StringConstraints(pattern=r"^(https?://|\{\{)")] | None = None
    """sse, streamable-http: the server's URL."""
    headers: dict[str, ValueSource] = Field(default_factory=dict)
    """sse, streamable-http: HTTP headers; literals or secret/env references."""
    from_template: TemplateRef | None = None
    """Build this server from a Template; `env`/`headers` given here override the template's."""
    health_check: HealthCheck | None = None
    """Health probe; `tools/list` every 30 s when unset."""
    timeouts: Timeouts = Field(default_factory=Timeouts)
    """Connect and call time limits."""
    tool_filter: ToolFilter = Field(default_factory=ToolFilter)
    """Which tools are exposed."""
    pinning: Literal["block", "warn", "off"] | None = None
    """Tools whose definition differs from their `ToolPins`, and tools not pinned: `block` hides and
    refuses them, `warn` serves them and records it, `off` ignores pins. Unset: `block` when the server
    has ToolPins, else `off`."""
    description_hygiene: Literal["warn", "strip", "off"] = "warn"
    """Tool descriptions with hidden characters, HTML comments or instructions aimed at the model:
    `warn` records them, `strip` also removes the invisible characters before serving, `off` ignores them."""
    sessions: SessionMode = "shared"
    """`shared`: one upstream session serves every client; `per-client`: each client session gets its own
    (for servers that keep per-client state, or ask clients questions while several are calling)."""
    client_requests: ClientRequests = Field(default_factory=ClientRequests)
    """Elicitation, sampling and roots requests from the server, relayed to the client that caused them."""

    @model_validator(mode="after")
    def _check_transport(self) -> ServerSpec:
        if self.from_template is not None:
            clash = [f for f in ("transport", "command", "url", "cwd") if getattr(self, f) is not None]
            if self.args:
                clash.append("args")
            if clash:
                raise ValueError(f"fromTemplate cannot be combined with {', '.join(clash)}")
            return self
        if self.transport is None:
            raise ValueError(
                "transport is required (stdio, sse or streamable-http) unless fromTemplate is set"
            )
        if self.transport == "stdio":
            if not self.command:
                raise ValueError("transport stdio needs a command")
            if self.url is not None or self.headers:
                raise ValueError("transport stdio takes command/args/env, not url/headers")
        else:
            if not self.url:
                raise ValueError(f"transport {self.transport} needs a url")
            if self.command is not None or self.args or self.cwd is not None:
                raise ValueError(f"transport {self.transport} takes url/headers, not command/args/cwd")
        return self


class Server(ResourceModel):
    """An upstream MCP server that projects can use."""

    kind: Literal["Server"] = "Server"
    """Always `Server`."""
    spec: ServerSpec
    """How the server is started or reached."""


class TemplateParameter(Model):
    """A parameter of a Template, referenced as `{{ name }}` in its server spec."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Parameter name as used in placeholders."""
    description: str = ""
    """What the value means."""
    required: StrictBool = False
    """Servers built from the template must give a value (unless there is a default)."""
    default: str | None = None
    """Value used when a server gives none."""
    secret: StrictBool = False
    """The value is sensitive: servers must give a `secretRef`/`fromEnv`, and plans never show it."""


class TemplateSpec(Model):
    """A reusable server definition with `{{ param }}` placeholders."""

    version: str = "1"
    """Template version, for humans and for change tracking."""
    parameters: list[TemplateParameter] = Field(default_factory=list)
    """Parameters the server spec refers to."""
    server: ServerSpec
    """The server spec with placeholders; `fromTemplate` is not allowed here."""

    @model_validator(mode="after")
    def _check_template(self) -> TemplateSpec:
        if self.server.from_template is not None:
            raise ValueError("a template's server cannot itself use fromTemplate")
        names = [p.name for p in self.parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate parameter(s): {', '.join(duplicates)}")
        return self


class Template(ResourceModel):
    """A reusable, parameterised server definition."""

    kind: Literal["Template"] = "Template"
    """Always `Template`."""
    spec: TemplateSpec
    """Parameters and the server spec they fill in."""


def template_placeholders(spec: ServerSpec) -> set[str]:
    """Names of all `{{ param }}` placeholders used anywhere in a server spec."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(PLACEHOLDER.findall(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(spec.model_dump(mode="json", by_alias=True))
    return found


_OVERRIDDEN_AS_A_WHOLE = {
    key: to_snake(key) for key in ("healthCheck", "timeouts", "toolFilter", "pinning", "descriptionHygiene")
}
"""Server spec sections a `fromTemplate` server's own value replaces: YAML key -> model field."""


def instantiate_template(
    template: TemplateSpec, ref: TemplateRef, overrides: ServerSpec | None = None
) -> ServerSpec:
    """The concrete server spec a `fromTemplate` reference stands for.

    A placeholder that is a whole env/header value may take a `secretRef`/`fromEnv`; elsewhere values
    must be literals. Raises `ValueError` naming the parameter when a value is missing or misplaced.
    """
    values: dict[str, ValueSource] = {p.name: p.default for p in template.parameters if p.default is not None}
    values.update(ref.values)
    known = {p.name for p in template.parameters}
    unknown = sorted(set(ref.values) - known)
    if unknown:
        raise ValueError(f"unknown template parameter(s): {', '.join(unknown)}")
    missing = sorted(p.name for p in template.parameters if p.required and p.name not in values)
    if missing:
        raise ValueError(f"missing required template parameter(s): {', '.join(missing)}")

    def substitute(value: Any, whole_value_may_be_ref: bool) -> Any:
        if isinstance(value, str):
            whole = PLACEHOLDER.fullmatch(value.strip())
            if whole and whole_value_may_be_ref:
                found = values.get(whole.group(1))
                if found is None:
                    raise ValueError(f"template parameter {whole.group(1)!r} has no value")
                return found.model_dump(by_alias=True) if not isinstance(found, str) else found

            def one(match: re.Match[str]) -> str:
                found = values.get(match.group(1))
                if found is None:
                    raise ValueError(f"template parameter {match.group(1)!r} has no value")
                if not isinstance(found, str):
                    raise ValueError(
                        f"template parameter {match.group(1)!r} takes a secret reference, "
                        "so it may only stand alone as an env or header value"
                    )
                return found

            return PLACEHOLDER.sub(one, value)
        if isinstance(value, dict):
            return {k: substitute(v, whole_value_may_be_ref) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v, False) for v in value]
        return value

    doc = template.server.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    rendered = {
        key: substitute(value, whole_value_may_be_ref=key in ("env", "headers")) for key, value in doc.items()
    }
    if overrides is not None:
        given = overrides.model_dump(by_alias=True, mode="json")
        rendered.setdefault("env", {}).update(given["env"])
        rendered.setdefault("headers", {}).update(given["headers"])
        for key, field_name in _OVERRIDDEN_AS_A_WHOLE.items():
            if field_name in overrides.model_fields_set:
                rendered[key] = given[key]
    return ServerSpec.model_validate(rendered)


def template_problem(template: TemplateSpec, ref: TemplateRef, spec: ServerSpec) -> str | None:
    """Why `ref` cannot make a valid server of `template`, or None: what validation and `create` report."""
    try:
        instantiate_template(template, ref, spec)
    except ValidationError as error:
        return f"Template {ref.name!r} gives an invalid server: {pydantic_messages(error)[0]}"
    except ValueError as error:
        return str(error)
    return None
