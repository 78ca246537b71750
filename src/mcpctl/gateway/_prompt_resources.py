"""Project prompts served as MCP resources `mcpctl://prompts/<name>`, with the text `prompts/get` gives.

For clients that read resources but not prompts. What a session may see is what `prompts/list` shows it:
`view` on `prompts/<name>`. A linked prompt (`linkTarget`) is read from its server's resource.
The gate's prompt index (`mcpctl://prompts/index`) is answered by the gate, which sits outside this layer.
"""

from __future__ import annotations

from collections.abc import Callable

import mcp_types as types

from mcpctl.errors import UpstreamError
from mcpctl.schemas import LINK_TARGET, PromptSpec

from ._aggregate import Upstreams
from ._context import CallContext, UnknownTarget
from ._pipeline import Layer, Listed, ListNext, ReadNext, UpstreamFailed
from ._state import Snapshot

PROMPT_SCHEME = "mcpctl://prompts/"
"""URI prefix of a project prompt served as a resource."""


class PromptResourcesLayer(Layer):
    """Lists the project's prompts the principal may view as resources and answers their reads."""

    name = "prompt-resources"

    def __init__(self, snapshot: Callable[[], Snapshot], upstreams: Upstreams) -> None:
        self._snapshot = snapshot
        self.upstreams = upstreams

    def _visible(self, call: CallContext) -> dict[str, PromptSpec]:
        principal = call.principal
        permissions = principal.permissions if principal is not None else None
        return {
            name: spec
            for name, spec in sorted(self._snapshot().prompts.get(call.project, {}).items())
            if permissions is None or permissions.allows("view", "prompts", name)
        }

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        listed = await call_next(call)
        return listed + [
            Listed(
                types.Resource(
                    uri=PROMPT_SCHEME + name,
                    name=f"prompt-{name}",
                    description=spec.summary or None,
                    mime_type="text/plain",
                ),
                None,
                PROMPT_SCHEME + name,
            )
            for name, spec in self._visible(call).items()
        ]

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        target = call.target
        if not params.uri.startswith(PROMPT_SCHEME) or (target is not None and target.server is not None):
            return await call_next(call, params)
        spec = self._visible(call).get(params.uri.removeprefix(PROMPT_SCHEME))
        if spec is None:
            # One answer for a prompt that does not exist and one the principal may not view.
            raise UnknownTarget("resource", params.uri)
        if spec.content is not None:
            text = spec.content
        else:
            assert spec.link_target is not None
            match = LINK_TARGET.match(spec.link_target)
            assert match is not None
            server = match["server"]
            try:
                result = await self.upstreams.read_resource(server, match["uri"], call=call)
            except UpstreamError as error:
                raise UpstreamFailed(server, error) from error
            text = "\n".join(c.text for c in result.contents if isinstance(c, types.TextResourceContents))
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=params.uri, mime_type="text/plain", text=text)]
        )
