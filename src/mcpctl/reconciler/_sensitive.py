"""Plan-file helpers for sensitive values: take real values out of a masked document and put them back,
and write files only their owner can read. What counts as sensitive is `mcpctl.schemas`' business.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path as FilePath
from typing import Any

from mcpctl.schemas import FieldPath


def write_private(path: FilePath, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (mode 0600 before any byte is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # The mode given to os.open only applies to a new file; an existing one keeps its own until here.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def extract(document: Mapping[str, Any], paths: Iterable[FieldPath]) -> dict[str, Any]:
    """The real values at `paths` (present ones only), keyed by their JSON-encoded path."""
    found: dict[str, Any] = {}
    for path in paths:
        node: Any = document
        try:
            for part in path:
                node = node[part]
        except (KeyError, IndexError, TypeError):
            continue
        found[json.dumps(list(path))] = node
    return found


def restore(document: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Put values saved by `extract` back into a masked document (in place; returned for chaining)."""
    for encoded, value in values.items():
        path = json.loads(encoded)
        node: Any = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return document
