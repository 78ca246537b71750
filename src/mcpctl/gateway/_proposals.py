"""The proposals layer: every project session may propose a prompt with `propose_prompt`, GitOps all the way.

A proposal is validated as a Prompt would be, stored as a PromptRequest (store-only, pending review) and
shown to the sessions of the token that proposed it as `mcpctl://promptrequests/<name>`. Nothing reaches
the project's prompts from here: a reviewer approves it into the config repo (`mcpctl approve
promptrequest`), and the reconciler applies it like any other change. The tool is listed only to
principals with `create` on prompts; a call without it is refused like an unknown tool.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread
import mcp_types as types
from pydantic import ValidationError

from mcpctl.errors import McpctlError
from mcpctl.schemas import SYSTEM_PROJECT, Prompt, format_field, system_prompt_problems

from ._context import CallContext, UnknownTarget
from ._events import Events, PromptProposed
from ._pipeline import Layer, Listed, ListNext, ReadNext, ToolNext, refuse

if TYPE_CHECKING:
    # Typed without importing the store (and SQLAlchemy) when the module loads.
    from mcpctl.store import PromptProposal, PromptRequest

PROPOSE = "propose_prompt"
REQUEST_SCHEME = "mcpctl://promptrequests/"
"""URI prefix of a session's own proposals: `mcpctl://promptrequests/<name>`."""
MAX_CONTENT_CHARS = 64_000
MAX_SUMMARY_CHARS = 500
MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_PENDING = 100
"""Most proposals one project holds pending review (each proposer may revise its own in place)."""
MAX_LISTED = 100
"""Most of its own proposals a session lists as resources."""

PROPOSE_TOOL = types.Tool(
    name=PROPOSE,
    description=(
        "Propose a new or improved prompt for this project. It is stored for review (nothing changes "
        "until a person approves it into the project's config repo); read its status at "
        "mcpctl://promptrequests/<name>. Proposing the same name again revises your pending proposal."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "description": "Prompt name: lowercase letters, digits, '-', '_' and '.'.",
                "maxLength": 253,
            },
            "content": {"type": "string", "description": "The prompt text.", "maxLength": MAX_CONTENT_CHARS},
            "tags": {
                "type": "array",
                "items": {"type": "string", "maxLength": MAX_TAG_CHARS},
                "maxItems": MAX_TAGS,
                "description": "Topics the prompt applies to.",
            },
            "summary": {"type": "string", "description": "One line saying what it is for.", "maxLength": 500},
        },
        "required": ["name", "content"],
    },
)


class ProposalStore(Protocol):
    """The part of `mcpctl.store.Store` this layer uses."""

    def propose_prompt(self, proposal: PromptProposal, *, max_pending: int = ...) -> PromptRequest: ...

    def prompt_requests(self, project: str | None = None, status: Any = None) -> list[PromptRequest]: ...


class _BadProposal(ValueError):
    pass


def _text_argument(arguments: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
    value = arguments.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise _BadProposal(f"{key} must be a non-empty string" if required else f"{key} must be a string")
    if len(value) > limit:
        raise _BadProposal(f"{key} is longer than {limit} characters")
    return value


def _tags(arguments: dict[str, Any]) -> list[str]:
    value = arguments.get("tags", [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadProposal("tags must be a list of strings")
    if len(value) > MAX_TAGS:
        raise _BadProposal(f"tags holds more than {MAX_TAGS} items")
    if any(len(item) > MAX_TAG_CHARS for item in value):
        raise _BadProposal(f"a tag is longer than {MAX_TAG_CHARS} characters")
    return [item.strip() for item in value if item.strip()]


def proposed_prompt(project: str, arguments: dict[str, Any]) -> Prompt:
    """The Prompt `arguments` propose in `project`, validated as the config repo's would be.

    Raises ValueError naming the argument at fault; limits hold on everything the client sends.
    """
    unknown = sorted(set(arguments) - {"name", "content", "tags", "summary"})
    if unknown:
        raise _BadProposal(f"unknown argument(s): {', '.join(unknown[:5])}")
    name = _text_argument(arguments, "name", 253, required=True)
    content = _text_argument(arguments, "content", MAX_CONTENT_CHARS, required=True)
    summary = _text_argument(arguments, "summary", MAX_SUMMARY_CHARS, required=False).strip()
    if "\n" in summary:
        raise _BadProposal("summary must be one line")
    document = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Prompt",
        "metadata": {"name": name, "project": project},
        "spec": {"content": content, "tags": _tags(arguments), "summary": summary},
    }
    try:
        prompt = Prompt.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = format_field(tuple(first["loc"]))
        # The model's field paths are the YAML's; the client named arguments.
        argument = {"metadata.name": "name", "spec.content": "content", "spec.summary": "summary"}.get(
            where, where
        )
        raise _BadProposal(f"{argument}: {first['msg']}") from None
    if project == SYSTEM_PROJECT:
        problems = system_prompt_problems(name, content)
        if problems:
            raise _BadProposal("; ".join(problems))
    return prompt


def request_document(request: PromptRequest) -> dict[str, Any]:
    """A request as its resource shows it (JSON)."""
    return {
        "name": request.name,
        "project": request.project,
        "status": request.status,
        "content": request.content,
        "tags": list(request.tags),
        "summary": request.summary,
        "proposedAt": request.created_at.isoformat(timespec="seconds"),
        "updatedAt": request.updated_at.isoformat(timespec="seconds"),
        "reason": request.reason,
        "branch": request.branch,
    }


def _result(
    text: str, *, error: bool = False, structured: dict[str, Any] | None = None
) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], is_error=error, structured_content=structured
    )


