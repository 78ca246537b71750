"""Validation of loaded documents: schema errors at their exact position, then cross references.

Every problem is collected (never only the first), each pointing at the field it is about.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Union

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from mcpctl.errors import ValidationFailed

from ._base import API_VERSION, Identity, ResourceModel
from ._loader import Document, FieldPath, load_documents
from ._problems import Problem, Severity, format_field
from ._project import BUILTIN_PROXY_MODELS, LINK_TARGET, Project, Prompt
from ._rbac import EXPIRES, Group, McpToken, RoleBinding, Rule
from ._resource import KINDS, resolve_kind
from ._server import PLACEHOLDER, Server, ServerSpec, Template, instantiate_template, template_placeholders

PATTERN_MESSAGES = {
    r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$": (
        "must be lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    ),
    EXPIRES.pattern: "must be 'never', a duration such as 30d, 12h or 4w, or an ISO date such as 2027-01-31",
    LINK_TARGET.pattern: "must look like <project>/<server>:<uri>",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "must be an email address",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must be a name of letters, digits and '_', not starting with a digit",
    r"^(https?://|\{\{)": "must be an http:// or https:// URL",
}
"""Readable messages for the regular expressions of the models (the pattern itself helps nobody)."""
TYPE_MESSAGES = {
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "string_type": "expected a string (quote numbers and booleans meant as text)",
}
SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSW|API[_-]?KEY|AUTH|CREDENTIAL|PRIVATE[_-]?KEY", re.IGNORECASE)
"""Env/header keys whose literal values are probably secrets that belong in a secretRef."""

RULE_KINDS = {
    "servers": "Server",
    "templates": "Template",
    "projects": "Project",
    "prompts": "Prompt",
    "users": "User",
    "groups": "Group",
    "rolebindings": "RoleBinding",
    "mcptokens": "McpToken",
}
"""The kind each `resource` value of a rule names."""


@dataclass(frozen=True, slots=True)
class SourcedResource:
    """A validated resource together with the document it came from (for pointing at it later)."""

    resource: ResourceModel
    """The validated model."""
    document: Document
    """Where it was written."""

    @property
    def identity(self) -> Identity:
        """The resource's (kind, project, name)."""
        return self.resource.identity


@dataclass
class ValidationResult:
    """What validation found: the resources that passed the schema, and every problem."""

    resources: list[SourcedResource] = field(default_factory=list)
    """Resources that passed schema validation (cross-reference problems do not remove them)."""
    problems: list[Problem] = field(default_factory=list)
    """Every error and warning, sorted by file, line and column."""
    documents: int = 0
    """Number of documents read."""

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the desired state invalid."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are only advice."""
        return [p for p in self.problems if not p.is_error]

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(p.is_error for p in self.problems)

    def models(self) -> list[ResourceModel]:
        """The validated resources without their documents."""
        return [r.resource for r in self.resources]

    def raise_for_errors(self) -> None:
        """Raise `ValidationFailed` carrying every problem when there is any error."""
        if not self.valid:
            raise ValidationFailed(self.problems)


def load_and_validate(paths: Sequence[str], *, stdin: IO[bytes] | None = None) -> ValidationResult:
    """Load YAML from files, directories or `-` (stdin) and validate everything in it."""
    loaded = load_documents(paths, stdin=stdin)
    return validate_documents(loaded.documents, loaded.problems)


def validate_documents(documents: Sequence[Document], problems: Iterable[Problem] = ()) -> ValidationResult:
    """Validate documents against the schemas and against each other; `problems` are carried along."""
    result = ValidationResult(problems=list(problems), documents=len(documents))
    known: set[Identity] = set()
    for document in documents:
        resource, found = _check_schema(document)
        result.problems.extend(found)
        if resource is not None:
            result.resources.append(SourcedResource(resource, document))
            known.add(resource.identity)
        else:
            identity = _raw_identity(document)
            if identity is not None:
                known.add(identity)
    result.problems.extend(_CrossReferences(result.resources, known).check())
    result.problems.sort(key=Problem.sort_key)
    return result


