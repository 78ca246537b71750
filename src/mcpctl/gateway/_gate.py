"""The gate layer: sessions of a `proxyModel: gate` project start with `begin_session` and see only what
their task unlocks.

A new session lists only `begin_session` (and reads the prompt index resource). `begin_session(task)` asks
the selector for the tools and prompts the task needs among those the session may use, answers the chosen
prompts' content and the unlocked names, and sends `notifications/tools/list_changed`; from then on the
session lists the unlocked tools plus `search_tools` and `unlock_tools`. A call to any other tool is refused
exactly like an unknown tool. Unlocked names live in the session's state and go with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types

from mcpctl.schemas import SYSTEM_PROJECT, ProjectSpec, system_prompt_problems

from ._context import CallContext
from ._events import Events, ToolsSelected
from ._matcher import Candidate, matcher_of, tool_text
from ._pipeline import Layer, Listed, ListNext, ReadNext, ToolNext, refuse
from ._select import SELECT_PROMPT, PromptCandidate, Selection, Selector
from ._state import Snapshot

BEGIN, SEARCH, UNLOCK = "begin_session", "search_tools", "unlock_tools"
INDEX_URI = "mcpctl://prompts/index"
"""The prompt index a gated session may read before it begins: each prompt's name, priority, tags, summary."""
STATE_KEY = "gate"
MAX_TASK_CHARS = 8000
MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_QUERY_CHARS = 1000
MAX_UNLOCK_NAMES = 64
MAX_UNLOCKED = 256
"""Most tools one session may hold unlocked (however often it calls `unlock_tools`)."""
SEARCH_RESULTS = 10
MAX_PROMPT_CHARS = 64_000
"""Most characters of prompt content one `begin_session` answer carries."""

_TEXT_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

BEGIN_TOOL = types.Tool(
    name=BEGIN,
    description=(
        "Start here: describe your task and the gateway unlocks the tools it needs (the tool list then "
        "changes) and returns the project's prompts that apply."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "task": {"type": "string", "description": "What you are going to do, in a sentence or two."},
            "tags": {**_TEXT_LIST, "description": "Optional topics (matched against prompt tags)."},
        },
        "required": ["task"],
    },
)
SEARCH_TOOL = types.Tool(
    name=SEARCH,
    description="Find more tools of this project for a need; returns names to pass to unlock_tools.",
    input_schema={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What the tool should do."}},
        "required": ["query"],
    },
)
UNLOCK_TOOL = types.Tool(
    name=UNLOCK,
    description="Add tools (names from search_tools) to this session's tool list.",
    input_schema={
        "type": "object",
        "properties": {"names": {**_TEXT_LIST, "description": "Tool names to unlock."}},
        "required": ["names"],
    },
)
INDEX_RESOURCE = types.Resource(
    uri=INDEX_URI,
    name="prompt-index",
    description="The project's prompts: name, priority, tags and summary of each (JSON).",
    mime_type="application/json",
)


@dataclass
class _GateState:
    began: bool = False
    unlocked: dict[str, None] = field(default_factory=dict)
    """Unlocked tool names in the order they were unlocked (a dict as an ordered set)."""


class _BadArguments(ValueError):
    pass


def _text(
    value: str, *, error: bool = False, structured: dict[str, Any] | None = None
) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=value)], is_error=error, structured_content=structured
    )


def _string(arguments: dict[str, Any], key: str, limit: int) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _BadArguments(f"{key} must be a non-empty string")
    if len(value) > limit:
        raise _BadArguments(f"{key} is longer than {limit} characters")
    return value.strip()


def _strings(arguments: dict[str, Any], key: str, most: int, limit: int, *, required: bool) -> list[str]:
    value = arguments.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadArguments(f"{key} must be a list of strings")
    if len(value) > most:
        raise _BadArguments(f"{key} holds more than {most} items")
    if any(len(item) > limit for item in value):
        raise _BadArguments(f"an item of {key} is longer than {limit} characters")
    return [item.strip() for item in value if item.strip()]


