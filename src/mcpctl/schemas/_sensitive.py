"""Which values in a resource document are sensitive, and copies of documents with them hidden.

The one place that decides what is secret, by key name and by value shape. Pure helpers shared by
validation (warnings), plans (masked field changes), `get`, `describe`, `export` and the admin API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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

WITHHELD = "<withheld>"
"""What `mcpctl export` writes instead of a literal secret (validation refuses it, so it is never applied)."""

_PLACEHOLDER_ONLY = re.compile(r"^\s*\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*$")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_QUERY_ITEM = re.compile(r"(?P<lead>[?&;](?P<name>[^=&;#\s]*)=)(?P<value>[^&;#\s]*)")
_SIGNATURE_PARAMETER = re.compile(r"^(sig|signature|x-amz-signature|x-goog-signature)$", re.IGNORECASE)
_SECRET_FLAG = re.compile(
    r"^--?[A-Za-z0-9_.-]*(key|token|passw(or)?d|pwd|secret|credentials?)(?P<eq>=)?", re.IGNORECASE
)
# Token formats that announce themselves whatever the variable is called (GitHub, GitLab, Slack,
# OpenAI-style keys, AWS access keys, JWTs, mcpctl's own), and credentials in HTTP auth-scheme form.
_TOKEN_SHAPE = re.compile(
    r"^(mcpctl_pat_|gh[pousr]_[A-Za-z0-9]{20}|github_pat_|glpat-|xox[abposr]-|sk-[A-Za-z0-9_-]{16}"
    r"|AKIA[0-9A-Z]{16}$|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.|(Bearer|Basic|Token)\s+\S)",
)


def _secret_query_name(name: str) -> bool:
    return looks_secret(name) or bool(_SIGNATURE_PARAMETER.match(name))


def mask_url(text: str, mask: str = "***") -> str:
    """`text` with the credentials of every URL in it replaced by `mask`.

    Userinfo (`https://***@host/...`, which also covers DSNs such as Sentry's `https://KEY@host`) and
    the values of key-like query parameters (`?api_key=***`, `&token=***`, `&sig=***`).
    """

    def one(found: re.Match[str]) -> str:
        url = _URL_USERINFO.sub(lambda userinfo: f"{userinfo['scheme']}{mask}@", found.group(0))
        return _QUERY_ITEM.sub(
            lambda item: f"{item['lead']}{mask}" if _secret_query_name(item["name"]) else item.group(0), url
        )

    return _URL.sub(one, text)


def looks_secret(key: str) -> bool:
    """True when an env, header or parameter name suggests its value is a secret."""
    return bool(SECRET_KEY.search(key))


def looks_secret_value(value: str) -> bool:
    """True when a value's shape says it holds a credential, whatever it is called.

    A URL with userinfo or a key-like query parameter, a well-known token format, or an
    `Authorization`-style `Bearer ...`/`Basic ...` value.
    """
    if _TOKEN_SHAPE.match(value.strip()):
        return True
    return any(mask_url(url) != url for url in _URL.findall(value))


def _secret_flag(argument: str) -> bool | None:
    """For a command-line argument: True for `--api-key=X` (the secret is in it), False for `--api-key`
    (the secret is the next argument), None when it is no secret-taking flag."""
    found = _SECRET_FLAG.match(argument)
    if found is None:
        return None
    if found["eq"]:
        return True
    return None if found.end() != len(argument) else False


def withhold(value: str, marker: str = WITHHELD) -> str:
    """`value` with its secret replaced by `marker`: only the credentials of a URL, else all of it."""
    if _URL.fullmatch(value.strip()) and not _TOKEN_SHAPE.match(value.strip()):
        hidden = mask_url(value, marker)
        if hidden != value:
            return hidden
    flag = _SECRET_FLAG.match(value)
    if flag is not None and flag["eq"]:
        return value[: flag.end()] + marker
    return marker


def _is_literal(value: Any) -> bool:
    # Only literal strings can leak: secretRef/fromEnv values are references, and a bare `{{ param }}`
    # in a template is a placeholder, not a value.
    return isinstance(value, str) and bool(value) and not _PLACEHOLDER_ONLY.match(value)


def _literal_secret_keys(
    values: Mapping[str, Any], prefix: FieldPath, secret_names: Iterable[str] = ()
) -> set[FieldPath]:
    forced = set(secret_names)
    return {
        (*prefix, key)
        for key, value in values.items()
        if _is_literal(value) and (key in forced or looks_secret(key) or looks_secret_value(value))
    }


def _secret_arguments(args: Sequence[Any], prefix: FieldPath) -> set[FieldPath]:
    paths: set[FieldPath] = set()
    for index, arg in enumerate(args):
        if not _is_literal(arg):
            continue
        flag = _secret_flag(arg)
        if flag or looks_secret_value(arg):
            paths.add((*prefix, index))
        elif flag is False and index + 1 < len(args):
            following = args[index + 1]
            if _is_literal(following) and not following.startswith("--"):
                paths.add((*prefix, index + 1))
    return paths


def mask_args(args: Sequence[str], mask: str = SENSITIVE) -> list[str]:
    """Command-line arguments with each secret one (see `sensitive_paths`) replaced by `mask`."""
    hidden = {index for _prefix, index in _secret_arguments(args, ("args",))}
    return [mask if index in hidden else arg for index, arg in enumerate(args)]


def _entries(value: Any) -> Iterable[tuple[str | int, Any]]:
    if isinstance(value, Mapping):
        return value.items()
    return enumerate(value) if isinstance(value, list) else ()


def _secret_arguments_tree(value: Any, prefix: FieldPath) -> set[FieldPath]:
    # A health probe's tool arguments: any depth, by name or by shape.
    paths: set[FieldPath] = set()
    for key, item in _entries(value):
        path = (*prefix, key)
        if isinstance(item, Mapping | list):
            paths |= _secret_arguments_tree(item, path)
        elif _is_literal(item) and ((isinstance(key, str) and looks_secret(key)) or looks_secret_value(item)):
            paths.add(path)
    return paths


def _server_spec_paths(
    spec: Mapping[str, Any], prefix: FieldPath, templates: Mapping[str, TemplateSpec]
) -> set[FieldPath]:
    paths: set[FieldPath] = set()
    paths |= _literal_secret_keys(spec.get("env", {}), (*prefix, "env"))
    paths |= _literal_secret_keys(spec.get("headers", {}), (*prefix, "headers"))
    paths |= _secret_arguments(spec.get("args", []), (*prefix, "args"))
    url = spec.get("url")
    if isinstance(url, str) and _is_literal(url) and looks_secret_value(url):
        paths.add((*prefix, "url"))
    health = spec.get("healthCheck")
    if isinstance(health, Mapping):
        paths |= _secret_arguments_tree(health.get("arguments", {}), (*prefix, "healthCheck", "arguments"))
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

    By name: env/header/template values whose key looks secret, `values` of parameters declared
    `secret`, a Template's secret parameter defaults, the argument after (or in) `--api-key`,
    `--token`, `--password`, `--secret`-like flags. By shape (`looks_secret_value`), whatever the key:
    URLs with userinfo or key-like query parameters (`DATABASE_URL=postgres://u:pw@db`, a Sentry DSN,
    `?api_key=`), well-known token formats, `Bearer ...` values; in env, headers, args, the URL,
    template values and defaults, and health-probe arguments. McpToken specs hold no secret (the
    token value is never part of a resource), so nothing of theirs is flagged.
    """
    kind = document.get("kind")
    spec = document.get("spec", {})
    if kind == "Server":
        return _server_spec_paths(spec, ("spec",), templates)
    if kind == "Template":
        paths = _server_spec_paths(spec.get("server", {}), ("spec", "server"), templates)
        for index, parameter in enumerate(spec.get("parameters", [])):
            default = parameter.get("default")
            if _is_literal(default) and (parameter.get("secret") or looks_secret_value(default)):
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


def placeholder_paths(value: Any, prefix: FieldPath = ()) -> list[FieldPath]:
    """Paths of strings under `value` that are a hidden-value stand-in: exactly `(sensitive)`, or holding
    `<withheld>` (export keeps the rest of a URL around it). Such a value was copied from masked output."""
    if isinstance(value, str):
        return [prefix] if value == SENSITIVE or WITHHELD in value else []
    return [path for key, item in _entries(value) for path in placeholder_paths(item, (*prefix, key))]


def masked(
    document: Mapping[str, Any], paths: Iterable[FieldPath], hide: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """A copy of `document` with the value at each of `paths` (where present) replaced by `(sensitive)`
    (or by `hide(value)`, as export does with `withhold`).

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
                node[part] = SENSITIVE if hide is None else hide(child)
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
