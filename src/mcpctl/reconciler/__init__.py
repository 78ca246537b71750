"""The reconciler: desired state from sources, diffed against the live store into a plan, applied.

The diff, plan model and renderers are pure; sources and apply are the edges. See docs/plan-format.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._apply import STEP_DELAY_ENV, ApplyResult, CreatedToken, apply_plan
from ._diff import IMMUTABLE_FIELDS, MUTABLE_TOKEN_FIELDS, diff, field_changes, flatten
from ._format import describe_identity
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
    token_expiry,
    token_status,
)
from ._order import KIND_ORDER, dependency_key, kind_rank
from ._plan import Action, Change, FieldChange, Plan, format_path
from ._planning import plan_against
from ._render_json import FORMAT_VERSION, load_plan, plan_digest, plan_document, render_json, save_plan
from ._render_markdown import render_markdown
from ._render_text import render_text
from ._sensitive import write_private
from ._sources import (
    DesiredState,
    FileSource,
    Source,
    StaticSource,
    source_name_for_paths,
    source_name_for_repo,
    store_references,
)
from ._token_files import token_file

if TYPE_CHECKING:
    from ._export import ExportResult, export_resources, export_stream, template_specs
    from ._git import GitRepository, GitSource, is_local_path, relative_problem, subpath
    from ._loop import LoopConfig, ReconcileLoop
    from ._propose import PromptCommit, commit_prompt, parse_author
    from ._status import ReconcileStatus, read_statuses, reconcile_metric_families, status_path
    from ._watch import DebouncedWatcher, config_file_filter, git_ref_filter
    from ._yamlio import dump_documents, dump_resource_yaml, to_yaml_value, write_resources

# Names whose modules import git, SQLAlchemy or other heavy edges are loaded on first use, so that
# importing the pure core (`mcpctl.reconciler._diff`) never drags them in: name -> private module.
# Type checkers see them through the TYPE_CHECKING imports above.
_LAZY: dict[str, str] = {
    "DebouncedWatcher": "._watch",
    "ExportResult": "._export",
    "GitRepository": "._git",
    "GitSource": "._git",
    "LoopConfig": "._loop",
    "PromptCommit": "._propose",
    "ReconcileLoop": "._loop",
    "ReconcileStatus": "._status",
    "commit_prompt": "._propose",
    "config_file_filter": "._watch",
    "dump_documents": "._yamlio",
    "dump_resource_yaml": "._yamlio",
    "export_resources": "._export",
    "export_stream": "._export",
    "git_ref_filter": "._watch",
    "is_local_path": "._git",
    "parse_author": "._propose",
    "read_statuses": "._status",
    "reconcile_metric_families": "._status",
    "relative_problem": "._git",
    "status_path": "._status",
    "subpath": "._git",
    "template_specs": "._export",
    "to_yaml_value": "._yamlio",
    "write_resources": "._yamlio",
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
    "PERMISSION_COLUMNS",
    "STEP_DELAY_ENV",
    "Action",
    "ApplyResult",
    "Change",
    "CreatedToken",
    "DebouncedWatcher",
    "DeletePlan",
    "DesiredState",
    "ExportResult",
    "FieldChange",
    "FileSource",
    "GitRepository",
    "GitSource",
    "Inventory",
    "LoopConfig",
    "Plan",
    "PromptCommit",
    "ReconcileLoop",
    "ReconcileStatus",
    "Section",
    "Source",
    "StaticSource",
    "apply_plan",
    "commit_prompt",
    "config_file_filter",
    "dependency_key",
    "describe_identity",
    "diff",
    "dump_documents",
    "dump_resource_yaml",
    "export_resources",
    "export_stream",
    "field_changes",
    "flatten",
    "format_path",
    "git_ref_filter",
    "grant_row",
    "is_local_path",
    "kind_rank",
    "load_plan",
    "missing_references",
    "parse_author",
    "permission_sections",
    "plan_against",
    "plan_delete",
    "plan_digest",
    "plan_document",
    "policy_of",
    "read_statuses",
    "reconcile_metric_families",
    "relations",
    "relative_problem",
    "render_json",
    "render_markdown",
    "render_text",
    "save_plan",
    "source_name_for_paths",
    "source_name_for_repo",
    "status_path",
    "store_references",
    "subpath",
    "template_specs",
    "to_yaml_value",
    "token_expiry",
    "token_file",
    "token_status",
    "write_private",
    "write_resources",
]
