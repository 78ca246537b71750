"""System prompts (`mcpctl-system` Prompts): their template variables are checked where they are written."""

from __future__ import annotations

from mcpctl.schemas import (
    SYSTEM_PROMPTS,
    load_text,
    render_template,
    system_prompt_problems,
    template_variables,
    validate_documents,
)

SYSTEM = """\
apiVersion: mcpctl.dev/v1
kind: Project
metadata: {name: mcpctl-system}
---
apiVersion: mcpctl.dev/v1
kind: Prompt
metadata: {name: gate-select, project: mcpctl-system}
spec:
  content: "Task {{task}} tools {{ tols }}"
---
apiVersion: mcpctl.dev/v1
kind: Prompt
metadata: {name: gate-pick, project: mcpctl-system}
spec:
  content: "x"
---
apiVersion: mcpctl.dev/v1
kind: Prompt
metadata: {name: notes, project: mcpctl-system-not}
spec:
  content: "{{anything}} goes in other projects"
"""


def _problems(text: str) -> list[str]:
    loaded = load_text(text, "system.yaml")
    result = validate_documents(loaded.documents, loaded.problems)
    return [str(problem) for problem in result.problems]


def test_unknown_and_missing_variables_and_unknown_names_are_errors_at_their_line() -> None:
    problems = _problems(SYSTEM)
    assert any(
        p.startswith("system.yaml:9:")
        and "spec.content" in p
        and "unknown template variable(s) {{tols}}" in p
        for p in problems
    ), problems
    assert any("missing template variable(s) {{tools}}" in p for p in problems), problems
    assert any(
        p.startswith("system.yaml:13:")
        and "unknown system prompt 'gate-pick' (known: gate-select, page-titles, summarize)" in p
        for p in problems
    ), problems
    assert not any("{{anything}}" in p for p in problems)


def test_the_built_in_defaults_are_valid_and_a_good_override_passes() -> None:
    for name, prompt in SYSTEM_PROMPTS.items():
        assert system_prompt_problems(name, prompt.default) == []
    good = (
        SYSTEM.split("---")[0]
        + "---"
        + SYSTEM.split("---")[1].replace("{{ tols }}", "{{tools}} {{maxTools}}")
    )
    assert _problems(good) == []


def test_a_linked_system_prompt_is_refused() -> None:
    assert system_prompt_problems("gate-select", None) == [
        "a system prompt needs inline content (the gateway reads no linkTarget for it)"
    ]


def test_render_fills_variables_once_and_leaves_unknown_ones() -> None:
    assert template_variables("{{a}} {{ b }} {{a}}") == ["a", "b"]
    # A value holding braces is not scanned again: a task cannot inject another variable's value.
    assert render_template("{{task}} / {{tools}}", {"task": "{{tools}}", "tools": "T"}) == "{{tools}} / T"
    assert render_template("{{other}}", {}) == "{{other}}"
