"""Shared parts of every kind: the content hash the store keeps for each row."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mcpctl.schemas import load_and_validate

EXAMPLES = Path(__file__).parents[2] / "examples" / "config-repo"


def test_the_content_hash_is_the_sha256_of_the_sorted_compact_document() -> None:
    # Stored hashes were made this way: the canonical form must never change.
    resources = load_and_validate([str(EXAMPLES)]).models()
    assert len(resources) > 10
    for resource in resources:
        canonical = json.dumps(resource.to_document(), sort_keys=True, separators=(",", ":"))
        assert resource.content_hash() == hashlib.sha256(canonical.encode()).hexdigest()
