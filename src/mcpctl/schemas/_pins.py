"""The ToolPins kind: a server's approved tool definitions, kept in the config repo and reviewed there.

A tool's pin is the SHA-256 of the canonical JSON of its `name`, `description`, `inputSchema` and
`annotations` (as the server lists it), stored with those fields so a pull request shows what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from ._base import Model, ResourceModel

PINNED_FIELDS = ("name", "description", "inputSchema", "annotations")
"""The fields of a tool definition a pin covers (absent or null ones are left out of the hash)."""
MAX_PINNED_TOOLS = 5000
"""More tools than this in one server's pins is a mistake, not an inventory."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def tool_definition(tool: Mapping[str, Any]) -> dict[str, Any]:
    """The pinned part of a tool as the server lists it (its JSON, camelCase keys): `PINNED_FIELDS`."""
    return {key: tool[key] for key in PINNED_FIELDS if tool.get(key) is not None}


def definition_digest(definition: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON (sorted keys, no spaces, UTF-8) of a tool's pinned fields."""
    canonical = json.dumps(
        tool_definition(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ToolPin(Model):
    """One approved tool: its definition as the server gave it when pinned, and the digest of that."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """The tool's name on its server."""
    sha256: Sha256
    """SHA-256 of the canonical JSON of name, description, inputSchema and annotations."""
    description: str | None = None
    """The description text the reviewer approved (kept whole so a diff shows each wording change)."""
    input_schema: dict[str, Any] = Field(default_factory=dict)
    """The approved `inputSchema`."""
    annotations: dict[str, Any] | None = None
    """The approved `annotations`, when the server gives any."""

    def definition(self) -> dict[str, Any]:
        """The pinned definition as JSON (the keys a server uses)."""
        return tool_definition(
            {
                "name": self.name,
                "description": self.description,
                "inputSchema": self.input_schema,
                "annotations": self.annotations,
            }
        )

    @model_validator(mode="after")
    def _check_digest(self) -> ToolPin:
        # A hand-edited description with the old digest would approve text nobody hashed.
        if definition_digest(self.definition()) != self.sha256:
            raise ValueError(
                f"sha256 of tool {self.name!r} does not match its pinned definition "
                "(edited by hand?): run `mcpctl pin` again"
            )
        return self

    @classmethod
    def of(cls, tool: Mapping[str, Any]) -> ToolPin:
        """The pin of a live tool definition (its JSON as the server lists it)."""
        definition = tool_definition(tool)
        return cls(
            name=definition["name"],
            sha256=definition_digest(definition),
            description=definition.get("description"),
            input_schema=definition.get("inputSchema", {}),
            annotations=definition.get("annotations"),
        )


class ToolPinsSpec(Model):
    """The approved tools of one server; a tool not listed here is new and not approved."""

    tools: Annotated[list[ToolPin], Field(max_length=MAX_PINNED_TOOLS)] = Field(default_factory=list)
    """Approved tools, sorted by name."""

    @field_validator("tools")
    @classmethod
    def _unique_sorted(cls, tools: list[ToolPin]) -> list[ToolPin]:
        names = [tool.name for tool in tools]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"tool(s) pinned twice: {', '.join(twice)}")
        return sorted(tools, key=lambda tool: tool.name)

    def pin(self, name: str) -> ToolPin | None:
        """The pin of tool `name`, if any."""
        return next((tool for tool in self.tools if tool.name == name), None)

    def digests(self) -> dict[str, str]:
        """Pinned digest by tool name."""
        return {tool.name: tool.sha256 for tool in self.tools}


class ToolPins(ResourceModel):
    """The approved tool definitions of the server of the same name (written by `mcpctl pin`)."""

    kind: Literal["ToolPins"] = "ToolPins"
    """Always `ToolPins`."""
    spec: ToolPinsSpec
    """The approved tools."""


DriftKind = Literal["changed", "new", "gone"]


@dataclass(frozen=True, slots=True)
class ToolDrift:
    """One difference between a server's pins and what it lists now."""

    server: str
    tool: str
    kind: DriftKind
    """`changed` (the definition differs), `new` (not pinned), `gone` (pinned, no longer listed)."""
    pinned: dict[str, Any] | None
    """The pinned definition (None for a new tool)."""
    live: dict[str, Any] | None
    """The definition the server lists now (None for a gone tool)."""


def compare_pins(
    server: str, pins: ToolPinsSpec | None, live: Sequence[Mapping[str, Any]]
) -> list[ToolDrift]:
    """What differs between `pins` (None: nothing pinned) and the server's live tool definitions."""
    pinned = {tool.name: tool for tool in (pins.tools if pins is not None else [])}
    drift: list[ToolDrift] = []
    listed: set[str] = set()
    for tool in sorted(live, key=lambda t: str(t.get("name"))):
        definition = tool_definition(tool)
        name = str(definition["name"])
        listed.add(name)
        pin = pinned.get(name)
        if pin is None:
            drift.append(ToolDrift(server, name, "new", None, definition))
        elif definition_digest(definition) != pin.sha256:
            drift.append(ToolDrift(server, name, "changed", pin.definition(), definition))
    for name in sorted(set(pinned) - listed):
        drift.append(ToolDrift(server, name, "gone", pinned[name].definition(), None))
    return drift
