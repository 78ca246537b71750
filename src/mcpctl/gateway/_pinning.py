"""The tool-pinning layer: a server's tools are served only as its `ToolPins` approved them.

Every time an upstream's tool list is read (a `tools/list`, a call after the cache expired or after
`notifications/tools/list_changed`), each tool's live definition is hashed and compared with its pin. Under
`pinning: block` a changed or unpinned tool is hidden and refused like an unknown one; under `warn` it is
served. Either way the mismatch is an event (hence a metric and an audit record) and a line in /readyz.
The same pass flags descriptions with hidden characters or instructions for the model, and strips the
invisible characters when the server asks for it (`descriptionHygiene: strip`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcpctl.errors import UpstreamError
from mcpctl.schemas import (
    ServerSpec,
    definition_digest,
    description_findings,
    strip_invisible,
    tool_definition,
)

from ._context import CallContext
from ._events import DescriptionFlagged, Events, ToolPinMismatch
from ._pipeline import Layer, Listed, ListNext, ToolNext, refuse
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.pinning")

Mode = Literal["block", "warn", "off"]
MAX_REMEMBERED = 10_000
"""Definitions whose events were already sent, kept per layer; past this the memory starts afresh."""


class ToolSource(Protocol):
    """Where the layer reads a server's current tools for a call (the pool, from its tools cache)."""

    async def list_tools(self, server: str, *, call: CallContext | None = None) -> list[types.Tool]: ...


def live_definition(tool: types.Tool) -> dict[str, Any]:
    """The pinned fields of a tool exactly as its server listed it, as JSON."""
    return tool_definition(tool.model_dump(mode="json", by_alias=True, exclude_none=True))


