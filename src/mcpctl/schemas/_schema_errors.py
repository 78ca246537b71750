"""Schema validation of one document, with pydantic's errors turned into problems at exact positions.

Union branches are folded into one problem, misspelled fields get a "did you mean", patterns read plainly.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError

from ._base import API_VERSION, FieldPath, ResourceModel
from ._loader import Document
from ._problems import Problem, did_you_mean
from ._project import LINK_TARGET_PATTERN
from ._rbac import EXPIRES
from ._resource import KINDS, resolve_kind

PATTERN_MESSAGES = {
    r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$": (
        "must be lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    ),
    EXPIRES.pattern: "must be 'never', a duration such as 30d, 12h or 4w, or an ISO date such as 2027-01-31",
    LINK_TARGET_PATTERN: "must look like <project>/<server>:<uri>",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "must be an email address",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must be a name of letters, digits and '_', not starting with a digit",
    r"^(https?://|\{\{)": "must be an http:// or https:// URL",
    r"^\S+$": "must not contain spaces",
}
"""Readable messages for the regular expressions of the models (the pattern itself helps nobody)."""
TYPE_MESSAGES = {
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "string_type": "expected a string (quote numbers and booleans meant as text)",
}


def check_schema(document: Document) -> tuple[ResourceModel | None, list[Problem]]:
    """The document's resource (None when invalid) and every schema problem, each at its field."""
    data = document.data
    problems: list[Problem] = []
    api_version = data.get("apiVersion")
    if "apiVersion" not in data:
        problems.append(document.problem(("apiVersion",), f"'apiVersion' is required (use {API_VERSION})"))
    elif api_version != API_VERSION:
        problems.append(
            document.problem(("apiVersion",), f"unknown apiVersion {api_version!r}; expected {API_VERSION}")
        )
    kind = data.get("kind")
    if "kind" not in data:
        problems.append(document.problem(("kind",), f"'kind' is required (one of {', '.join(KINDS)})"))
        return None, problems
    if not isinstance(kind, str) or kind not in KINDS:
        resolved = resolve_kind(kind) if isinstance(kind, str) else None
        hint = f"; did you mean {resolved!r}?" if resolved else did_you_mean(str(kind), KINDS)
        problems.append(document.problem(("kind",), f"unknown kind {kind!r}{hint}"))
        return None, problems
    model = KINDS[kind]
    try:
        return model.model_validate(data), problems
    except ValidationError as error:
        items = [
            item
            for item in error.errors(include_url=False, include_input=False)
            # a bad apiVersion was already reported above, with a clearer message
            if not (item["loc"][:1] == ("apiVersion",) and problems)
        ]
        problems.extend(_schema_problems(document, model, items))
        return None, _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    unique: dict[tuple[Any, ...], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.line, problem.col, problem.field, problem.message), problem)
    return list(unique.values())


def _schema_problems(document: Document, model: type[BaseModel], items: list[Any]) -> list[Problem]:
    found: list[Problem] = []
    branches: dict[FieldPath, dict[str, list[Any]]] = {}
    for item in items:
        path, tag, rest = _split_loc(document.data, item["loc"], item["type"])
        if tag is None:
            found.append(_one_error(document, model, item, path, item["loc"]))
        else:
            branches.setdefault(path, {}).setdefault(tag, []).append((item, rest))
    found += _union_problems(document, model, branches)
    return _drop_implied_missing(found)


_HINT = re.compile(r"did you mean '([^']+)'\?$")


def _drop_implied_missing(found: list[Problem]) -> list[Problem]:
    # "unknown field 'nme'; did you mean 'name'?" already says that 'name' is missing.
    hinted: set[tuple[str, str]] = set()
    for problem in found:
        match = _HINT.search(problem.message)
        if match and problem.field:
            hinted.add((problem.field.rpartition(".")[0], match.group(1)))
    return [
        p
        for p in found
        if not (
            p.message.endswith("is required")
            and p.field
            and (p.field.rpartition(".")[0], p.field.rpartition(".")[2]) in hinted
        )
    ]


def _split_loc(data: Any, loc: tuple[str | int, ...], kind: str) -> tuple[FieldPath, str | None, FieldPath]:
    """The part of `loc` found in the data, the first union tag met (if any), and the rest after it."""
    current = data
    path: list[str | int] = []
    for position, step in enumerate(loc):
        in_mapping = isinstance(current, dict) and step in current
        in_list = isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)
        if in_mapping or in_list:
            current = current[step]
        elif isinstance(current, dict) and position == len(loc) - 1 and kind == "missing":
            path.append(step)  # a missing field: the last step names it
            break
        elif isinstance(step, str):
            return tuple(path), step, tuple(loc[position + 1 :])
        else:
            break
        path.append(step)
    return tuple(path), None, ()


