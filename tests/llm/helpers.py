"""Building provider sets for the LLM tests from plain provider documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcpctl.llm import LlmConfig, LlmProviders, Message

TOOLS = ["git__status", "git__log", "time__now", "fetch__get", "files__read", "files__write"]
"""Tool names offered as a JSON-schema enum in the selection-shaped calls."""


def providers(*documents: dict[str, Any], environ: Mapping[str, str] | None = None) -> LlmProviders:
    """A provider set of these provider documents (as the YAML file holds them)."""
    return LlmProviders.from_config(
        LlmConfig.model_validate({"providers": list(documents)}), environ=environ or {}
    )


def selection_schema(names: list[str] = TOOLS, most: int = 3) -> dict[str, Any]:
    """The shape of a tool-selection answer: 1..`most` names of `names`.

    No `uniqueItems`: vLLM's grammar engine (xgrammar) refuses it ("Unimplemented keys"); callers dedupe.
    """
    return {
        "type": "object",
        "properties": {
            "tools": {
                "type": "array",
                "items": {"type": "string", "enum": names},
                "minItems": 1,
                "maxItems": most,
            }
        },
        "required": ["tools"],
        "additionalProperties": False,
    }


def ask(task: str, names: list[str] = TOOLS) -> list[Message]:
    """Messages asking to pick the tools for `task`."""
    return [
        {"role": "system", "content": 'Pick the tools a task needs. Answer JSON: {"tools": [names]}.'},
        {"role": "user", "content": f"Task: {task}\nTools: {', '.join(names)}"},
    ]
