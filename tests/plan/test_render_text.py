"""Text plan rendering against golden files: terraform symbols, old → new, (sensitive), summary line."""

from __future__ import annotations

from _samples import res
from mcpctl.plan import diff, render_text
from mcpctl.schemas import PREVENT_DESTROY_ANNOTATION

from ._samples import MANAGER, check_golden, live, scenario

SECRETS = ("old-secret", "new-secret", "literal-ghp")


def test_full_plan_matches_golden() -> None:
    desired, live_state = scenario()
    text = render_text(diff(desired, live_state, manager=MANAGER, source="/repo", revision="abc123"))
    check_golden("plan.txt", text)
    assert text.rstrip("\n").splitlines()[-1] == "Plan: 4 to add, 3 to change, 3 to destroy."
    for secret in SECRETS:
        assert secret not in text


def test_no_changes_line() -> None:
    desired, _ = scenario()
    text = render_text(diff(desired, [live(r) for r in desired], manager=MANAGER, source="/repo"))
    check_golden("no-changes.txt", text)
    assert text.endswith("No changes. The live store matches the desired state.\n")


def test_errored_plan_matches_golden() -> None:
    kept = res(
        "Server",
        "db",
        {"transport": "stdio", "command": "db"},
        annotations={PREVENT_DESTROY_ANNOTATION: "true"},
    )
    text = render_text(diff([], [live(kept)], manager=MANAGER, source="/repo"))
    check_golden("errored.txt", text)
    assert "Error: Server/db" in text


def test_colour_only_when_asked() -> None:
    desired, live_state = scenario()
    plan = diff(desired, live_state, manager=MANAGER, source="/repo")
    assert "\x1b[" not in render_text(plan)
    coloured = render_text(plan, color=True)
    assert "\x1b[32m" in coloured and "\x1b[31m" in coloured
