"""Dependency order of kinds: what apply writes first, and the sort keys plans are listed in.

Templates → servers → proxy models → projects → prompts; users → groups → role bindings → tokens.
"""

from __future__ import annotations

from mcpctl.schemas import KINDS, Identity

KIND_ORDER: tuple[str, ...] = tuple(KINDS)
"""Every kind, each after the kinds it may refer to (the schemas list them in that order)."""

_RANK = {kind: index for index, kind in enumerate(KIND_ORDER)}


def kind_rank(kind: str) -> int:
    """Position of `kind` in the dependency order (unknown kinds last)."""
    return _RANK.get(kind, len(_RANK))


def dependency_key(identity: Identity) -> tuple[int, str, str]:
    """Sort key putting an identity after everything it may depend on, then by project and name."""
    return (kind_rank(identity.kind), identity.project or "", identity.name)
