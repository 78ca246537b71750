"""The gateway's own LLM prompts: Prompt resources of the `mcpctl-system` project, with built-in defaults.

Each system prompt has a fixed set of `{{variable}}`s the gateway fills in; validation refuses any other,
so a typo in the config repo fails `mcpctl validate` instead of reaching the model as literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SYSTEM_PROJECT = "mcpctl-system"
"""The project whose Prompts replace the gateway's built-in LLM prompts (by name)."""

VARIABLE = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")
"""`{{name}}`, spaces allowed inside the braces."""


@dataclass(frozen=True)
class SystemPrompt:
    """One LLM prompt the gateway uses: the variables it fills in and the text used when none is stored."""

    variables: tuple[str, ...]
    """Every variable the text may use."""
    required: tuple[str, ...]
    """Variables the text must use (without them the model cannot do the job)."""
    default: str


SYSTEM_PROMPTS: dict[str, SystemPrompt] = {
    "gate-select": SystemPrompt(
        variables=("task", "tools", "maxTools", "prompts"),
        required=("task", "tools"),
        default=(
            # The task comes last: what precedes it is the same for every session of a project, so an
            # LLM server's prefix cache (vLLM's) skips re-reading it.
            "You pick the tools an AI assistant needs for a task.\n\n"
            "Available tools (name: what it does):\n{{tools}}\n\n"
            "Prompts (name: summary):\n{{prompts}}\n\n"
            "Answer with JSON: the names of at most {{maxTools}} tools the task needs, most useful first, "
            "and the names of the prompts that apply. Use only names listed above.\n\n"
            "Task: {{task}}"
        ),
    ),
    "page-titles": SystemPrompt(
        variables=("count", "pages"),
        required=("pages",),
        default=(
            "A long tool result was cut into {{count}} pages. Give each page a short title (at most eight "
            "words) saying what it holds, in page order.\n\n"
            "The start of each page:\n{{pages}}\n\n"
            "Answer with JSON: the titles, one per page."
        ),
    ),
    "summarize": SystemPrompt(
        variables=("text", "maxChars", "tool"),
        required=("text",),
        default=(
            "Summarize this result of the tool {{tool}} for an AI assistant in at most {{maxChars}} "
            "characters. Keep names, numbers and anything the assistant would need to act on.\n\n"
            "{{text}}"
        ),
    ),
}
"""System prompts by Prompt name: the gate's selection, the content pipeline's page titles and summaries."""


def template_variables(text: str) -> list[str]:
    """The variable names `text` uses, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in VARIABLE.finditer(text)))


def system_prompt_problems(name: str, content: str | None) -> list[str]:
    """Why a Prompt of the `mcpctl-system` project cannot be used (empty when it can)."""
    known = SYSTEM_PROMPTS.get(name)
    if known is None:
        return [f"unknown system prompt {name!r} (known: {', '.join(sorted(SYSTEM_PROMPTS))})"]
    if content is None:
        return ["a system prompt needs inline content (the gateway reads no linkTarget for it)"]
    problems: list[str] = []
    used = template_variables(content)
    unknown = [v for v in used if v not in known.variables]
    if unknown:
        names = ", ".join("{{" + v + "}}" for v in unknown)
        allowed = ", ".join("{{" + v + "}}" for v in known.variables)
        problems.append(f"unknown template variable(s) {names} (allowed: {allowed})")
    missing = [v for v in known.required if v not in used]
    if missing:
        problems.append(f"missing template variable(s) {', '.join('{{' + v + '}}' for v in missing)}")
    return problems


def render_template(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{{name}}` replaced by `values[name]` (in one pass: values are not re-scanned)."""
    return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)
