"""Which values in a resource document are sensitive, and documents with those values hidden.

Pure helpers shared by the diff (to flag field changes) and the renderers (to mask documents).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path as FilePath
from typing import Any

from mcpctl.schemas import ResourceModel, Server, Template, TemplateSpec

from ._plan import SENSITIVE, Path

SECRET_KEY = re.compile(
    r"(secret|token|passw(or)?d|passwd|pwd|api[-_]?key|apikey|private[-_]?key|access[-_]?key|credential"
    r"|auth|cookie|session|bearer|signature|salt|(^|[-_])key$)",
    re.IGNORECASE,
)
"""Env/header/parameter names whose literal values are treated as secrets."""

_PLACEHOLDER_ONLY = re.compile(r"^\s*\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def mask_url(text: str, mask: str = "***") -> str:
    """`text` with the userinfo of every URL in it replaced by `mask` (`https://***@host/...`)."""
    return _URL_USERINFO.sub(lambda found: f"{found['scheme']}{mask}@", text)


def write_private(path: FilePath, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (mode 0600 before any byte is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # The mode given to os.open only applies to a new file; an existing one keeps its own until here.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def looks_secret(key: str) -> bool:
    """True when an env, header or parameter name suggests its value is a secret."""
    return bool(SECRET_KEY.search(key))


def _literal_secret_keys(
    values: Mapping[str, Any], prefix: Path, secret_names: Iterable[str] = ()
) -> set[Path]:
    # Only literal strings can leak: secretRef/fromEnv values are references, and a bare `{{ param }}`
    # in a template is a placeholder, not a value.
    forced = set(secret_names)
    return {
        (*prefix, key)
        for key, value in values.items()
        if isinstance(value, str)
        and not _PLACEHOLDER_ONLY.match(value)
        and (key in forced or looks_secret(key))
    }


def _server_spec_paths(
    spec: Mapping[str, Any], prefix: Path, templates: Mapping[str, TemplateSpec]
) -> set[Path]:
    paths: set[Path] = set()
    paths |= _literal_secret_keys(spec.get("env", {}), (*prefix, "env"))
    paths |= _literal_secret_keys(spec.get("headers", {}), (*prefix, "headers"))
    url = spec.get("url")
    if isinstance(url, str) and _URL_USERINFO.search(url):
        paths.add((*prefix, "url"))
    ref = spec.get("fromTemplate")
    if isinstance(ref, Mapping):
        template = templates.get(str(ref.get("name")))
        secret_params = [p.name for p in template.parameters if p.secret] if template else []
        paths |= _literal_secret_keys(
            ref.get("values", {}), (*prefix, "fromTemplate", "values"), secret_params
        )
    return paths


def sensitive_paths(document: Mapping[str, Any], templates: Mapping[str, TemplateSpec]) -> set[Path]:
    """Paths of sensitive literal values in a resource document (`to_document()` form).

    Server env/header values whose name looks secret, template `values` of parameters declared
    `secret`, a Template's secret parameter defaults, URLs carrying credentials. McpToken specs hold
    no secret (the token value is never part of a resource), so nothing of theirs is flagged.
    """
    kind = document.get("kind")
    spec = document.get("spec", {})
    if kind == "Server":
        return _server_spec_paths(spec, ("spec",), templates)
    if kind == "Template":
        paths = _server_spec_paths(spec.get("server", {}), ("spec", "server"), templates)
        for index, parameter in enumerate(spec.get("parameters", [])):
            if parameter.get("secret") and isinstance(parameter.get("default"), str):
                paths.add(("spec", "parameters", index, "default"))
        return paths
    return set()


def resource_sensitive_paths(
    resource: ResourceModel | None, templates: Mapping[str, TemplateSpec]
) -> set[Path]:
    """`sensitive_paths` of a resource (empty for None and for kinds that never hold secrets)."""
    if not isinstance(resource, Server | Template):
        return set()
    return sensitive_paths(resource.to_document(), templates)


def is_sensitive(path: Path, paths: Iterable[Path]) -> bool:
    """True when `path` is one of `paths` or lies under one."""
    return any(path[: len(p)] == p for p in paths)


def masked(document: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of `document` with the value at each of `paths` (where present) replaced by `(sensitive)`.

    Only the containers along each path are copied; the rest is shared with `document`, which is
    never modified (callers only serialise the result).
    """
    out: dict[str, Any] = dict(document)
    for path in paths:
        node: Any = out
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            in_dict = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if not (in_dict or in_list):
                break
            child = node[part]
            if last:
                node[part] = SENSITIVE
            else:
                copied = (
                    dict(child)
                    if isinstance(child, dict)
                    else list(child)
                    if isinstance(child, list)
                    else child
                )
                node[part] = copied
                node = copied
    return out


def extract(document: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
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
