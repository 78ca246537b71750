"""The plan: desired state diffed against live state, the plan model, its order, renderers and plan file.

Pure: it reads no store, git or network (a test enforces it); `mcpctl.reconciler` feeds it and applies
what it decides. See docs/plan-format.md.
"""

from __future__ import annotations

from ._diff import IMMUTABLE_FIELDS, MUTABLE_TOKEN_FIELDS, diff, field_changes, flatten
from ._format import describe_identity
from ._order import KIND_ORDER, dependency_key, kind_rank
from ._plan import Action, Change, FieldChange, Plan, format_path
from ._planfile import FORMAT_VERSION, changes_digest, load_plan, plan_digest, plan_document, save_plan
from ._render_json import render_json
from ._render_markdown import render_markdown
from ._render_text import render_text
from ._sensitive import write_private

__all__ = [
    "FORMAT_VERSION",
    "IMMUTABLE_FIELDS",
    "KIND_ORDER",
    "MUTABLE_TOKEN_FIELDS",
    "Action",
    "Change",
    "FieldChange",
    "Plan",
    "changes_digest",
    "dependency_key",
    "describe_identity",
    "diff",
    "field_changes",
    "flatten",
    "format_path",
    "kind_rank",
    "load_plan",
    "plan_digest",
    "plan_document",
    "render_json",
    "render_markdown",
    "render_text",
    "save_plan",
    "write_private",
]
