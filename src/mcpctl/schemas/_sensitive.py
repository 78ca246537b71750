"""Which values in a resource document are sensitive, and copies of documents with them hidden.

Pure helpers shared by validation (warnings), plans (masked field changes), `describe` and the admin API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._base import FieldPath, ResourceModel
from ._server import Server, Template, TemplateSpec

SECRET_KEY = re.compile(
    r"(secret|token|passw|pwd|api[-_]?key|apikey|private[-_]?key|access[-_]?key|credential|auth|cookie"
    r"|bearer|(^|[-_])key$)",
    re.IGNORECASE,
)
"""Env/header/parameter names whose literal values are secrets: validation warns about them, and plans,
`describe` and the admin API show `(sensitive)` instead."""

SENSITIVE = "(sensitive)"
"""What every renderer shows instead of a sensitive value."""


_PLACEHOLDER_ONLY = re.compile(r"^\s*\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def mask_url(text: str, mask: str = "***") -> str:
    """`text` with the userinfo of every URL in it replaced by `mask` (`https://***@host/...`)."""
    return _URL_USERINFO.sub(lambda found: f"{found['scheme']}{mask}@", text)


def looks_secret(key: str) -> bool:
    """True when an env, header or parameter name suggests its value is a secret."""
    return bool(SECRET_KEY.search(key))


def _literal_secret_keys(
    values: Mapping[str, Any], prefix: FieldPath, secret_names: Iterable[str] = ()
) -> set[FieldPath]:
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
    spec: Mapping[str, Any], prefix: FieldPath, templates: Mapping[str, TemplateSpec]
) -> set[FieldPath]:
    paths: set[FieldPath] = set()
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


def sensitive_paths(document: Mapping[str, Any], templates: Mapping[str, TemplateSpec]) -> set[FieldPath]:
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
) -> set[FieldPath]:
    """`sensitive_paths` of a resource (empty for None and for kinds that never hold secrets)."""
    if not isinstance(resource, Server | Template):
        return set()
    return sensitive_paths(resource.to_document(), templates)


def is_sensitive(path: FieldPath, paths: Iterable[FieldPath]) -> bool:
    """True when `path` is one of `paths` or lies under one."""
    return any(path[: len(p)] == p for p in paths)


def masked(document: Mapping[str, Any], paths: Iterable[FieldPath]) -> dict[str, Any]:
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
