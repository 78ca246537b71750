"""The `toolFilter` layer: a server's `include`/`exclude` globs hide its tools from lists and calls alike."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

import mcp_types as types

from mcpctl.schemas import ToolFilter

from ._context import CallContext
from ._pipeline import Layer, Listed, ListNext, ToolNext, refuse
from ._state import Snapshot


def tool_visible(name: str, tool_filter: ToolFilter) -> bool:
    """Whether a server's tool passes its `toolFilter` (include globs, then exclude globs)."""
    if tool_filter.include and not any(fnmatch.fnmatchcase(name, p) for p in tool_filter.include):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in tool_filter.exclude)


class ToolFilterLayer(Layer):
    """Drops filtered tools from `tools/list` and refuses calls to them like unknown tools."""

    name = "toolFilter"

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def _visible(self, server: str | None, name: str) -> bool:
        spec = self._snapshot().servers.get(server) if server is not None else None
        return spec is None or tool_visible(name, spec.tool_filter)

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        return [listed for listed in await call_next(call) if self._visible(listed.server, listed.name)]

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        target = call.target
        if target is not None and target.name is not None and not self._visible(target.server, target.name):
            refuse(call, f"toolFilter of server {target.server} hides {target.name}")
        return await call_next(call, params)
