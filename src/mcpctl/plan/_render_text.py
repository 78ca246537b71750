"""Terraform-style text rendering of a plan: `+`, `~`, `-/+`, `-` blocks with nested field lines.

Colour (ANSI) only when the caller asks for it; the CLI asks when stdout is a TTY. Text from the
resources is made terminal-safe (`printable`) before any colour is added.
"""

from __future__ import annotations

from mcpctl.schemas import printable

from ._format import HEADLINES, describe_identity, field_line, summary_line
from ._plan import Change, Plan

_COLOURS = {"+": "32", "-": "31", "~": "33", "-/+": "35"}
_RESET = "\x1b[0m"


def _paint(symbol: str, text: str, color: bool) -> str:
    text = printable(text)
    if not color or symbol not in _COLOURS:
        return text
    return f"\x1b[{_COLOURS[symbol]}m{text}{_RESET}"


def _block(change: Change, color: bool) -> list[str]:
    symbol = change.action.value
    lines = [f"  # {change.identity} {HEADLINES[change.action]}"]
    if change.reason:
        lines.append(printable(f"  # ({change.reason})"))
    lines.append(_paint(symbol, f"{symbol.rjust(3)} {describe_identity(change.identity)} {{", color))
    width = max((len(f.dotted) for f in change.field_changes), default=0)
    for field in change.field_changes:
        field_symbol, text = field_line(field, change.action, width)
        lines.append("      " + _paint(field_symbol, f"{field_symbol} {text}", color))
    if not change.field_changes:
        lines.append("      # (no field changes)")
    lines.append("    }")
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan as a terminal shows it; ends with the `Plan: ...` or `No changes.` line and a newline."""
    out = [printable(f"Source: {plan.source}" + (f" @ {plan.revision}" if plan.revision else ""))]
    if plan.has_changes:
        out += ["", "mcpctl will perform the following actions:", ""]
        for change in plan.changes:
            out += _block(change, color)
            out.append("")
    else:
        out.append("")
    if plan.unmanaged:
        out.append("Not in the desired state and not owned by this source (reported, left alone):")
        out += [f"  {identity}" for identity in plan.unmanaged]
        out.append("")
    if plan.access_changes:
        out.append("Access changes:")
        out += ["  " + _paint(str(c)[0], str(c), color) for c in plan.access_changes]
        out.append("")
    for warning in plan.warnings:
        out.append(_paint("~", f"Warning: {warning}", color))
    for error in plan.errors:
        out.append(_paint("-", f"Error: {error}", color))
    if plan.warnings or plan.errors:
        out.append("")
    out.append(summary_line(plan))
    if plan.errored:
        out.append(_paint("-", f"The plan has {len(plan.errors)} error(s): nothing will be applied.", color))
    return "\n".join(out) + "\n"
