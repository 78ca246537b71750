"""The `policy` layer: RBAC of the live store held at every door of a project's MCP endpoint.

The outermost built-in layer, so nothing below it sees what a principal may not use. A token's permissions
are read from the current snapshot's `PolicySet` at every request (the evaluator caches them per subject
and snapshot), so a binding applied to the store holds from the next poll on; sessions whose permissions
changed are told to list again. Refusals answer -32602 like an unknown target (`refuse`).

- tools: `run` on `servers/<server>` for that tool (tool scopes honoured);
- project prompts: `view` on `prompts/<name>`;
- a server's prompts, resources, templates, subscriptions and completions: `run` on the whole server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import anyio
import mcp_types as types

from mcpctl.policy import PermissionSet, SubjectRef

from ._context import CallContext
from ._pipeline import (
    CompleteNext,
    Layer,
    Listed,
    ListNext,
    PromptNext,
    ReadNext,
    SubscribeNext,
    ToolNext,
    UnsubscribeNext,
    refuse,
)
from ._principal import Principal
from ._session import CloseReason, GatewaySession
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.policy")

T = TypeVar("T")


def token_subject(principal: Principal) -> SubjectRef:
    """The policy subject a token principal stands for: `McpToken/<project>/<name>`."""
    return SubjectRef("McpToken", principal.token_name, principal.project)


def token_permissions(snapshot: Snapshot, project: str, name: str) -> PermissionSet:
    """What token `name` of `project` may do in this snapshot; nothing for a token it does not hold yet."""
    return snapshot.policy.permissions_of(SubjectRef("McpToken", name, project), strict=False)


def _server_allowed(permissions: PermissionSet, server: str | None, prompt: str | None = None) -> bool:
    # The gateway's own items (server None) are project prompts, asked about by name; what no server
    # serves and that is not a project prompt is left for the aggregator to answer as unknown.
    if server is None:
        return prompt is None or permissions.allows("view", "prompts", prompt)
    return permissions.allows("run", "servers", server)


class PolicyLayer(Layer):
    """Filters lists and refuses calls by the principal's effective permissions; tells sessions of changes."""

    name = "policy"

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot
        self._sessions: dict[int, GatewaySession] = {}

    def permissions(self, principal: Principal) -> PermissionSet:
        """The principal's effective permissions in the current snapshot."""
        return token_permissions(self._snapshot(), principal.project, principal.token_name)

    def _of(self, call: CallContext) -> PermissionSet | None:
        # No principal: the gateway runs without auth (loopback only), and nothing is enforced.
        return self.permissions(call.principal) if call.principal is not None else None

    def _filtered(
        self,
        call: CallContext,
        listed: Sequence[Listed[T]],
        allowed: Callable[[PermissionSet, Listed[T]], bool],
    ) -> list[Listed[T]]:
        permissions = self._of(call)
        if permissions is None:
            return list(listed)
        return [entry for entry in listed if allowed(permissions, entry)]

    def _check(self, call: CallContext, *, prompt: bool = False) -> None:
        permissions, target = self._of(call), call.target
        if permissions is None or target is None or target.name is None:
            return
        if target.kind == "tool" and target.server is not None:
            if not permissions.allows("run", "servers", target.server, target.name):
                refuse(call, f"{permissions.subject} may not run servers/{target.server}/{target.name}")
            return
        if not _server_allowed(permissions, target.server, target.name if prompt else None):
            what = f"servers/{target.server}" if target.server is not None else f"prompts/{target.name}"
            verb = "run" if target.server is not None else "view"
            refuse(call, f"{permissions.subject} may not {verb} {what}")

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        return self._filtered(
            call,
            await call_next(call),
            # A tool of no server is the gateway's own (a layer's virtual tool): policy leaves it alone.
            lambda p, e: e.server is None or p.allows("run", "servers", e.server, e.name),
        )

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        self._check(call)
        return await call_next(call, params)

    async def list_prompts(
        self, call: CallContext, call_next: ListNext[types.Prompt]
    ) -> list[Listed[types.Prompt]]:
        return self._filtered(call, await call_next(call), lambda p, e: _server_allowed(p, e.server, e.name))

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams, call_next: PromptNext
    ) -> types.GetPromptResult:
        self._check(call, prompt=True)
        return await call_next(call, params)

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        return self._filtered(call, await call_next(call), lambda p, e: _server_allowed(p, e.server))

    async def list_resource_templates(
        self, call: CallContext, call_next: ListNext[types.ResourceTemplate]
    ) -> list[Listed[types.ResourceTemplate]]:
        return self._filtered(call, await call_next(call), lambda p, e: _server_allowed(p, e.server))

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        self._check(call)
        return await call_next(call, params)

    async def subscribe_resource(
        self, call: CallContext, params: types.SubscribeRequestParams, call_next: SubscribeNext
    ) -> types.EmptyResult:
        self._check(call)
        return await call_next(call, params)

    async def unsubscribe_resource(
        self, call: CallContext, params: types.UnsubscribeRequestParams, call_next: UnsubscribeNext
    ) -> types.EmptyResult:
        self._check(call)
        return await call_next(call, params)

    async def complete(
        self, call: CallContext, params: types.CompleteRequestParams, call_next: CompleteNext
    ) -> types.CompleteResult:
        # Completing a project prompt's arguments needs what getting it needs.
        self._check(call, prompt=isinstance(params.ref, types.PromptReference))
        return await call_next(call, params)

    async def session_opened(self, session: GatewaySession) -> None:
        if session.principal is not None:
            self._sessions[id(session)] = session

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        self._sessions.pop(id(session), None)

    async def policy_changed(self, old: Snapshot, new: Snapshot) -> int:
        """Tell every open session whose effective permissions differ between the snapshots to list again.

        Returns how many sessions were told. Sessions of projects that changed anyway are told by
        `ProjectSessions.apply` as well; a second notice only makes a client list once more.
        """
        if old.policy is new.policy:
            return 0
        stale: list[GatewaySession] = []
        for session in list(self._sessions.values()):
            principal = session.principal
            if principal is None or not session.is_open:
                continue
            before = token_permissions(old, principal.project, principal.token_name)
            after = token_permissions(new, principal.project, principal.token_name)
            if before.atoms() != after.atoms():
                stale.append(session)
        if stale:
            async with anyio.create_task_group() as group:
                for session in stale:
                    group.start_soon(session.lists_changed)
            logger.info("policy changed: list_changed sent to %d session(s)", len(stale))
        return len(stale)
