"""Plan-file helpers for sensitive values: take real values out of a masked document and put them back,
and write files only their owner can read. What counts as sensitive is `mcpctl.schemas`' business.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path as FilePath
from typing import Any

from mcpctl.schemas import FieldPath


def write_private(path: FilePath, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (mode 0600 before any byte is written).

    Through a new file renamed over `path`: a symlink planted at `path` is replaced, never followed.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        FilePath(temporary).unlink(missing_ok=True)
        raise


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
