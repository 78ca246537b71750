"""The reconciler: desired state from sources, diffed against the live store into a plan, applied.

The diff, plan model and renderers are pure; sources and apply are the edges. See docs/plan-format.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._apply import STEP_DELAY_ENV, ApplyResult, CreatedToken, apply_plan, token_file
from ._diff import IMMUTABLE_FIELDS, MUTABLE_TOKEN_FIELDS, diff, field_changes, flatten
from ._order import KIND_ORDER, dependency_key, kind_rank
from ._plan import SENSITIVE, Action, Change, FieldChange, Plan, format_path
from ._planning import plan_against
from ._render_json import FORMAT_VERSION, load_plan, plan_digest, plan_document, render_json, save_plan
from ._render_markdown import render_markdown
from ._render_text import render_text
from ._sensitive import looks_secret, sensitive_paths
from ._sources import (
    DesiredState,
    FileSource,
    Source,
    StaticSource,
    manager_for,
    source_name_for_paths,
    source_name_for_repo,
)

# Names whose modules import git, SQLAlchemy or other heavy edges are loaded on first use, so that
# importing the pure core (`mcpctl.reconciler._diff`) never drags them in: name -> private module.
_LAZY: dict[str, str] = {
    "DebouncedWatcher": "._watch",
    "GitRepository": "._git",
    "GitSource": "._git",
    "LoopConfig": "._loop",
    "ReconcileLoop": "._loop",
    "ReconcileStatus": "._status",
    "dump_resource_yaml": "._yamlio",
    "export_resources": "._export",
    "mask_url": "._git",
    "read_statuses": "._status",
    "reconcile_metric_families": "._status",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)


__all__ = [
    "FORMAT_VERSION",
    "IMMUTABLE_FIELDS",
    "KIND_ORDER",
    "MUTABLE_TOKEN_FIELDS",
    "SENSITIVE",
    "STEP_DELAY_ENV",
    "Action",
    "ApplyResult",
    "Change",
    "CreatedToken",
    "DebouncedWatcher",
    "DesiredState",
    "FieldChange",
    "FileSource",
    "GitRepository",
    "GitSource",
    "LoopConfig",
    "Plan",
    "ReconcileLoop",
    "ReconcileStatus",
    "Source",
    "StaticSource",
    "apply_plan",
    "dependency_key",
    "diff",
    "dump_resource_yaml",
    "export_resources",
    "field_changes",
    "flatten",
    "format_path",
    "kind_rank",
    "load_plan",
    "looks_secret",
    "manager_for",
    "mask_url",
    "plan_against",
    "plan_digest",
    "plan_document",
    "read_statuses",
    "reconcile_metric_families",
    "render_json",
    "render_markdown",
    "render_text",
    "save_plan",
    "sensitive_paths",
    "source_name_for_paths",
    "source_name_for_repo",
    "token_file",
]