def _problem(
    document: Document,
    path: FieldPath,
    message: str,
    *,
    key: bool = False,
    severity: Severity = "error",
    shown: FieldPath | None = None,
) -> Problem:
    line, col = document.locate(path, key=key)
    return Problem(
        document.path,
        line,
        col,
        kind=document.kind,
        name=document.name,
        field=format_field(shown if shown is not None else path) or None,
        message=message,
        severity=severity,
    )


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'X'?` for the closest candidate, or an empty string."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return f"; did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def _raw_identity(document: Document) -> Identity | None:
    kind, name = document.kind, document.name
    if kind not in KINDS or name is None:
        return None
    metadata = document.data.get("metadata")
    project = metadata.get("project") if isinstance(metadata, dict) else None
    return Identity(kind, project if isinstance(project, str) else None, name)


def _check_schema(document: Document) -> tuple[ResourceModel | None, list[Problem]]:
    data = document.data
    problems: list[Problem] = []
    api_version = data.get("apiVersion")
    if "apiVersion" not in data:
        problems.append(_problem(document, ("apiVersion",), f"'apiVersion' is required (use {API_VERSION})"))
    elif api_version != API_VERSION:
        problems.append(
            _problem(document, ("apiVersion",), f"unknown apiVersion {api_version!r}; expected {API_VERSION}")
        )
    kind = data.get("kind")
    if "kind" not in data:
        problems.append(_problem(document, ("kind",), f"'kind' is required (one of {', '.join(KINDS)})"))
        return None, problems
    if not isinstance(kind, str) or kind not in KINDS:
        resolved = resolve_kind(kind) if isinstance(kind, str) else None
        hint = f"; did you mean {resolved!r}?" if resolved else did_you_mean(str(kind), KINDS)
        problems.append(_problem(document, ("kind",), f"unknown kind {kind!r}{hint}"))
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
            found.append(_problem(document, path, f"expected one of: {forms}"))
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
        return _problem(document, path, f"unknown field {word!r}{hint}", key=True)
    if kind == "missing":
        return _problem(document, path, f"{str(path[-1])!r} is required" if path else "value is required")
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
    return _problem(document, path, message)


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


def _raw_path(document: Document, *path: str | int) -> FieldPath:
    """`path` as written in the document: a key may be given in camelCase or snake_case."""
    current: Any = document.data
    written: list[str | int] = []
    for step in path:
        snake = to_snake(step) if isinstance(step, str) else step
        if isinstance(current, dict) and step not in current and snake in current:
            step = snake
        written.append(step)
        if isinstance(current, dict):
            current = current.get(step)
        elif isinstance(current, list) and isinstance(step, int) and step < len(current):
            current = current[step]
        else:
            current = None
    return tuple(written)


def _item_path(document: Document, value: str, *path: str) -> FieldPath:
    """Path of `value` inside the list at `path` as written (models sort lists, YAML does not)."""
    written = _raw_path(document, *path)
    current: Any = document.data
    for step in written:
        current = current.get(step) if isinstance(current, dict) else None
    if isinstance(current, list) and value in current:
        return (*written, current.index(value))
    return written


class _CrossReferences:
    """Checks between resources: every name a resource uses must exist, with the right shape."""

    def __init__(self, resources: Sequence[SourcedResource], known: set[Identity]) -> None:
        self.resources = resources
        self.known = known
        self.by_identity: dict[Identity, SourcedResource] = {}
        self.problems: list[Problem] = []

    def check(self) -> list[Problem]:
        for item in self.resources:
            first = self.by_identity.setdefault(item.identity, item)
            if first is not item:
                self._duplicate(first, item)
        for item in self.resources:
            check = getattr(self, f"_check_{item.resource.kind_name().lower()}", None)
            if check is not None:
                check(item.resource, item.document)
        return self.problems

    def _error(self, document: Document, path: FieldPath, message: str, *, key: bool = False) -> None:
        self.problems.append(_problem(document, path, message, key=key))

    def _warn(self, document: Document, path: FieldPath, message: str) -> None:
        self.problems.append(_problem(document, path, message, severity="warning"))

    def _duplicate(self, first: SourcedResource, again: SourcedResource) -> None:
        a, b = first.document, again.document
        self._error(
            b, ("metadata", "name"), f"duplicate {first.identity}; first defined at {a.path}:{a.line}:{a.col}"
        )
        self._error(
            a, ("metadata", "name"), f"duplicate {first.identity}; also defined at {b.path}:{b.line}:{b.col}"
        )

    def _exists(self, kind: str, project: str | None, name: str) -> bool:
        return Identity(kind, project, name) in self.known

    def _names(self, kind: str, project: str | None = None) -> list[str]:
        return sorted(
            {i.name for i in self.known if i.kind == kind and (project is None or i.project == project)}
        )

    def _unknown(self, kind: str, name: str, project: str | None = None) -> str:
        where = f" in project {project!r}" if project else ""
        return f"unknown {kind} {name!r}{where}{did_you_mean(name, self._names(kind, project))}"

    def _require_project(self, document: Document, project: str | None) -> None:
        if project is not None and not self._exists("Project", None, project):
            self._error(document, ("metadata", "project"), self._unknown("Project", project))

    def _check_template(self, template: Template, document: Document) -> None:
        declared = [p.name for p in template.spec.parameters]
        used = template_placeholders(template.spec.server)
        for name in sorted(used - set(declared)):
            self._error(
                document, ("spec", "server"), f"placeholder '{{{{ {name} }}}}' is not a declared parameter"
            )
        for index, name in enumerate(declared):
            if name not in used:
                self._warn(
                    document, ("spec", "parameters", index), f"parameter {name!r} is not used by the server"
                )
        self._secret_literals(template.spec.server, document, ("spec", "server"))

    def _check_server(self, server: Server, document: Document) -> None:
        self._secret_literals(server.spec, document, ("spec",))
        ref = server.spec.from_template
        if ref is None:
            return
        ref_path = _raw_path(document, "spec", "fromTemplate")
        key = Identity("Template", None, ref.name)
        target = self.by_identity.get(key)
        if target is None:
            if not self._exists(*key):
                self._error(document, (*ref_path, "name"), self._unknown("Template", ref.name))
            return
        assert isinstance(target.resource, Template)
        template = target.resource.spec
        parameters = {p.name: p for p in template.parameters}
        before = len(self.problems)
        for name, value in ref.values.items():
            parameter = parameters.get(name)
            if parameter is None:
                self._error(
                    document,
                    (*ref_path, "values", name),
                    f"unknown parameter {name!r} of Template {ref.name!r}{did_you_mean(name, parameters)}",
                    key=True,
                )
            elif parameter.secret and isinstance(value, str):
                self._error(
                    document,
                    (*ref_path, "values", name),
                    f"parameter {name!r} is secret: give a secretRef or fromEnv, not a literal",
                )
        for parameter in template.parameters:
            if parameter.required and parameter.default is None and parameter.name not in ref.values:
                self._error(
                    document,
                    ref_path,
                    f"missing required parameter {parameter.name!r} of Template {ref.name!r}",
                )
        if len(self.problems) > before:
            return
        try:
            instantiate_template(template, ref, server.spec)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = format_field(tuple(first["loc"]))
            self._error(
                document, ref_path, f"Template {ref.name!r} gives an invalid server: {where}: {first['msg']}"
            )
        except ValueError as error:
            self._error(document, ref_path, str(error))

    def _secret_literals(self, spec: ServerSpec, document: Document, at: FieldPath) -> None:
        for section, values in (("env", spec.env), ("headers", spec.headers)):
            for name, value in values.items():
                if (
                    isinstance(value, str)
                    and value
                    and SECRET_LOOKING.search(name)
                    and not PLACEHOLDER.search(value)
                ):
                    self._warn(
                        document,
                        (*at, section, name),
                        f"literal value for secret-looking {name!r}; use secretRef or fromEnv",
                    )

    def _check_project(self, project: Project, document: Document) -> None:
        for name in project.spec.servers:
            if not self._exists("Server", None, name):
                self._error(
                    document, _item_path(document, name, "spec", "servers"), self._unknown("Server", name)
                )
        proxy = project.spec.proxy_model
        if proxy not in BUILTIN_PROXY_MODELS and not self._exists("ProxyModel", None, proxy):
            choices = [*BUILTIN_PROXY_MODELS, *self._names("ProxyModel")]
            self._error(
                document,
                _raw_path(document, "spec", "proxyModel"),
                f"unknown proxyModel {proxy!r}: neither built in nor a ProxyModel"
                + did_you_mean(proxy, choices),
            )

    def _check_prompt(self, prompt: Prompt, document: Document) -> None:
        self._require_project(document, prompt.metadata.project)
        target = prompt.spec.link_target
        match = LINK_TARGET.match(target) if target else None
        if match is None:
            return
        path = _raw_path(document, "spec", "linkTarget")
        project, server = match.group("project"), match.group("server")
        if not self._exists("Project", None, project):
            self._error(document, path, self._unknown("Project", project))
        elif not self._exists("Server", None, server):
            self._error(document, path, self._unknown("Server", server))
        else:
            owner = self.by_identity.get(Identity("Project", None, project))
            if (
                owner is not None
                and isinstance(owner.resource, Project)
                and server not in owner.resource.spec.servers
            ):
                self._error(document, path, f"Server {server!r} is not in project {project!r}")

    def _check_group(self, group: Group, document: Document) -> None:
        for name in group.spec.members:
            if not self._exists("User", None, name):
                self._error(
                    document, _item_path(document, name, "spec", "members"), self._unknown("User", name)
                )

    def _check_rolebinding(self, binding: RoleBinding, document: Document) -> None:
        project = binding.metadata.project
        self._require_project(document, project)
        raw_subjects = document.data.get("spec", {}).get("subjects", [])
        for subject in binding.spec.subjects:
            index = next(
                (
                    i
                    for i, s in enumerate(raw_subjects)
                    if isinstance(s, dict) and s.get("kind") == subject.kind and s.get("name") == subject.name
                ),
                0,
            )
            path = ("spec", "subjects", index, "name")
            if subject.kind in ("User", "Group") and not self._exists(subject.kind, None, subject.name):
                self._error(document, path, self._unknown(subject.kind, subject.name))
            elif subject.kind == "McpToken":
                if project is None:
                    self._error(document, path, "an McpToken subject needs the binding's metadata.project")
                elif not self._exists("McpToken", project, subject.name):
                    self._error(document, path, self._unknown("McpToken", subject.name, project))
        self._check_rules(binding.spec.rules, project, document, "rules")

    def _check_mcptoken(self, token: McpToken, document: Document) -> None:
        project = token.metadata.project
        self._require_project(document, project)
        owner = token.spec.owner
        if owner is not None and not self._exists("User", None, owner):
            self._error(document, ("spec", "owner"), self._unknown("User", owner))
        self._check_rules(token.spec.bindings, project, document, "bindings")

    def _check_rules(
        self, rules: Sequence[Rule], project: str | None, document: Document, section: str
    ) -> None:
        raw_rules = document.data.get("spec", {}).get(section, [])
        for index, rule in enumerate(rules):
            kind = RULE_KINDS.get(rule.resource)
            if kind is None:
                continue
            raw = raw_rules[index] if index < len(raw_rules) and isinstance(raw_rules[index], dict) else {}
            for name in rule.names:
                if self._rule_target_exists(kind, project, name):
                    continue
                names = raw.get("names", [])
                where: FieldPath = ("spec", section, index, "names")
                if isinstance(names, list) and name in names:
                    where = (*where, names.index(name))
                scoped = project if kind in ("Prompt", "McpToken") else None
                self._error(document, where, self._unknown(kind, name, scoped))

    def _rule_target_exists(self, kind: str, project: str | None, name: str) -> bool:
        if kind in ("Prompt", "McpToken"):
            if project is not None:
                return self._exists(kind, project, name)
            return any(i.kind == kind and i.name == name for i in self.known)
        if kind == "RoleBinding":
            return any(i.kind == kind and i.name == name for i in self.known)
        return self._exists(kind, None, name)
