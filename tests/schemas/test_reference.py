"""Tests of mcpctl.schemas._reference: docs/resources.md is generated from the models and current."""

from __future__ import annotations

from pathlib import Path

from mcpctl.schemas import KINDS, render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "resources.md"


def test_committed_reference_is_current() -> None:
    # Regenerate with: mcpctl schema reference docs/resources.md
    assert DOC.read_text() == render_reference()


def test_every_kind_and_every_spec_field_is_documented() -> None:
    text = render_reference()
    for kind, model in KINDS.items():
        assert f"\n## {kind}\n" in text
        spec = model.model_fields["spec"].annotation
        for name, info in spec.model_fields.items():  # type: ignore[union-attr]
            assert f"`spec.{info.alias or name}`" in text, (kind, name)
    assert "| `spec.server.healthCheck.intervalSeconds` | integer | `30` | Seconds between probes. |" in text
    assert "`stdio` \\| `sse` \\| `streamable-http`" in text


def test_union_members_are_named_by_their_type() -> None:
    text = render_reference()
    assert "PydanticUndefined" not in text
    assert "| `spec.stages[](type=paginate).pageChars` | integer | `40000` | Size of one page. |" in text
    assert "`spec.stages[](type=summarize).tier`" in text
