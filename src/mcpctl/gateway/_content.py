"""The content layer: long tool results and prompts are cached and served in parts (pages, sections).

Every project runs its content stages (`schemas.project_stages`) on each tool result, in order: `paginate`
keeps a result longer than its limit in the gateway's `ResultCache` and answers a page index instead;
`split-sections` does the same with sections on headings; `summarize` answers an LLM summary (the
full text kept as pages). A session fetches a part by calling the same tool with `{"_resultId": ID,
"_page": N}` (or `"_section": K`), and a prompt's section with `prompts/get` of the same prompt and
`{"_resultId": ID, "_section": K}`. A part is served only to the session that produced the result, for
the same tool or prompt; anything else is answered like an id that never existed. `tools/list` shows
each tool with an output schema that also admits the index and part shapes and with the part-fetch
arguments in its input schema (`mcpctl.content.advertised_*`), so validating clients accept them.

Registered innermost, just above the aggregator: a part fetch is then a call of that tool for every
layer above (policy, the gate, pins, toolFilter), so access revoked after the result was produced holds
for its pages too, and a refused call never produces anything to cache. Arguments and content are never
logged; LLM failures are logged by their type only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcpctl.content import (
    PAGE_KEY,
    RESERVED,
    RESULT_ID,
    RESULT_KEY,
    SECTION_KEY,
    CachedResult,
    EntryKind,
    Part,
    ResultCache,
    ResultTooLarge,
    Unit,
    advertised_input_schema,
    advertised_output_schema,
    head_and_tail,
    new_result_id,
    split_pages,
    split_sections,
)
from mcpctl.errors import LlmError
from mcpctl.llm import LlmProviders, Message
from mcpctl.schemas import (
    DEFAULT_PAGE_CHARS,
    SYSTEM_PROJECT,
    SYSTEM_PROMPTS,
    PaginateStage,
    ProjectSpec,
    SplitSectionsStage,
    Stage,
    SummarizeStage,
    project_stages,
    render_template,
    system_prompt_problems,
)

from ._context import CallContext
from ._pipeline import Layer, Listed, ListNext, PromptNext, ToolNext
from ._session import CloseReason, GatewaySession
from ._state import Snapshot

logger = logging.getLogger("mcpctl.gateway.content")

PROMPT_SECTION_CHARS = 2000
"""Prompts longer than this are split into sections, in every project."""
_DEFAULT_SPLITTER = SplitSectionsStage(type="split-sections")
"""Section sizes for a project whose stages do not name `split-sections`."""
TITLES_PROMPT, SUMMARY_PROMPT = "page-titles", "summarize"
MAX_TITLED_PAGES = 20
"""More pages than this are titled `Page N` without asking the LLM (its context is small)."""
TITLE_CHARS = 80
_TITLE_EXCERPT = 300
_TITLE_BUDGET = 2400
"""Characters of page starts the title prompt carries in all (a small model's context is 2k tokens)."""
_SUMMARY_INPUT_CHARS = 3000
"""Most characters of a result the summarizing LLM is shown (its head and tail): the default small
model's context is 2,048 tokens, and text in other scripts takes more than one token a character."""
_JOIN = "\n\n"
"""Between the text blocks of a multi-block result when they are cut into parts as one text."""


class _BadFetch(ValueError):
    pass


def _unknown(result_id: str) -> _BadFetch:
    shown = result_id if RESULT_ID.match(result_id) else "(malformed)"
    return _BadFetch(
        f"unknown or expired result id {shown}: results are kept for the session that produced them, "
        "for a limited time; call the tool again without _resultId"
    )


def _number(arguments: dict[str, Any], key: str) -> int:
    value = arguments.get(key)
    if isinstance(value, str) and value.isdigit() and len(value) <= 6:
        value = int(value)  # prompt arguments are strings on the wire
    if not isinstance(value, int) or isinstance(value, bool):
        raise _BadFetch(f"{key} must be a whole number")
    return value


def _text_result(
    text: str, *, error: bool = False, structured: dict[str, Any] | None = None
) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], is_error=error, structured_content=structured
    )


def _fetch_hint(kind: EntryKind, name: str, result_id: str, key: str) -> str:
    arguments = json.dumps({RESULT_KEY: result_id, key: 1 if kind == "tool" else "1"})
    where = f"the tool {name}" if kind == "tool" else f"prompts/get of the prompt {name}"
    return f"Fetch one with {where} and the arguments {arguments} ({key} is 1-based)."


