"""Export of live resources as a config repo in the example layout, editing existing files round-trip.

A resource already present somewhere in the target directory is updated where it is; new ones go to
their layout path; resources no longer live are removed from the files that held them. Literal secret
values are withheld (written as `<withheld>`, which validation refuses) unless asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from mcpctl.plan import dependency_key
from mcpctl.schemas import (
    FieldPath,
    Identity,
    ResourceModel,
    Template,
    TemplateSpec,
    format_field,
    kind_info,
    masked,
    parse_resource,
    resource_sensitive_paths,
    withhold,
)

from ._yamlio import (
    add_comments,
    document_identity,
    dump_documents,
    load_documents,
    render_file,
    to_yaml_value,
    write_text_atomic,
)

_REFERENCE_NOTE = "withheld on export: give a secretRef or fromEnv here (or the value)"
_LITERAL_NOTE = "withheld on export: put the value back (this field takes no secretRef)"


def withheld_note(path: FieldPath) -> str:
    """The comment written beside a withheld value: env, header and template values can be references."""
    return _REFERENCE_NOTE if len(path) > 1 and path[-2] in ("env", "headers", "values") else _LITERAL_NOTE


def layout_path(resource: ResourceModel) -> PurePosixPath:
    """Where the example layout keeps `resource`, relative to the repository root (its kind's descriptor)."""
    return kind_info(resource.kind_name()).layout_path(resource.identity)


@dataclass
class ExportResult:
    """What an export did to the target directory (paths relative to it, sorted)."""

    written: list[str] = field(default_factory=list)
    """Files created or changed."""
    unchanged: list[str] = field(default_factory=list)
    """Files that already held exactly this content."""
    removed: list[str] = field(default_factory=list)
    """Files deleted because none of their resources is live any more."""
    withheld: list[str] = field(default_factory=list)
    """Literal secret values written as `<withheld>`, as `Kind/name: field.path`."""
    secrets_written: list[str] = field(default_factory=list)
    """Literal secret values written in clear (with `include_secrets`), as `Kind/name: field.path`."""


@dataclass(frozen=True, slots=True)
class Withheld:
    """A resource as export writes it: literal secrets replaced by `<withheld>` at `paths`."""

    resource: ResourceModel
    paths: tuple[FieldPath, ...] = ()
    secrets: tuple[FieldPath, ...] = ()
    """Every sensitive path of the live resource (withheld or not)."""

    def describe(self, paths: Iterable[FieldPath]) -> list[str]:
        """`Kind/name: field.path` for each of `paths`."""
        return [f"{self.resource.identity}: {format_field(path)}" for path in paths]


def _value_at(document: Mapping[str, Any], path: FieldPath) -> Any:
    node: Any = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def withhold_secrets(
    resource: ResourceModel, templates: Mapping[str, TemplateSpec], already: Any = None
) -> Withheld:
    """`resource` with its literal secrets (see `mcpctl.schemas.sensitive_paths`) withheld.

    A value the target file `already` holds (its raw document, if any) is kept: writing it back
    reveals nothing new, and replacing the owner's own value with a placeholder would break the file.
    """
    secrets = tuple(sorted(resource_sensitive_paths(resource, templates), key=lambda p: [str(x) for x in p]))
    if not secrets:
        return Withheld(resource)
    full = resource.to_document()
    held: Mapping[str, Any] = {}
    if already is not None:
        try:
            held = parse_resource(already).to_document()
        except (ValidationError, ValueError, TypeError):
            held = {}
    hide = tuple(p for p in secrets if _value_at(held, p) != _value_at(full, p))
    if not hide:
        return Withheld(resource, (), secrets)
    return Withheld(parse_resource(masked(full, hide, withhold)), hide, secrets)


def _as_written(
    resource: ResourceModel,
    templates: Mapping[str, TemplateSpec],
    already: Any,
    include_secrets: bool,
    result: ExportResult,
) -> tuple[ResourceModel, dict[FieldPath, str]]:
    """The resource export writes, and the comments beside its withheld values; noted in `result`."""
    written = withhold_secrets(resource, templates, already)
    if include_secrets:
        result.secrets_written += written.describe(written.secrets)
        return resource, {}
    result.withheld += written.describe(written.paths)
    return written.resource, {path: withheld_note(path) for path in written.paths}


def export_stream(
    resources: Iterable[ResourceModel],
    templates: Mapping[str, TemplateSpec],
    *,
    include_secrets: bool = False,
) -> tuple[str, ExportResult]:
    """`resources` as one YAML stream (`mcpctl export -`), literal secrets withheld unless asked.

    `templates` (all live ones, also when `resources` is a selection) say which values are secret.
    """
    result = ExportResult()
    documents = []
    for resource in resources:
        written, comments = _as_written(resource, templates, None, include_secrets, result)
        documents.append(to_yaml_value(written.to_document()))
        add_comments(documents[-1], comments)
    return dump_documents(documents), result


def template_specs(resources: Iterable[ResourceModel]) -> dict[str, TemplateSpec]:
    """Template specs by name: they say which template values of a Server are secret."""
    return {r.identity.name: r.spec for r in resources if isinstance(r, Template)}


def _yaml_files(directory: Path) -> Iterable[Path]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            yield path


def existing_documents(directory: Path) -> dict[Identity, tuple[Path, Any]]:
    """Which file of `directory` already holds each resource, and its document there (the first one)."""
    found: dict[Identity, tuple[Path, Any]] = {}
    if not directory.is_dir():
        return found
    for path in _yaml_files(directory):
        for document in load_documents(path):
            identity = document_identity(document)
            if identity is not None:
                found.setdefault(identity, (path, document))
    return found


def export_resources(
    resources: Sequence[ResourceModel], directory: Path, *, include_secrets: bool = False
) -> ExportResult:
    """Make `directory` a config repo holding exactly `resources`.

    Literal secret values are withheld (`<withheld>`, with a comment beside each) unless
    `include_secrets`; the result lists them either way. Token values are never part of a resource.
    """
    directory.mkdir(parents=True, exist_ok=True)
    existing = existing_documents(directory)
    templates = template_specs(resources)
    by_file: dict[Path, list[ResourceModel]] = defaultdict(list)
    comments: dict[Identity, dict[FieldPath, str]] = {}
    result = ExportResult()
    for resource in sorted(resources, key=lambda r: dependency_key(r.identity)):
        location = existing.get(resource.identity)
        already = location[1] if location else None
        written, notes = _as_written(resource, templates, already, include_secrets, result)
        comments[resource.identity] = notes
        target = location[0] if location else directory.joinpath(*layout_path(resource).parts)
        by_file[target].append(written)
    for path in sorted(set(by_file) | {location for location, _ in existing.values()}):
        relative = path.relative_to(directory).as_posix()
        text = render_file(path, by_file.get(path, []), comments=comments)
        if not text:
            path.unlink(missing_ok=True)
            result.removed.append(relative)
        elif write_text_atomic(path, text):
            result.written.append(relative)
        else:
            result.unchanged.append(relative)
    return result
