"""The reconciler: desired state from sources (files, git), planned against the live store, applied.

The pure plan (diff, model, renderers, plan file) is `mcpctl.plan`; this package holds its effects:
sources, apply, the reconcile loop, watching, status, export and token files. See docs/gitops.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._apply import STEP_DELAY_ENV, ApplyResult, CreatedToken, apply_plan
from ._planning import plan_against
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

# Names whose modules import git, watchdog, SQLAlchemy or ruamel are loaded on first use, so that a
# command needing one part (`get` needs only `template_specs`) does not load them all (measured: an
# eager package tripled `import mcpctl.cli._get`): name -> private module. Type checkers see them
# through the TYPE_CHECKING imports above.
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
    "STEP_DELAY_ENV",
    "ApplyResult",
    "CreatedToken",
    "DebouncedWatcher",
    "DesiredState",
    "ExportResult",
    "FileSource",
    "GitRepository",
    "GitSource",
    "LoopConfig",
    "PromptCommit",
    "ReconcileLoop",
    "ReconcileStatus",
    "Source",
    "StaticSource",
    "apply_plan",
    "commit_prompt",
    "config_file_filter",
    "dump_documents",
    "dump_resource_yaml",
    "export_resources",
    "export_stream",
    "git_ref_filter",
    "is_local_path",
    "parse_author",
    "plan_against",
    "read_statuses",
    "reconcile_metric_families",
    "relative_problem",
    "source_name_for_paths",
    "source_name_for_repo",
    "status_path",
    "store_references",
    "subpath",
    "template_specs",
    "to_yaml_value",
    "token_file",
    "write_resources",
]
