"""Writing resources as YAML a person keeps: stable formatting, and comments and key order preserved.

An existing file is loaded with ruamel's round-trip loader and its documents are updated in place.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from mcpctl.errors import SourceError
from mcpctl.schemas import (
    API_VERSION,
    FieldPath,
    Identity,
    ResourceModel,
    has_unsafe,
    parse_resource,
    raw_identity,
)


class _EscapingEmitter(Emitter):
    """Writes a double-quoted string holding unsafe characters with every non-ASCII character escaped.

    ruamel counts zero-width characters, bidi overrides and the tags block as printable and would write
    them raw, invisible to whoever reviews the file (a poisoned tool description in a pin, say).
    """

    def write_double_quoted(self, text: Any, split: Any = True) -> None:
        if not has_unsafe(text):
            super().write_double_quoted(text, split)
            return
        allow, self.allow_unicode = self.allow_unicode, False
        try:
            super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = allow


def round_trip_yaml() -> YAML:
    """A ruamel YAML instance with mcpctl's house formatting (Kubernetes-style indentation, no wrapping)."""
    yaml = YAML(typ="rt")
    yaml.Emitter = _EscapingEmitter
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    return yaml


def to_yaml_value(value: Any) -> Any:
    """Plain JSON-like data as ruamel nodes; multi-line strings become literal blocks (`|`).

    Strings holding control characters (or bidi overrides) are always double-quoted, where they are
    written as escapes: a literal block would carry an escape sequence raw to whoever reads the YAML.
    """
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[_quoted_if_unsafe(key)] = to_yaml_value(item)
        return mapping
    if isinstance(value, list | tuple):
        return CommentedSeq(to_yaml_value(item) for item in value)
    if isinstance(value, str) and has_unsafe(value):
        return DoubleQuotedScalarString(value)
    if isinstance(value, str) and "\n" in value and not _has_trailing_space(value):
        return LiteralScalarString(value)
    return value


def _quoted_if_unsafe(key: Any) -> Any:
    return DoubleQuotedScalarString(key) if isinstance(key, str) and has_unsafe(key) else key


def _has_trailing_space(text: str) -> bool:
    # A literal block cannot carry spaces at line ends faithfully; such strings stay quoted.
    return any(line != line.rstrip(" \t") for line in text.split("\n"))


def dump_documents(documents: Sequence[Any]) -> str:
    """YAML text of `documents`, separated by `---` when there is more than one."""
    yaml = round_trip_yaml()
    stream = io.StringIO()
    if len(documents) == 1:
        yaml.dump(documents[0], stream)
    else:
        yaml.explicit_start = True
        yaml.dump_all(list(documents), stream)
    return stream.getvalue()


def dump_resource_yaml(resource: ResourceModel) -> str:
    """One resource as a YAML document (`apiVersion`, `kind`, `metadata`, `spec`; defaults left out)."""
    return dump_documents([to_yaml_value(resource.to_document())])


def update_in_place(existing: CommentedMap, new: Mapping[str, Any]) -> None:
    """Make `existing` equal to `new`, keeping its comments, key order and the formatting of kept values."""
    for key in [key for key in existing if key not in new]:
        del existing[key]
    for key, value in new.items():
        if key not in existing:
            existing[key] = to_yaml_value(value)
            continue
        current = existing[key]
        if isinstance(current, CommentedMap) and isinstance(value, Mapping):
            update_in_place(current, value)
        elif isinstance(current, CommentedSeq) and isinstance(value, list):
            _update_sequence(current, value)
        elif not _same(current, value):
            existing[key] = to_yaml_value(value)


def _update_sequence(existing: CommentedSeq, new: list[Any]) -> None:
    if _same(existing, new):
        return
    del existing[len(new) :]
    for index, value in enumerate(new):
        if index >= len(existing):
            existing.append(to_yaml_value(value))
        elif isinstance(existing[index], CommentedMap) and isinstance(value, Mapping):
            update_in_place(existing[index], value)
        elif not _same(existing[index], value):
            existing[index] = to_yaml_value(value)


def _same(current: Any, value: Any) -> bool:
    # ruamel's scalar and container types subclass the builtins, but bool/int and str must not mix.
    if isinstance(current, bool) != isinstance(value, bool):
        return False
    if isinstance(current, str) != isinstance(value, str):
        return False
    return bool(current == value)


def document_identity(document: Any) -> Identity | None:
    """The identity a raw mcpctl document claims (`kind`, `metadata.project`, `metadata.name`), or None.

    Documents of other tools (another `apiVersion`, an unknown `kind`) have none, so they are kept as-is.
    """
    if not isinstance(document, Mapping) or document.get("apiVersion") != API_VERSION:
        return None
    return raw_identity(document)


def load_documents(path: Path) -> list[Any]:
    """Every document of a YAML file, round-trip loaded (comments kept); empty documents skipped."""
    try:
        text = path.read_text(encoding="utf-8")
        return [doc for doc in round_trip_yaml().load_all(text) if doc is not None]
    except (OSError, YAMLError, UnicodeDecodeError) as error:
        raise SourceError(f"cannot read {path}: {str(error).splitlines()[0]}") from None


def _equal_meaning(document: Any, resource: ResourceModel) -> bool:
    try:
        return parse_resource(document) == resource
    except (ValidationError, ValueError, TypeError):
        return False


def add_comments(document: Any, comments: Mapping[FieldPath, str]) -> None:
    """Put each comment at the end of the line of the value at its path (a flow list becomes a block)."""
    for path, text in comments.items():
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(parent, CommentedMap | CommentedSeq):
            parent.fa.set_block_style()
            parent.yaml_add_eol_comment(text, path[-1])


def render_file(
    path: Path,
    resources: Sequence[ResourceModel],
    *,
    keep_unknown: bool = True,
    comments: Mapping[Identity, Mapping[FieldPath, str]] | None = None,
) -> str:
    """The new text of `path` holding exactly `resources` (plus non-resource documents when asked).

    Documents already in the file are updated in place (comments and key order survive; a document that
    already means the same resource is left byte-for-byte alone); new resources are appended in order.
    `comments` (by identity, then field path) are added to the documents written or changed.
    """
    notes = comments or {}
    wanted = {resource.identity: resource for resource in resources}
    documents: list[Any] = []
    seen: set[Identity] = set()
    changed = not path.exists()
    if path.exists():
        for document in load_documents(path):
            identity = document_identity(document)
            if identity is None and keep_unknown:
                documents.append(document)
                continue
            resource = wanted.get(identity) if identity is not None else None
            if identity is None or resource is None or identity in seen:
                changed = True
                continue
            seen.add(identity)
            if not _equal_meaning(document, resource):
                update_in_place(document, resource.to_document())
                add_comments(document, notes.get(identity, {}))
                changed = True
            documents.append(document)
    added = []
    for resource in resources:
        if resource.identity not in seen:
            added.append(to_yaml_value(resource.to_document()))
            add_comments(added[-1], notes.get(resource.identity, {}))
    if not changed and not added:
        # Nothing to say: keep the person's own formatting exactly.
        return path.read_text(encoding="utf-8")
    documents.extend(added)
    return dump_documents(documents) if documents else ""


def write_text_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` through a temporary file and a rename; False when it already held `text`."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def write_resources(path: Path, resources: Sequence[ResourceModel]) -> bool:
    """Write `resources` into `path` round-trip (see `render_file`); True when the file changed."""
    return write_text_atomic(path, render_file(path, resources))
