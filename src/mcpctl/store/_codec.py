"""Conversion between resource models and the column values of their kind's table.

Reads rebuild the document as JSON text and validate it in one pydantic pass (the fast path).
"""

from __future__ import annotations

from typing import Any

from mcpctl.errors import StoreError
from mcpctl.schemas import API_VERSION, KINDS, ResourceModel, resolve_kind

from ._tables import GLOBAL


def resource_values(resource: ResourceModel) -> dict[str, Any]:
    """Columns derived from the resource itself: key, spec, metadata, hash, prevent-destroy.

    Spec and metadata are stored as in `to_document()`, defaults left out; reads fill them back in.
    """
    document = resource.to_document()
    return {
        "project": resource.metadata.project or GLOBAL,
        "name": resource.metadata.name,
        "spec": document["spec"],
        "metadata": document["metadata"],
        "spec_hash": resource.content_hash(),
        "prevent_destroy": resource.prevent_destroy,
    }


def load_resource(kind: str, metadata_json: str, spec_json: str) -> ResourceModel:
    """The resource model of a stored row, from its metadata and spec JSON text."""
    head = f'{{"apiVersion":"{API_VERSION}","kind":"{kind}","metadata":'
    document = f'{head}{metadata_json},"spec":{spec_json}}}'
    return KINDS[kind].model_validate_json(document)


def canonical_kind(kind: str) -> str:
    """The kind a name (`Server`, `servers`, `srv`) stands for; StoreError when none."""
    if kind in KINDS:
        return kind
    resolved = resolve_kind(kind)
    if resolved is None:
        raise StoreError(f"unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return resolved
