"""The gate's selector: the tools and prompts a task needs, asked of the LLM, else decided by the matcher.

The LLM gets a constrained JSON choice (tool and prompt names as enums) within the project's timeout; when
no LLM is configured, none answers in time, or the answer names nothing usable, the BM25 matcher decides.
Either way only names of the candidates given (what the session may use) come back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from mcpctl.errors import LlmError
from mcpctl.llm import LlmProviders, Message
from mcpctl.schemas import SYSTEM_PROMPTS, render_template

from ._matcher import Candidate, Matcher, matcher_of, pick, terms, with_neighbours

logger = logging.getLogger("mcpctl.gateway.gate")

SELECT_PROMPT = "gate-select"
"""Name of the system prompt (a Prompt of the `mcpctl-system` project) the selector sends."""
SHORTLIST = 30
"""Most tools shown to the LLM: the matcher's best (a small model's context is 2k tokens)."""
MAX_ENUM = 256
"""Most names in the answer's enums; up to it they are every candidate, so the schema stays the same."""
MAX_PROMPTS = 5
"""Most prompts one selection returns."""
CUTOFF = 0.2
"""The matcher keeps tools scoring at least this share of the best one (fewer unrelated unlocks)."""
_DESCRIPTION_CHARS = 120

Chooser = Literal["llm", "matcher"]


@dataclass(frozen=True)
class PromptCandidate:
    """A project prompt the session may read."""

    name: str
    priority: int
    tags: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class Selection:
    """What a task unlocks, who chose it and how long choosing took."""

    tools: tuple[str, ...]
    prompts: tuple[str, ...]
    """Chosen prompts, highest priority first."""
    chooser: Chooser
    seconds: float
    provider: str | None = None
    """The LLM provider that answered (chooser `llm`)."""
    fallback: str | None = None
    """Why the matcher decided (chooser `matcher`): no LLM, the LLM's failure, an empty answer."""


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _DESCRIPTION_CHARS else line[: _DESCRIPTION_CHARS - 1] + "…"


def selection_schema(tools: Sequence[str], prompts: Sequence[str], max_tools: int) -> dict[str, Any]:
    """The JSON Schema of the LLM's answer: names as enums (no `uniqueItems`: vLLM's grammar refuses it)."""
    properties: dict[str, Any] = {
        "tools": {
            "type": "array",
            "items": {"type": "string", "enum": list(tools)},
            "minItems": 1,
            "maxItems": max_tools,
        }
    }
    required = ["tools"]
    if prompts:
        properties["prompts"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(prompts)},
            "maxItems": MAX_PROMPTS,
        }
        required.append("prompts")
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


