"""Small formatting helpers shared by the text and Markdown plan renderers."""

from __future__ import annotations

import json
from typing import Any

from mcpctl.schemas import SENSITIVE, Identity

from ._plan import Action, FieldChange, Plan

HEADLINES = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.NOOP: "is unchanged",
}
"""Terraform's words for each action."""


def show(value: Any, sensitive: bool) -> str:
    """One value as renderers print it: JSON literal, or `(sensitive)`."""
    if sensitive:
        return SENSITIVE
    return json.dumps(value, ensure_ascii=False)


def describe_identity(identity: Identity) -> str:
    """`Server "time"` / `Prompt "team/intro"`: how plan blocks and error messages name a resource."""
    name = f"{identity.project}/{identity.name}" if identity.project else identity.name
    return f'{identity.kind} "{name}"'


def field_symbol(change: FieldChange) -> str:
    """`+` added, `-` removed, `~` changed."""
    if change.before is None:
        return "+"
    if change.after is None:
        return "-"
    return "~"


def field_line(change: FieldChange, action: Action, width: int) -> tuple[str, str]:
    """The symbol and text of one field line (`spec.x = old → new`), names padded to `width`."""
    symbol = {Action.CREATE: "+", Action.DELETE: "-"}.get(action, field_symbol(change))
    name = change.dotted.ljust(width)
    if symbol == "+":
        return symbol, f"{name} = {show(change.after, change.sensitive)}"
    if symbol == "-":
        return symbol, f"{name} = {show(change.before, change.sensitive)}"
    return (
        symbol,
        f"{name} = {show(change.before, change.sensitive)} → {show(change.after, change.sensitive)}",
    )


def summary_line(plan: Plan) -> str:
    """The last line of a plan: counts, or that nothing changes."""
    if not plan.has_changes:
        return "No changes. The live store matches the desired state."
    counts = plan.counts
    return f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy."
