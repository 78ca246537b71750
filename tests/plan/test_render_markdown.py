"""Markdown plan rendering (PR comments) against golden files: counts first, collapsed details."""

from __future__ import annotations

from mcpctl.plan import diff, render_markdown

from ._samples import MANAGER, check_golden, live, scenario


def test_full_plan_matches_golden() -> None:
    desired, live_state = scenario()
    text = render_markdown(
        diff(desired, live_state, manager=MANAGER, source="/repo", revision="abc123", base_generation=7)
    )
    check_golden("plan.md", text)
    first = text.splitlines()[0]
    assert "4 to add, 3 to change, 3 to destroy" in first  # counts come first
    assert text.count("<details>") == text.count("</details>") == 9  # 8 changes + unmanaged
    for secret in ("old-secret", "new-secret", "literal-ghp"):
        assert secret not in text


def test_no_changes() -> None:
    desired, _ = scenario()
    text = render_markdown(diff(desired, [live(r) for r in desired], manager=MANAGER, source="/repo"))
    check_golden("no-changes.md", text)
    assert "<details>" not in text and "No changes." in text
