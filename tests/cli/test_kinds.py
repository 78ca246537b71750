"""The CLI's plain copy of the kinds is the schemas' own table, word for word and scope for scope."""

from __future__ import annotations

from mcpctl import schemas
from mcpctl.cli._kinds import KIND_ALIASES, KIND_SCOPES, kind_word, resolve_kind


def test_scopes_are_those_of_the_models_in_kinds_order() -> None:
    assert {kind: model.scope for kind, model in schemas.KINDS.items()} == KIND_SCOPES
    assert list(KIND_SCOPES) == list(schemas.KINDS)


def test_words_are_the_schemas_aliases() -> None:
    assert KIND_ALIASES == schemas.KIND_ALIASES


def test_words_resolve_as_the_schemas_resolve_them() -> None:
    for word in [*schemas.KIND_ALIASES, *schemas.KINDS, "SRV", "nope"]:
        assert resolve_kind(word) == schemas.resolve_kind(word)


def test_kind_words_are_the_models_first_words() -> None:
    for kind in schemas.KINDS:
        assert kind_word(kind) == schemas.kind_info(kind).words[0]