class GateLayer(Layer):
    """Gated sessions for projects whose `proxyModel` is `gate`; every other project passes through."""

    name = "gate"

    def __init__(
        self, snapshot: Callable[[], Snapshot], selector: Selector, events: Events | None = None
    ) -> None:
        self._snapshot = snapshot
        self.selector = selector
        self.events = events or Events()

    def _gated(self, call: CallContext) -> ProjectSpec | None:
        spec = self._snapshot().projects.get(call.project)
        return spec if spec is not None and spec.proxy_model == "gate" else None

    @staticmethod
    def _state(call: CallContext) -> _GateState:
        state = call.session.state.get(STATE_KEY)
        if not isinstance(state, _GateState):
            state = call.session.state[STATE_KEY] = _GateState()
        return state

    @staticmethod
    def _gate_tools(state: _GateState) -> list[types.Tool]:
        return [BEGIN_TOOL, SEARCH_TOOL, UNLOCK_TOOL] if state.began else [BEGIN_TOOL]

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        if self._gated(call) is None:
            return await call_next(call)
        state = self._state(call)
        own = [Listed(tool, None, tool.name) for tool in self._gate_tools(state)]
        if not state.began:
            return own
        return own + [listed for listed in await call_next(call) if listed.item.name in state.unlocked]

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        spec = self._gated(call)
        if spec is None:
            return await call_next(call, params)
        state = self._state(call)
        target = call.target
        upstream = target is not None and target.server is not None
        if not upstream and params.name in {tool.name for tool in self._gate_tools(state)}:
            try:
                if params.name == BEGIN:
                    return await self._begin(call, spec, state, params.arguments or {})
                if params.name == SEARCH:
                    return await self._search(call, state, params.arguments or {})
                return await self._unlock(call, state, params.arguments or {})
            except _BadArguments as error:
                return _text(f"{params.name}: {error}", error=True)
        if params.name not in state.unlocked:
            refuse(call, "gated session: tool not unlocked" if state.began else "gated session: not begun")
        return await call_next(call, params)

    async def list_resources(
        self, call: CallContext, call_next: ListNext[types.Resource]
    ) -> list[Listed[types.Resource]]:
        listed = await call_next(call)
        if self._gated(call) is None:
            return listed
        return [Listed(INDEX_RESOURCE, None, INDEX_URI), *listed]

    async def read_resource(
        self, call: CallContext, params: types.ReadResourceRequestParams, call_next: ReadNext
    ) -> types.ReadResourceResult:
        target = call.target
        if params.uri != INDEX_URI or (target is not None and target.server is not None):
            return await call_next(call, params)
        if self._gated(call) is None:
            return await call_next(call, params)
        index = [
            {"name": p.name, "priority": p.priority, "tags": list(p.tags), "summary": p.summary}
            for p in sorted(self._prompts(call), key=lambda p: (-p.priority, p.name))
        ]
        text = json.dumps({"prompts": index}, indent=2, ensure_ascii=False)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=INDEX_URI, mime_type="application/json", text=text)]
        )

    async def _candidates(self, call: CallContext) -> dict[str, Listed[types.Tool]]:
        """The tools this session may be given: listed by the layers inside the gate, allowed to run."""
        chain = call.chain
        if chain is None:
            return {}
        listed = await chain.tools_below(self, call)
        permissions = call.principal.permissions if call.principal is not None else None
        return {
            entry.item.name: entry
            for entry in listed
            if entry.server is not None
            and (permissions is None or permissions.allows("run", "servers", entry.server, tool=entry.name))
        }

    def _prompts(self, call: CallContext) -> list[PromptCandidate]:
        permissions = call.principal.permissions if call.principal is not None else None
        return [
            PromptCandidate(name, spec.priority, tuple(spec.tags), spec.summary)
            for name, spec in sorted(self._snapshot().prompts.get(call.project, {}).items())
            if permissions is None or permissions.allows("view", "prompts", name)
        ]

    def _template(self) -> str | None:
        """The stored selection prompt when it is usable; None (the built-in one) otherwise."""
        stored = self._snapshot().prompts.get(SYSTEM_PROJECT, {}).get(SELECT_PROMPT)
        if stored is None or system_prompt_problems(SELECT_PROMPT, stored.content):
            return None
        return stored.content

    async def _begin(
        self, call: CallContext, spec: ProjectSpec, state: _GateState, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        task = _string(arguments, "task", MAX_TASK_CHARS)
        tags = _strings(arguments, "tags", MAX_TAGS, MAX_TAG_CHARS, required=False)
        candidates = await self._candidates(call)
        prompts = self._prompts(call)
        selection = await self.selector.select(
            task,
            tags,
            [_candidate(entry) for entry in candidates.values()],
            prompts,
            max_tools=spec.gate.max_tools,
            timeout=spec.gate.timeout_seconds,
            template=self._template(),
            provider=spec.llm.provider,
            model=spec.llm.model,
        )
        state.began = True
        for name in selection.tools:
            if len(state.unlocked) < MAX_UNLOCKED:
                state.unlocked[name] = None
        self.events.emit(
            ToolsSelected(
                call,
                selection.chooser,
                selection.seconds,
                selection.tools,
                len(candidates),
                selection.provider,
                selection.fallback,
            )
        )
        await call.session.tools_changed()
        return await self._begin_result(call, selection, candidates)

    async def _begin_result(
        self, call: CallContext, selection: Selection, candidates: dict[str, Listed[types.Tool]]
    ) -> types.CallToolResult:
        stored = self._snapshot().prompts.get(call.project, {})
        lines = [
            f"Unlocked {len(selection.tools)} tool(s) for this task"
            f" (chosen by the {'LLM' if selection.chooser == 'llm' else 'matcher'}):"
        ]
        lines += [f"- {name}" for name in selection.tools]
        lines.append("Need another tool? search_tools(query), then unlock_tools(names).")
        budget = MAX_PROMPT_CHARS
        for name in selection.prompts:
            prompt = stored.get(name)
            if prompt is None:
                continue
            if prompt.content is None:
                body = f"(linked content: read it with prompts/get {name})"
            elif len(prompt.content) > budget:
                body = f"(too long to include here: read it with prompts/get {name})"
            else:
                body = prompt.content
                budget -= len(body)
            lines += ["", f"## Prompt {name} (priority {prompt.priority})", body]
        structured = {
            "tools": list(selection.tools),
            "prompts": list(selection.prompts),
            "chooser": selection.chooser,
        }
        return _text("\n".join(lines), structured=structured)

    async def _search(
        self, call: CallContext, state: _GateState, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        query = _string(arguments, "query", MAX_QUERY_CHARS)
        candidates = await self._candidates(call)
        matcher = matcher_of(tuple(_candidate(entry) for entry in candidates.values()))
        found = matcher.rank(query, SEARCH_RESULTS, exclude=state.unlocked)
        if not found:
            return _text("No other tool matches; try other words.", structured={"tools": []})
        lines = [f"- {r.name}: {candidates[r.name].item.description or ''}".rstrip(": ") for r in found]
        text = "Tools you can unlock with unlock_tools:\n" + "\n".join(lines)
        return _text(text, structured={"tools": [r.name for r in found]})

    async def _unlock(
        self, call: CallContext, state: _GateState, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        names = _strings(arguments, "names", MAX_UNLOCK_NAMES, 256, required=True)
        candidates = await self._candidates(call)
        added: list[str] = []
        unavailable: list[str] = []
        for name in dict.fromkeys(names):
            if name in state.unlocked:
                continue
            # One answer for what does not exist and what the session may not use.
            if name not in candidates or len(state.unlocked) >= MAX_UNLOCKED:
                unavailable.append(name)
                continue
            state.unlocked[name] = None
            added.append(name)
        if added:
            await call.session.tools_changed()
        lines = [f"Unlocked: {', '.join(added)}" if added else "Nothing new unlocked."]
        if unavailable:
            lines.append(f"Not available: {', '.join(unavailable)}")
        return _text(
            "\n".join(lines),
            error=not added and bool(unavailable),
            structured={"unlocked": added, "unavailable": unavailable},
        )


def _candidate(entry: Listed[types.Tool]) -> Candidate:
    source = entry.source or entry.item
    return Candidate(
        entry.item.name, entry.name, entry.server or "", tool_text(source.description, source.input_schema)
    )