def _index_text(entry: CachedResult, note: str = "") -> str:
    word = entry.unit if len(entry.parts) == 1 else f"{entry.unit}s"
    key = PAGE_KEY if entry.unit == "page" else SECTION_KEY
    what = "result" if entry.kind == "tool" else "prompt"
    lines = [
        f"This {what} is {entry.chars:,} characters long, so the gateway keeps it as result {entry.id} in "
        f"{len(entry.parts)} {word}. {_fetch_hint(entry.kind, entry.target, entry.id, key)}",
    ]
    if note:
        lines.append(note)
    lines.append("")
    lines += [
        f"{index}. {part.title} ({len(part.text):,} chars)" for index, part in enumerate(entry.parts, 1)
    ]
    return "\n".join(lines)


def _structured(entry: CachedResult) -> dict[str, Any]:
    return {
        RESULT_KEY: entry.id,
        "pages" if entry.unit == "page" else "sections": len(entry.parts),
        "totalChars": entry.chars,
        "partChars": [len(part.text) for part in entry.parts],
        "titles": [part.title for part in entry.parts],
    }


def _texts(content: Sequence[types.ContentBlock]) -> tuple[str, list[types.ContentBlock]]:
    """The result's text blocks as one text, and its other blocks (kept as they are)."""
    texts = [block.text for block in content if isinstance(block, types.TextContent)]
    others: list[types.ContentBlock] = [b for b in content if not isinstance(b, types.TextContent)]
    return _JOIN.join(texts), others


def _prompt_text(result: types.GetPromptResult) -> str:
    return _JOIN.join(m.content.text for m in result.messages if isinstance(m.content, types.TextContent))


def _clean_title(value: Any, index: int) -> str:
    title = " ".join(value.split()) if isinstance(value, str) else ""
    if not title:
        return f"Page {index}"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def _advertised(tool: types.Tool) -> types.Tool:
    return tool.model_copy(
        update={
            "input_schema": advertised_input_schema(tool.input_schema),
            "output_schema": advertised_output_schema(tool.output_schema),
        }
    )


