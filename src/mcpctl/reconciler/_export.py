"""Export of live resources as a config repo in the example layout, editing existing files round-trip.

A resource already present somewhere in the target directory is updated where it is; new ones go to
their layout path; resources no longer live are removed from the files that held them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mcpctl.schemas import Identity, ResourceModel

from ._order import dependency_key
from ._yamlio import document_identity, load_documents, render_file, write_text_atomic

_SHARED_FILES = {
    "User": "rbac/users.yaml",
    "Group": "rbac/groups.yaml",
    "RoleBinding": "rbac/bindings.yaml",
}
_OWN_FILES = {"Template": "templates", "Server": "servers", "ProxyModel": "proxymodels"}


def layout_path(resource: ResourceModel) -> PurePosixPath:
    """Where the example layout keeps `resource`, relative to the repository root."""
    kind, project, name = resource.identity
    if kind in _SHARED_FILES:
        return PurePosixPath(_SHARED_FILES[kind])
    if kind in _OWN_FILES:
        return PurePosixPath(_OWN_FILES[kind]) / f"{name}.yaml"
    if kind == "Project":
        return PurePosixPath("projects") / name / "project.yaml"
    if kind == "Prompt":
        return PurePosixPath("projects") / str(project) / "prompts" / f"{name}.yaml"
    if kind == "McpToken":
        return PurePosixPath("tokens") / str(project) / f"{name}.yaml"
    return PurePosixPath(kind.lower()) / f"{name}.yaml"


@dataclass
class ExportResult:
    """What an export did to the target directory (paths relative to it, sorted)."""

    written: list[str] = field(default_factory=list)
    """Files created or changed."""
    unchanged: list[str] = field(default_factory=list)
    """Files that already held exactly this content."""
    removed: list[str] = field(default_factory=list)
    """Files deleted because none of their resources is live any more."""


def _yaml_files(directory: Path) -> Iterable[Path]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            yield path


def existing_locations(directory: Path) -> dict[Identity, Path]:
    """Which file of `directory` already holds each resource (the first one, if several do)."""
    found: dict[Identity, Path] = {}
    if not directory.is_dir():
        return found
    for path in _yaml_files(directory):
        for document in load_documents(path):
            identity = document_identity(document)
            if identity is not None:
                found.setdefault(identity, path)
    return found


def export_resources(resources: Iterable[ResourceModel], directory: Path) -> ExportResult:
    """Make `directory` a config repo holding exactly `resources` (nothing secret is ever in them)."""
    directory.mkdir(parents=True, exist_ok=True)
    located = existing_locations(directory)
    by_file: dict[Path, list[ResourceModel]] = defaultdict(list)
    for resource in sorted(resources, key=lambda r: dependency_key(r.identity)):
        target = located.get(resource.identity) or directory.joinpath(*layout_path(resource).parts)
        by_file[target].append(resource)
    result = ExportResult()
    for path in sorted(set(by_file) | set(located.values())):
        relative = path.relative_to(directory).as_posix()
        text = render_file(path, by_file.get(path, []))
        if not text:
            path.unlink(missing_ok=True)
            result.removed.append(relative)
        elif write_text_atomic(path, text):
            result.written.append(relative)
        else:
            result.unchanged.append(relative)
    return result
