"""The union of all kinds, discriminated on `kind`, and the names the CLI accepts for each (both from
the kind descriptors in `_kinds`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Union, cast

from pydantic import Field, TypeAdapter

from ._base import Identity, ResourceModel
from ._kinds import KIND_INFO

KINDS: dict[str, type[ResourceModel]] = {kind: info.model for kind, info in KIND_INFO.items()}
"""Every kind by its `kind` value, in dependency order (a kind only refers to kinds before it)."""

# The union is built from the descriptors, so a new kind is parsed once it has one.
Resource: Any = Annotated[Union[tuple(KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
"""Any resource document."""

RESOURCE_ADAPTER: TypeAdapter[ResourceModel] = cast("TypeAdapter[ResourceModel]", TypeAdapter(Resource))

KIND_ALIASES: dict[str, str] = {word: kind for kind, info in KIND_INFO.items() for word in info.words}
"""Singular, plural and short names of every kind (lowercase) → the kind."""


def parse_resource(document: Any) -> ResourceModel:
    """Validate one document (a mapping) into its resource model; raises pydantic's ValidationError."""
    resource: ResourceModel = RESOURCE_ADAPTER.validate_python(document)
    return resource


def raw_identity(document: Mapping[str, Any]) -> Identity | None:
    """The identity an unvalidated document claims (a known `kind`, `metadata.name`), or None."""
    kind, metadata = document.get("kind"), document.get("metadata")
    if not isinstance(kind, str) or kind not in KINDS or not isinstance(metadata, Mapping):
        return None
    name, project = metadata.get("name"), metadata.get("project")
    if not isinstance(name, str):
        return None
    return Identity(kind, project if isinstance(project, str) else None, name)


def resolve_kind(name: str) -> str | None:
    """The kind a CLI word (`srv`, `servers`, `Server`) stands for, or None."""
    return KIND_ALIASES.get(name.lower())