def _union_problems(
    document: Document, model: type[BaseModel], branches: dict[FieldPath, dict[str, list[Any]]]
) -> list[Problem]:
    found: list[Problem] = []
    for path, by_tag in branches.items():
        # A branch whose only complaint is the value's type is not what the author meant.
        plausible = {
            tag: errs
            for tag, errs in by_tag.items()
            if not (len(errs) == 1 and not errs[0][1] and errs[0][0]["type"].endswith("_type"))
        }
        if not plausible:
            forms = ", ".join(_tag_name(tag) for tag in by_tag)
            found.append(document.problem(path, f"expected one of: {forms}"))
            continue

        scores = {tag: _branch_score(model, errs) for tag, errs in plausible.items()}
        best = min(scores, key=scores.__getitem__)
        for item, rest in plausible[best]:
            sub_path, _, _ = _split_loc(document.data, (*path, *rest), item["type"])
            found.append(_one_error(document, model, item, sub_path, item["loc"]))
    return found


def _branch_score(model: type[BaseModel], errors: list[Any]) -> tuple[int, int]:
    # The branch the author most likely meant: most misspellings we can explain, then fewest errors.
    hints = sum(
        1
        for item, _ in errors
        if item["type"] == "extra_forbidden"
        and did_you_mean(str(item["loc"][-1]), _aliases(_models_at(model, item["loc"][:-1])))
    )
    return (-hints, len(errors))


def _tag_name(tag: str) -> str:
    if tag == "str" or tag.endswith(" str]"):
        return "a string"
    if tag in ("SecretRef", "FromEnv"):
        return "{secretRef: {name, key}}" if tag == "SecretRef" else "{fromEnv: VAR}"
    return tag


def _one_error(
    document: Document, model: type[BaseModel], item: Any, path: FieldPath, loc: tuple[str | int, ...]
) -> Problem:
    kind = item["type"]
    message = str(item["msg"])
    if kind == "extra_forbidden":
        word = str(path[-1]) if path else ""
        hint = did_you_mean(word, _aliases(_models_at(model, loc[:-1])))
        return document.problem(path, f"unknown field {word!r}{hint}", key=True)
    if kind == "missing":
        return document.problem(path, f"{str(path[-1])!r} is required" if path else "value is required")
    if kind == "value_error" and message.startswith("Value error, "):
        message = message[len("Value error, ") :]
        if not path and "metadata.project" in message:
            path = (
                ("metadata", "project") if "project" in document.data.get("metadata", {}) else ("metadata",)
            )
    elif kind == "string_pattern_mismatch" and item.get("ctx", {}).get("pattern") in PATTERN_MESSAGES:
        message = PATTERN_MESSAGES[item["ctx"]["pattern"]]
    elif kind == "union_tag_not_found":
        message = f"{item.get('ctx', {}).get('discriminator', 'type')} is required"
    elif kind in TYPE_MESSAGES:
        message = TYPE_MESSAGES[kind]
    return document.problem(path, message)


def _leaves(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _leaves(args[0])
    if origin in (Union, types.UnionType):
        return [leaf for arg in args for leaf in _leaves(arg)]
    if origin in (list, set, tuple):
        return [("item", args[0] if args else Any)]
    if origin is dict:
        return [("item", args[1] if len(args) > 1 else Any)]
    if origin is Literal:
        return []
    return [annotation]


def _models_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[type[BaseModel]]:
    """Models that could sit at `loc` (a pydantic error location, union tags included)."""
    current: list[Any] = [model]
    for step in loc:
        following: list[Any] = []
        for candidate in current:
            if isinstance(candidate, tuple):
                following.extend(_leaves(candidate[1]))
            elif isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(step, str):
                info = _field_info(candidate, step)
                if info is not None:
                    following.extend(_leaves(info))
                elif step == candidate.__name__ or step == _discriminator_value(candidate):
                    following.append(candidate)
        if following:
            current = following
        elif not isinstance(step, str):
            return []
    return [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]


def _field_info(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _discriminator_value(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("type")
    return str(info.default) if info is not None and isinstance(info.default, str) else None


def _aliases(models: Iterable[type[BaseModel]]) -> list[str]:
    return [info.alias or name for model in models for name, info in model.model_fields.items()]