class ContentLayer(Layer):
    """Runs every project's content stages on tool results and prompts; answers part fetches."""

    name = "content"

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        cache: ResultCache,
        llm: LlmProviders | None = None,
        *,
        llm_timeout: float = 5.0,
        summary_timeout: float = 30.0,
    ) -> None:
        self._snapshot = snapshot
        self.cache = cache
        self.llm = llm
        self.llm_timeout = llm_timeout
        self.summary_timeout = summary_timeout

    def _stages(self, call: CallContext) -> tuple[ProjectSpec | None, list[Stage]]:
        snapshot = self._snapshot()
        spec = snapshot.projects.get(call.project)
        if spec is None:
            return None, []
        stages = project_stages(spec, snapshot.proxy_models)
        if stages is None:
            # A ProxyModel that is not in the store (validation refuses it; the store may lag): paginate.
            stages = project_stages(spec.model_copy(update={"proxy_model": "default"}), {}) or []
        return spec, stages

    async def list_tools(
        self, call: CallContext, call_next: ListNext[types.Tool]
    ) -> list[Listed[types.Tool]]:
        """Each tool as clients must see it to fetch parts: its output schema also admits the index and
        part shapes, and its input schema declares `_resultId`, `_page`, `_section`. Only `item` changes:
        `source` (what tool pins hash) stays the upstream's definition."""
        listed = await call_next(call)
        return [replace(entry, item=_advertised(entry.item)) for entry in listed]

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        target = call.target
        # A tool nothing serves is the aggregator's to answer (`Unknown tool`), part fetch or not.
        if RESERVED & arguments.keys() and (target is None or target.known):
            try:
                part, entry, index = self._fetch(call, "tool", params.name, arguments)
            except _BadFetch as error:
                return _text_result(f"{params.name}: {error}", error=True)
            unit = "pages" if entry.unit == "page" else "sections"
            structured = {RESULT_KEY: entry.id, entry.unit: index, unit: len(entry.parts)}
            return _text_result(part.text, structured=structured)
        result = await call_next(call, params)
        spec, stages = self._stages(call)
        if spec is None:
            return result
        text, others = _texts(result.content)
        try:
            shaped = await self._run(call, spec, stages, params.name, text)
        except ResultTooLarge:
            return _text_result(
                f"{params.name}: the result ({len(text):,} characters) is larger than the gateway's result "
                "cache can hold; ask for less",
                error=True,
            )
        if shaped is None:
            return result
        body, structured = shaped
        content: list[types.ContentBlock] = [types.TextContent(type="text", text=body), *others]
        return types.CallToolResult(content=content, is_error=result.is_error, structured_content=structured)

    async def get_prompt(
        self, call: CallContext, params: types.GetPromptRequestParams, call_next: PromptNext
    ) -> types.GetPromptResult:
        arguments: dict[str, Any] = dict(params.arguments or {})
        if RESERVED & arguments.keys():
            try:
                part, entry, index = self._fetch(call, "prompt", params.name, arguments)
            except _BadFetch as error:
                raise MCPError(types.INVALID_PARAMS, f"prompt {params.name}: {error}") from None
            message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=part.text))
            description = f"Section {index} of {len(entry.parts)}: {part.title}"
            return types.GetPromptResult(description=description, messages=[message])
        result = await call_next(call, params)
        _, stages = self._stages(call)
        # Every project's long prompts are sectioned, as its long results are paginated; a
        # `split-sections` stage only sets the section size.
        splitter = next((s for s in stages if isinstance(s, SplitSectionsStage)), _DEFAULT_SPLITTER)
        text = _prompt_text(result)
        if len(text) <= PROMPT_SECTION_CHARS:
            return result
        sectioned = self._sectioned(call, "prompt", params.name, text, splitter)
        if sectioned is None:
            return result
        message = types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=_index_text(sectioned))
        )
        return types.GetPromptResult(description=result.description, messages=[message])

    async def session_closed(self, session: GatewaySession, reason: CloseReason) -> None:
        if session.id:
            self.cache.drop_session(session.id)

    def _fetch(
        self, call: CallContext, kind: EntryKind, name: str, arguments: dict[str, Any]
    ) -> tuple[Part, CachedResult, int]:
        extra = sorted(arguments.keys() - RESERVED)
        if extra:
            raise _BadFetch(f"a part fetch takes only {RESULT_KEY} and {PAGE_KEY} or {SECTION_KEY}")
        result_id = arguments.get(RESULT_KEY)
        if not isinstance(result_id, str):
            raise _BadFetch(f"{RESULT_KEY} must be the id the result's index gave")
        if (PAGE_KEY in arguments) == (SECTION_KEY in arguments):
            raise _BadFetch(f"give exactly one of {PAGE_KEY} and {SECTION_KEY}")
        key = PAGE_KEY if PAGE_KEY in arguments else SECTION_KEY
        number = _number(arguments, key)
        entry = self.cache.get(result_id, call.session.id) if RESULT_ID.match(result_id) else None
        if entry is None or entry.kind != kind or entry.target != name:
            raise _unknown(result_id)
        wanted: Unit = "page" if key == PAGE_KEY else "section"
        if entry.unit != wanted:
            other = PAGE_KEY if entry.unit == "page" else SECTION_KEY
            raise _BadFetch(f"result {entry.id} is kept in {entry.unit}s: use {other}")
        if not 1 <= number <= len(entry.parts):
            raise _BadFetch(f"{key} must be between 1 and {len(entry.parts)} for result {entry.id}")
        return entry.parts[number - 1], entry, number

    def _store(
        self, call: CallContext, kind: EntryKind, name: str, unit: Unit, parts: list[Part]
    ) -> CachedResult:
        entry = CachedResult(new_result_id(), call.project, call.session.id, kind, name, unit, tuple(parts))
        return self.cache.put(entry)

    def _sectioned(
        self, call: CallContext, kind: EntryKind, name: str, text: str, stage: SplitSectionsStage
    ) -> CachedResult | None:
        sections = split_sections(text, stage.max_section_chars)
        if len(sections) < 2:
            return None
        try:
            return self._store(call, kind, name, "section", [Part(s.title, s.text) for s in sections])
        except ResultTooLarge:
            return None

    async def _run(
        self, call: CallContext, spec: ProjectSpec, stages: Sequence[Stage], tool: str, text: str
    ) -> tuple[str, dict[str, Any]] | None:
        """The stages over `text`: the answer and its structured content, or None when none applied."""
        shaped: tuple[str, dict[str, Any]] | None = None
        page_chars = next((s.page_chars for s in stages if isinstance(s, PaginateStage)), DEFAULT_PAGE_CHARS)
        for stage in stages:
            if isinstance(stage, PaginateStage) and len(text) > stage.max_response_chars:
                paged = await self._paged(call, spec, tool, text, stage.page_chars)
                shaped = _index_text(paged), _structured(paged)
            elif isinstance(stage, SplitSectionsStage) and len(text) > stage.max_section_chars:
                sectioned = self._sectioned(call, "tool", tool, text, stage)
                if sectioned is None:
                    continue
                shaped = _index_text(sectioned), _structured(sectioned)
            elif isinstance(stage, SummarizeStage) and len(text) > stage.max_chars:
                entry = await self._paged(call, spec, tool, text, page_chars, titled=False)
                summary, by = await self._summary(call, spec, tool, text, stage)
                note = f"Summary ({by}):\n{summary}\n\nThe full result:"
                shaped = _index_text(entry, note), {**_structured(entry), "summary": summary}
            else:
                continue
            text = shaped[0]
        return shaped

    async def _paged(
        self,
        call: CallContext,
        spec: ProjectSpec,
        tool: str,
        text: str,
        page_chars: int,
        *,
        titled: bool = True,
    ) -> CachedResult:
        pages = split_pages(text, page_chars)
        titles = (
            await self._titles(spec, pages) if titled else [f"Page {i}" for i in range(1, len(pages) + 1)]
        )
        return self._store(
            call, "tool", tool, "page", [Part(t, p) for t, p in zip(titles, pages, strict=True)]
        )

    def _system_prompt(self, name: str) -> str:
        stored = self._snapshot().prompts.get(SYSTEM_PROJECT, {}).get(name)
        if stored is None or system_prompt_problems(name, stored.content) or stored.content is None:
            return SYSTEM_PROMPTS[name].default
        return stored.content

    async def _titles(self, spec: ProjectSpec, pages: list[str]) -> list[str]:
        """A title per page from the LLM (padded or cut to the page count), `Page N` where it gives none."""
        fallback = [f"Page {index}" for index in range(1, len(pages) + 1)]
        llm = self.llm
        if llm is None or not len(llm) or len(pages) > MAX_TITLED_PAGES:
            return fallback
        each = min(_TITLE_EXCERPT, _TITLE_BUDGET // len(pages))
        excerpts = "\n".join(
            f"{index}. {' '.join(page[:each].split())}" for index, page in enumerate(pages, 1)
        )
        text = render_template(
            self._system_prompt(TITLES_PROMPT), {"count": str(len(pages)), "pages": excerpts}
        )
        messages: list[Message] = [{"role": "user", "content": text}]
        schema = {
            "type": "object",
            "properties": {
                "titles": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": TITLE_CHARS},
                    "maxItems": len(pages),
                }
            },
            "required": ["titles"],
        }
        try:
            with anyio.fail_after(self.llm_timeout):
                choice = await llm.choose_json(
                    messages,
                    schema,
                    tier="fast",
                    provider=spec.llm.provider,
                    model=spec.llm.model,
                    timeout=self.llm_timeout,
                    max_tokens=24 * len(pages) + 32,
                )
        except (TimeoutError, LlmError) as error:
            logger.info("content: page titles fall back to numbers (%s)", type(error).__name__)
            return fallback
        answered = choice.value.get("titles", []) if isinstance(choice.value, dict) else []
        return [
            _clean_title(answered[index - 1] if index <= len(answered) else None, index)
            for index in range(1, len(pages) + 1)
        ]

    async def _summary(
        self, call: CallContext, spec: ProjectSpec, tool: str, text: str, stage: SummarizeStage
    ) -> tuple[str, str]:
        """A summary of at most `stage.max_chars` and who made it: an LLM provider, or `excerpt`."""
        llm = self.llm
        if llm is not None and len(llm):
            prompt = render_template(
                self._system_prompt(SUMMARY_PROMPT),
                {
                    "text": head_and_tail(text, _SUMMARY_INPUT_CHARS),
                    "maxChars": str(stage.max_chars),
                    "tool": tool,
                },
            )
            try:
                with anyio.fail_after(self.summary_timeout):
                    answer = await llm.complete(
                        [{"role": "user", "content": prompt}],
                        tier=stage.tier,
                        provider=spec.llm.provider,
                        model=spec.llm.model,
                        timeout=self.summary_timeout,
                        max_tokens=max(64, stage.max_chars // 3),
                    )
            except (TimeoutError, LlmError) as error:
                logger.info("content: summary falls back to an excerpt (%s)", type(error).__name__)
            else:
                summary = answer.text.strip()
                if summary:
                    return head_and_tail(summary, stage.max_chars), answer.provider
        return head_and_tail(text, stage.max_chars), "excerpt"
