"""Conversion between resource models and the column values of their kind's table.

Reads rebuild the document as JSON text and validate it in one pydantic pass (the fast path).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcpctl.errors import StoreError
from mcpctl.schemas import API_VERSION, KINDS, ResourceModel, resolve_kind

from ._tables import GLOBAL


def resource_values(resource: ResourceModel) -> dict[str, Any]:
    """Columns derived from the resource itself: key, spec, metadata, hash, prevent-destroy.

    The stored JSON is the full dump, defaults included: `to_document()` leaves defaults out, which drops
    discriminators such as a ProxyModel stage's `type` and would not validate back. The hash is taken
    over the canonical `to_document()`, so it equals `resource.content_hash()`.
    """
    full = resource.model_dump(mode="json", by_alias=True, include={"metadata", "spec"})
    canonical = json.dumps(resource.to_document(), sort_keys=True, separators=(",", ":"))
    return {
        "project": resource.metadata.project or GLOBAL,
        "name": resource.metadata.name,
        "spec": full["spec"],
        "metadata": full["metadata"],
        "spec_hash": hashlib.sha256(canonical.encode()).hexdigest(),
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