class Selector:
    """Chooses for one `begin_session`; shared by every project (the LLM set is the gateway's)."""

    def __init__(self, llm: LlmProviders | None = None) -> None:
        self.llm = llm

    async def select(
        self,
        task: str,
        tags: Sequence[str],
        tools: Sequence[Candidate],
        prompts: Sequence[PromptCandidate],
        *,
        max_tools: int,
        timeout: float,
        template: str | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> Selection:
        """Tools (at most `max_tools`, never none while there are candidates) and prompts for `task`."""
        started = time.perf_counter()
        query = " ".join([task, *tags])
        ranked = matcher_of(tuple(tools)).rank(query)
        fallback: str
        if not tools:
            fallback = "no tools to choose from"
        elif self.llm is None or not len(self.llm):
            fallback = "no LLM is configured"
        else:
            # In name order, not rank order: with every candidate shown (up to SHORTLIST) the prompt's
            # text before the task is the same for every session, which the LLM server's cache reuses.
            shortlist = [r.name for r in ranked[:SHORTLIST]]
            shortlist += [c.name for c in sorted(tools, key=lambda c: c.name) if c.name not in shortlist]
            shortlist = sorted(shortlist[:SHORTLIST])
            try:
                with anyio.fail_after(timeout):
                    answer = await self._ask(
                        self.llm,
                        task,
                        tags,
                        tools,
                        shortlist,
                        prompts,
                        max_tools,
                        timeout,
                        template,
                        provider,
                        model,
                    )
            except TimeoutError:
                asked = ", ".join(p.name for p in self.llm.chain("fast", provider))
                fallback = f"the LLM ({asked}) did not answer within {timeout:g}s"
            except LlmError as error:
                fallback = error.detail
            else:
                chosen_tools, chosen_prompts, answered_by = answer
                if chosen_tools:
                    prompt_names = _by_priority(prompts, [*chosen_prompts, *_tagged(prompts, tags)])
                    return Selection(
                        tuple(chosen_tools[:max_tools]),
                        prompt_names,
                        "llm",
                        time.perf_counter() - started,
                        provider=answered_by,
                    )
                fallback = "the LLM chose no tool"
        # Quiet without an LLM (the expected way then); said when a configured one could not decide.
        logger.log(logging.INFO if self.llm else logging.DEBUG, "gate: the matcher selects (%s)", fallback)
        chosen = with_neighbours(pick(ranked, max_tools, cutoff=CUTOFF), ranked, tools, max_tools)
        if not chosen:
            # Nothing matched: a handful in a fixed order rather than an empty session.
            chosen = [c.name for c in sorted(tools, key=lambda c: c.name)[:max_tools]]
        return Selection(
            tuple(chosen),
            match_prompts(prompts, query, tags),
            "matcher",
            time.perf_counter() - started,
            fallback=fallback,
        )

    async def _ask(
        self,
        llm: LlmProviders,
        task: str,
        tags: Sequence[str],
        tools: Sequence[Candidate],
        shortlist: list[str],
        prompts: Sequence[PromptCandidate],
        max_tools: int,
        timeout: float,
        template: str | None,
        provider: str | None,
        model: str | None,
    ) -> tuple[list[str], list[str], str]:
        by_name = {c.name: c for c in tools}
        tool_lines = "\n".join(f"- {name}: {_short(by_name[name].text)}" for name in shortlist)
        prompt_lines = (
            "\n".join(f"- {p.name}: {_short(p.summary or ', '.join(p.tags))}" for p in prompts[:50])
            or "(none)"
        )
        task_line = " ".join([task, *(f"#{tag}" for tag in tags)])
        text = render_template(
            template or SYSTEM_PROMPTS[SELECT_PROMPT].default,
            {"task": task_line, "tools": tool_lines, "prompts": prompt_lines, "maxTools": str(max_tools)},
        )
        messages: list[Message] = [{"role": "user", "content": text}]
        prompt_names = [p.name for p in prompts[:50]]
        # The enums hold every candidate (not just those shown) while they fit: vLLM compiles a grammar
        # per distinct schema (tens of seconds on a CPU), so one schema per project and principal is
        # compiled once instead of once per task.
        everything = sorted(by_name) if len(by_name) <= MAX_ENUM else shortlist
        choice = await llm.choose_json(
            messages,
            selection_schema(everything, sorted(prompt_names), max_tools),
            tier="fast",
            provider=provider,
            model=model,
            timeout=timeout,
            max_tokens=48 + 24 * (max_tools + MAX_PROMPTS),
        )
        value = choice.value
        # The schema holds the names to the enums, and choose_json checked it; duplicates are dropped here.
        chosen_tools = list(dict.fromkeys(n for n in value.get("tools", []) if n in by_name))
        chosen_prompts = list(dict.fromkeys(n for n in value.get("prompts", []) if n in prompt_names))
        return chosen_tools, chosen_prompts, choice.provider


def _tagged(prompts: Sequence[PromptCandidate], tags: Sequence[str]) -> list[str]:
    wanted = {tag.lower() for tag in tags}
    return [p.name for p in prompts if wanted & {tag.lower() for tag in p.tags}]


def _by_priority(prompts: Sequence[PromptCandidate], names: Sequence[str]) -> tuple[str, ...]:
    order = {name: index for index, name in enumerate(dict.fromkeys(names))}
    chosen = [p for p in prompts if p.name in order]
    chosen.sort(key=lambda p: (-p.priority, order[p.name]))
    return tuple(p.name for p in chosen[:MAX_PROMPTS])


def match_prompts(prompts: Sequence[PromptCandidate], query: str, tags: Sequence[str]) -> tuple[str, ...]:
    """Prompts whose tags the client named or the task mentions, or whose summary matches the task."""
    words = set(terms(query))
    tagged = [p.name for p in prompts if words & {t for tag in p.tags for t in terms(tag)}]
    matcher = Matcher([Candidate(p.name, p.name, " ".join(p.tags), p.summary) for p in prompts])
    summary_hits = [r.name for r in matcher.rank(query)]
    return _by_priority(prompts, [*_tagged(prompts, tags), *tagged, *summary_hits])