class ProposalLayer(Layer):
    """`propose_prompt` for every project, and each proposer's own requests as resources."""

    name = "proposals"

    def __init__(self, store: ProposalStore, events: Events | None = None) -> None:
        self.store = store
        self.events = events or Events()

    @staticmethod
    def may_propose(call: CallContext, name: str | None = None) -> bool:
        """`create` on prompts (every name: to list the tool; `name`: to call it); True without auth."""
        principal = call.principal
        permissions = principal.permissions if principal is not None else None
        return permissions is None or permissions.allows("create", "prompts", name)

    @staticmethod
    def _own(call: CallContext, request: PromptRequest) -> bool:
        principal = call.principal
        if principal is not None:
            return request.token == principal.token_name
        return request.token is None and request.session_id == call.session.id

    async def _requests(self, call: CallContext) -> list[PromptRequest]:
        found = await anyio.to_thread.run_sync(self.store.prompt_requests, call.project)
        return [request for request in found if self._own(call, request)]

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        listed = await call_next(call)
        if not self.may_propose(call):
            return listed
        return [*listed, Listed(PROPOSE_TOOL, None, PROPOSE)]

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        target = call.target
        if params.name != PROPOSE or (target is not None and target.server is not None):
            return await call_next(call, params)
        arguments = params.arguments or {}
        name = arguments.get("name")
        if not self.may_propose(call) and not (isinstance(name, str) and self.may_propose(call, name)):
            refuse(call, "may not create prompts")
        try:
            prompt = proposed_prompt(call.project, arguments)
        except _BadProposal as error:
            return _result(f"{PROPOSE}: {error}", error=True)
        if not self.may_propose(call, prompt.metadata.name):
            return _result(f"{PROPOSE}: you may not create a prompt named {prompt.metadata.name}", error=True)
        return await self._store(call, prompt)

    async def _store(self, call: CallContext, prompt: Prompt) -> types.CallToolResult:
        from mcpctl.store import PromptProposal

        principal = call.principal
        spec = prompt.spec
        assert spec.content is not None
        proposal = PromptProposal(
            project=call.project,
            name=prompt.metadata.name,
            content=spec.content,
            tags=tuple(spec.tags),
            summary=spec.summary,
            token=principal.token_name if principal is not None else None,
            user=principal.owner if principal is not None else None,
            session_id=call.session.id,
        )
        before = await self._requests(call)
        revised = any(r.name == proposal.name and r.status == "pending" for r in before)
        try:
            stored = await anyio.to_thread.run_sync(
                lambda: self.store.propose_prompt(proposal, max_pending=MAX_PENDING)
            )
        except McpctlError as error:
            return _result(f"{PROPOSE}: {error.detail}", error=True)
        self.events.emit(PromptProposed(call, stored.name, len(stored.content), len(stored.tags), revised))
        uri = REQUEST_SCHEME + stored.name
        verb = "Revised" if revised else "Stored"
        text = (
            f"{verb} proposal {stored.name!r} for review. Nothing changes until a person approves it into "
            f"the project's config repo; its status is at {uri}."
        )
        return _result(text, structured={"name": stored.name, "status": stored.status, "uri": uri})

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        listed = await call_next(call)
        own = (await self._requests(call))[:MAX_LISTED]
        return listed + [
            Listed(
                types.Resource(
                    uri=REQUEST_SCHEME + request.name,
                    name=f"promptrequest-{request.name}",
                    description=f"Your prompt proposal {request.name} ({request.status})",
                    mime_type="application/json",
                ),
                None,
                REQUEST_SCHEME + request.name,
            )
            for request in own
        ]

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        target = call.target
        if not params.uri.startswith(REQUEST_SCHEME) or (target is not None and target.server is not None):
            return await call_next(call, params)
        name = params.uri.removeprefix(REQUEST_SCHEME)
        found = [request for request in await self._requests(call) if request.name == name]
        if not found:
            # One answer for what does not exist and what another proposer made.
            raise UnknownTarget("resource", params.uri)
        text = json.dumps(request_document(found[0]), indent=2, ensure_ascii=False)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=params.uri, mime_type="application/json", text=text)]
        )


def proposal_layer(store: object, events: Events) -> ProposalLayer | None:
    """The layer over `store` when it keeps prompt requests (an mcpctl Store); None for other stores."""
    from mcpctl.store import Store

    return ProposalLayer(store, events) if isinstance(store, Store) else None
