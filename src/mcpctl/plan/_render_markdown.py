"""Markdown rendering of a plan for pull-request comments: counts first, one collapsed block per resource."""

from __future__ import annotations

import re

from mcpctl.schemas import printable

from ._format import HEADLINES, field_line, show, summary_line
from ._plan import Action, Change, Plan


def _fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _diff_lines(change: Change) -> list[str]:
    width = max((len(f.dotted) for f in change.field_changes), default=0)
    lines = []
    for field in change.field_changes:
        symbol, text = field_line(field, change.action, width)
        if symbol == "~":
            # A `diff` block only colours + and -: show an in-place change as the old line and the new one.
            name = field.dotted.ljust(width)
            lines.append(f"- {name} = {show(field.before, field.sensitive)}")
            lines.append(f"+ {name} = {show(field.after, field.sensitive)}")
        else:
            lines.append(f"{symbol} {text}")
    return lines


def _details(change: Change) -> list[str]:
    summary = f"<code>{change.action.value}</code> <b>{change.identity}</b> {HEADLINES[change.action]}"
    body = "\n".join(_diff_lines(change)) or "(no field changes)"
    fence = _fence(body)
    out = ["<details>", f"<summary>{summary}</summary>", ""]
    if change.reason:
        out += [f"_{change.reason}_", ""]
    out += [f"{fence}diff", body, fence, "</details>", ""]
    return out


def render_markdown(plan: Plan) -> str:
    """The plan as a PR comment: a headline with counts, errors and warnings, then details per resource."""
    counts = plan.counts
    icon = "❌" if plan.errored else ("📝" if plan.has_changes else "✅")
    if plan.has_changes:
        headline = f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy"
    else:
        headline = "no changes"
    if plan.errored:
        headline += f", {len(plan.errors)} error(s)"
    out = [f"### {icon} mcpctl plan: {headline}", ""]
    origin = f"Source `{plan.source}`"
    if plan.revision:
        origin += f" at `{plan.revision}`"
    if plan.base_generation is not None:
        origin += f", store generation {plan.base_generation}"
    out += [origin + ".", ""]
    if not plan.has_changes:
        out += [summary_line(plan), ""]
    else:
        out += [
            "| add | change | destroy | unchanged |",
            "|---:|---:|---:|---:|",
            f"| {counts['add']} | {counts['change']} | {counts['destroy']} | {plan.unchanged} |",
            "",
        ]
    if plan.errors:
        out += ["**Errors (nothing will be applied):**", ""] + [f"- {e}" for e in plan.errors] + [""]
    if plan.warnings:
        out += ["**Warnings:**", ""] + [f"- {w}" for w in plan.warnings] + [""]
    if plan.access_changes:
        # What a reviewer needs most: who gains or loses what, before the per-resource details.
        body = "\n".join(str(c) for c in plan.access_changes)
        fence = _fence(body)
        out += ["**Access changes:**", "", f"{fence}diff", body, fence, ""]
    for change in plan.changes:
        if change.action is not Action.NOOP:
            out += _details(change)
    if plan.unmanaged:
        out += [
            "<details>",
            f"<summary>{len(plan.unmanaged)} resource(s) not owned by this source "
            "(reported, left alone)</summary>",
            "",
        ]
        out += [f"- `{identity}`" for identity in plan.unmanaged] + ["", "</details>", ""]
    return printable("\n".join(out).rstrip("\n")) + "\n"
