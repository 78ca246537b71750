"""The kubectl-style read model over the live store: inventory, relations, permissions, delete planning.

Used by `get`, `describe`, `create`, `delete` and `auth`; reads only through the store's reading
methods, so it loads no SQL itself (a test enforces it).
"""

from __future__ import annotations

from ._inspect import (
    PERMISSION_COLUMNS,
    DeletePlan,
    Inventory,
    Section,
    grant_row,
    missing_references,
    permission_sections,
    plan_delete,
    policy_of,
    relations,
)

__all__ = [
    "PERMISSION_COLUMNS",
    "DeletePlan",
    "Inventory",
    "Section",
    "grant_row",
    "missing_references",
    "permission_sections",
    "plan_delete",
    "policy_of",
    "relations",
]