def pinning_mode(server: str, spec: ServerSpec, snapshot: Snapshot) -> Mode:
    """`spec.pinning`, or `block` when the server has pins and `off` when it has none."""
    if spec.pinning is not None:
        return spec.pinning
    return "block" if server in snapshot.pins else "off"


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A tool served differently from its pin, as /readyz lists it."""

    reason: str
    """`changed` or `new`."""
    action: str
    """`blocked` or `served`."""
    pinned_sha256: str | None
    live_sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "action": self.action,
            "pinnedSha256": self.pinned_sha256,
            "liveSha256": self.live_sha256,
        }


class PinningLayer(Layer):
    """Hides and refuses tools whose live definitions differ from their pins; flags poisoned descriptions."""

    name = "pinning"

    def __init__(self, snapshot: Callable[[], Snapshot], tools: ToolSource, events: Events) -> None:
        self._snapshot = snapshot
        self._tools = tools
        self._events = events
        self.mismatches: dict[str, dict[str, Mismatch]] = {}
        """Current mismatches by server, then tool (from the last list or call that met the tool)."""
        self._reported: set[tuple[str, str, str, str]] = set()
        self._flagged: dict[tuple[str, str], tuple[str, ...]] = {}

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        listed = await call_next(call)
        snapshot = self._snapshot()
        served: list[Listed[types.Tool]] = []
        found: dict[str, dict[str, Mismatch]] = {}
        for entry in listed:
            spec = snapshot.servers.get(entry.server) if entry.server is not None else None
            if spec is None or entry.server is None or not isinstance(entry.source, types.Tool):
                served.append(entry)
                continue
            found.setdefault(entry.server, {})
            keep, item = self._check(call, snapshot, entry.server, spec, entry.source, entry.item, found)
            if keep:
                served.append(replace(entry, item=item) if item is not entry.item else entry)
        # A full list is the truth about a server: its tools that match again leave /readyz.
        for server, mismatches in found.items():
            if mismatches:
                self.mismatches[server] = mismatches
            else:
                self.mismatches.pop(server, None)
        return served

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        target = call.target
        snapshot = self._snapshot()
        spec = snapshot.servers.get(target.server) if target is not None and target.server else None
        if target is None or target.server is None or target.name is None or spec is None:
            return await call_next(call, params)
        if pinning_mode(target.server, spec, snapshot) == "off":
            return await call_next(call, params)
        try:
            # The pool's cached list: the same definitions the last tools/list was judged on, or a newer
            # list when the cache expired or the server announced a change since.
            tools = await self._tools.list_tools(target.server, call=call)
        except (UpstreamError, MCPError):
            return await call_next(call, params)  # the aggregator answers the failure its usual way
        tool = next((t for t in tools if t.name == target.name), None)
        if tool is not None:
            found: dict[str, dict[str, Mismatch]] = {target.server: {}}
            keep, _ = self._check(call, snapshot, target.server, spec, tool, tool, found)
            self._remember(target.server, target.name, found[target.server].get(target.name))
            if not keep:
                refuse(call, f"tool pins of server {target.server}: {target.name} is not the approved tool")
        return await call_next(call, params)

    def readiness(self) -> dict[str, Any]:
        """The /readyz section: current mismatches of servers that still exist, by server then tool."""
        servers = self._snapshot().servers
        return {
            server: {tool: mismatch.to_json() for tool, mismatch in sorted(tools.items())}
            for server, tools in sorted(self.mismatches.items())
            if server in servers and tools
        }

    def _remember(self, server: str, tool: str, mismatch: Mismatch | None) -> None:
        current = self.mismatches.setdefault(server, {})
        if mismatch is None:
            current.pop(tool, None)
        else:
            current[tool] = mismatch
        if not current:
            self.mismatches.pop(server, None)

    def _check(
        self,
        call: CallContext,
        snapshot: Snapshot,
        server: str,
        spec: ServerSpec,
        source: types.Tool,
        item: types.Tool,
        found: dict[str, dict[str, Mismatch]],
    ) -> tuple[bool, types.Tool]:
        """Whether to serve the tool, and the item to serve (stripped when asked); records what it met."""
        definition = live_definition(source)
        digest = definition_digest(definition)
        item = self._hygiene(call, server, spec, source, item, digest)
        mode = pinning_mode(server, spec, snapshot)
        if mode == "off":
            return True, item
        pins = snapshot.pins.get(server)
        pin = pins.pin(source.name) if pins is not None else None
        if pin is not None and pin.sha256 == digest:
            return True, item
        mismatch = Mismatch(
            "new" if pin is None else "changed",
            "blocked" if mode == "block" else "served",
            pin.sha256 if pin is not None else None,
            digest,
        )
        found[server][source.name] = mismatch
        self._report(call, server, source.name, mismatch)
        return mode == "warn", item

    def _report(self, call: CallContext, server: str, tool: str, mismatch: Mismatch) -> None:
        key = (server, tool, mismatch.live_sha256, mismatch.action)
        if key in self._reported:
            return
        if len(self._reported) >= MAX_REMEMBERED:
            self._reported.clear()
        self._reported.add(key)
        logger.warning(
            "server %s: tool %s is %s (%s): live sha256 %s, pinned %s",
            server,
            tool,
            "not pinned" if mismatch.reason == "new" else "not the pinned definition",
            mismatch.action,
            mismatch.live_sha256[:12],
            (mismatch.pinned_sha256 or "-")[:12],
        )
        self._events.emit(
            ToolPinMismatch(
                call.project,
                server,
                tool,
                mismatch.reason,
                mismatch.action,
                mismatch.pinned_sha256,
                mismatch.live_sha256,
                call.session,
            )
        )

    def _hygiene(
        self,
        call: CallContext,
        server: str,
        spec: ServerSpec,
        source: types.Tool,
        item: types.Tool,
        digest: str,
    ) -> types.Tool:
        if spec.description_hygiene == "off" or not source.description:
            return item
        findings = self._flagged.get((server, digest))
        if findings is None:
            if len(self._flagged) >= MAX_REMEMBERED:
                self._flagged.clear()
            findings = tuple(str(f) for f in description_findings(source.description))
            self._flagged[(server, digest)] = findings
            if findings:
                stripped = spec.description_hygiene == "strip"
                logger.warning(
                    "server %s: description of tool %s: %s", server, source.name, "; ".join(findings)
                )
                self._events.emit(
                    DescriptionFlagged(call.project, server, source.name, findings, stripped, call.session)
                )
        if findings and spec.description_hygiene == "strip" and item.description:
            cleaned = strip_invisible(item.description)
            if cleaned != item.description:
                return item.model_copy(update={"description": cleaned})
        return item
