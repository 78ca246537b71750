"""Cross-reference checks between validated resources: every name a resource uses must exist.

What a resource names comes from the one reference graph (`_refgraph`), which the read model also
uses; the per-kind checks here add only what is more than existence (parameters, shapes, scopes).

Also the advice that is not an error: literal values under secret-looking keys, unused parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, get_args

from pydantic.alias_generators import to_snake

from ._base import FieldPath, Identity, ResourceModel
from ._builtin import builtin_templates
from ._hygiene import description_findings
from ._loader import Document
from ._pins import ToolPins
from ._problems import Problem, did_you_mean
from ._project import BUILTIN_PROXY_MODELS, LINK_TARGET, Project, Prompt
from ._rbac import McpToken, RoleBinding, Rule
from ._refgraph import Reference, references
from ._resource import KIND_ALIASES, KINDS
from ._sensitive import SENSITIVE, WITHHELD, looks_secret, looks_secret_value, placeholder_paths
from ._server import PLACEHOLDER, Server, ServerSpec, Template, template_placeholders, template_problem
from ._system import SYSTEM_PROJECT, system_prompt_problems

if TYPE_CHECKING:
    from ._validate import SourcedResource

RULE_KINDS: dict[str, str] = {
    resource: KIND_ALIASES[resource]
    for resource in get_args(Rule.model_fields["resource"].annotation)
    if resource != "*"
}
"""The kind each `resource` value of a rule names (one of the kind's CLI words: `servers`)."""


def check_references(resources: Sequence[SourcedResource], known: set[Identity]) -> list[Problem]:
    """Problems with references between `resources`; `known` also holds identities of invalid documents."""
    return _CrossReferences(resources, known).check()


def _raw_path(document: Document, *path: str | int) -> FieldPath:
    """`path` as written in the document: a key may be given in camelCase or snake_case."""
    current: Any = document.data
    written: list[str | int] = []
    for step in path:
        if isinstance(current, dict) and isinstance(step, str) and step not in current:
            snake = to_snake(step)  # only for the rare document written in snake_case
            if snake in current:
                step = snake
        written.append(step)
        if isinstance(current, dict):
            current = current.get(step)
        elif isinstance(current, list) and isinstance(step, int) and step < len(current):
            current = current[step]
        else:
            current = None
    return tuple(written)


def _subject_path(document: Document, kind: str, name: str) -> FieldPath:
    """Path of a RoleBinding subject's name as written (the first subject if none matches)."""
    return _reference_path(
        document,
        Reference(Identity("RoleBinding", None, ""), Identity(kind, None, name), "spec.subjects", False),
    )[0]


def _reference_path(document: Document, ref: Reference) -> tuple[FieldPath, bool]:
    """Where `ref` is written in `document`, and whether its field is a list (one problem per item).

    An item of a list is a name or a `{kind, name}` mapping (a subject); models sort lists, YAML does
    not, so the index is looked up in the document as written.
    """
    written = _raw_path(document, *ref.field.split("."))
    current: Any = document.data
    for step in written:
        current = current.get(step) if isinstance(current, dict) else None
    if not isinstance(current, list):
        return written, False
    if current and all(isinstance(item, dict) for item in current):
        key = (ref.target.kind, ref.target.name)
        index = next((i for i, s in enumerate(current) if (s.get("kind"), s.get("name")) == key), 0)
        return (*written, index, "name"), True
    if ref.target.name in current:
        return (*written, current.index(ref.target.name)), True
    return written, True


class _CrossReferences:
    """Checks between resources: every name a resource uses must exist, with the right shape."""

    def __init__(self, resources: Sequence[SourcedResource], known: set[Identity]) -> None:
        self.resources = resources
        self.known = known
        self.by_identity: dict[Identity, SourcedResource] = {}
        self.problems: list[Problem] = []
        self.kind_names = {(i.kind, i.name) for i in known}
        self._pools: dict[tuple[str, str | None], list[str]] = {}
        self._hints: dict[tuple[str, str, str | None], str] = {}
        # Fuzzy matching costs time per candidate; when a large repo breaks en masse, stop hinting
        # after this many comparisons rather than take minutes to say "did you mean".
        self._hint_budget = 20_000

    def check(self) -> list[Problem]:
        for item in self.resources:
            first = self.by_identity.setdefault(item.identity, item)
            if first is not item:
                self._duplicate(first, item)
        checks: dict[str, Callable[[Any, Document], None]] = {
            "Template": self._check_template,
            "Server": self._check_server,
            "ToolPins": self._check_toolpins,
            "Prompt": self._check_prompt,
            "RoleBinding": self._check_rolebinding,
            "McpToken": self._check_mcptoken,
        }
        if unknown := set(checks) - set(KINDS):
            raise LookupError(f"cross-reference checks for unknown kinds {sorted(unknown)}")
        for item in self.resources:
            self._check_targets(item.resource, item.document)
            check = checks.get(item.resource.kind_name())
            if check is not None:
                check(item.resource, item.document)
        return self.problems

    def _check_targets(self, resource: ResourceModel, document: Document) -> None:
        """Every target the reference graph finds must exist; a scalar field reports only its first."""
        failed: set[str] = set()
        for ref in references(resource):
            if ref.field in failed or self._target_exists(ref):
                continue
            path, listed = _reference_path(document, ref)
            if not listed:
                failed.add(ref.field)
            if (ref.source.kind, ref.field) == ("Project", "spec.proxyModel"):
                choices = [*BUILTIN_PROXY_MODELS, *self._names("ProxyModel")]
                message = (
                    f"unknown proxyModel {ref.target.name!r}: neither built in nor a ProxyModel"
                    + did_you_mean(ref.target.name, choices)
                )
            else:
                message = self._unknown(ref.target.kind, ref.target.name, ref.target.project)
                if ref.source.kind == "ToolPins":
                    message = "ToolPins are named after their server: " + message
            self._error(document, path, message)

    def _target_exists(self, ref: Reference) -> bool:
        if ref.target in self.known:
            return True
        # A server may use a built-in template by name unless the repo defines (an invalid) one.
        return ref.target.kind == "Template" and ref.target.name in builtin_templates()

    def _error(self, document: Document, path: FieldPath, message: str, *, key: bool = False) -> None:
        self.problems.append(document.problem(path, message, key=key))

    def _warn(self, document: Document, path: FieldPath, message: str) -> None:
        self.problems.append(document.problem(path, message, severity="warning"))

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
        pool = self._pools.get((kind, project))
        if pool is None:
            pool = sorted(
                {i.name for i in self.known if i.kind == kind and (project is None or i.project == project)}
            )
            self._pools[(kind, project)] = pool
        return pool

    def _hint(self, kind: str, name: str, project: str | None = None) -> str:
        key = (kind, name, project)
        if key not in self._hints:
            pool = self._names(kind, project)
            self._hint_budget -= len(pool)
            self._hints[key] = did_you_mean(name, pool) if self._hint_budget >= 0 else ""
        return self._hints[key]

    def _unknown(self, kind: str, name: str, project: str | None = None) -> str:
        where = f" in project {project!r}" if project else ""
        return f"unknown {kind} {name!r}{where}{self._hint(kind, name, project)}"

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
        self._hidden_placeholders(document)

    def _check_server(self, server: Server, document: Document) -> None:
        self._secret_literals(server.spec, document, ("spec",))
        if server.spec.pinning == "block" and not self._exists("ToolPins", None, server.metadata.name):
            self._warn(
                document,
                _raw_path(document, "spec", "pinning"),
                f"pinning: block without a ToolPins {server.metadata.name!r}: every tool of the server "
                "is hidden (run `mcpctl pin`)",
            )
        self._hidden_placeholders(document)
        ref = server.spec.from_template
        if ref is None:
            return
        ref_path = _raw_path(document, "spec", "fromTemplate")
        key = Identity("Template", None, ref.name)
        target = self.by_identity.get(key)
        builtin = builtin_templates().get(ref.name)
        if target is None and (builtin is None or self._exists(*key)):
            return  # a missing template is reported by _check_targets
        found = target.resource if target is not None else builtin
        assert isinstance(found, Template)
        template = found.spec
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
        problem = template_problem(template, ref, server.spec)
        if problem is not None:
            self._error(document, ref_path, problem)

    def _secret_literals(self, spec: ServerSpec, document: Document, at: FieldPath) -> None:
        for section, values in (("env", spec.env), ("headers", spec.headers)):
            for name, value in values.items():
                if not isinstance(value, str) or not value or PLACEHOLDER.search(value):
                    continue
                if looks_secret(name):
                    message = f"literal value for secret-looking {name!r}; use secretRef or fromEnv"
                elif looks_secret_value(value):
                    message = f"the literal value of {name!r} holds a credential; use secretRef or fromEnv"
                else:
                    continue
                self._warn(document, (*at, section, name), message)

    def _hidden_placeholders(self, document: Document) -> None:
        # `(sensitive)` or `<withheld>` in a spec came from masked output (describe, plan JSON, export):
        # applying it would silently replace the real secret with the stand-in.
        if not (document.source.contains(WITHHELD) or document.source.contains(SENSITIVE)):
            return
        for path in placeholder_paths(document.data.get("spec"), ("spec",)):
            self._error(
                document,
                path,
                "a hidden-value placeholder, not a value (copied from masked output or withheld by "
                "`mcpctl export`): give a secretRef, fromEnv or the real value",
            )

    def _check_toolpins(self, pins: ToolPins, document: Document) -> None:
        raw_tools = document.data.get("spec", {}).get("tools", [])
        for tool in pins.spec.tools:
            index = next(
                (i for i, t in enumerate(raw_tools) if isinstance(t, dict) and t.get("name") == tool.name), 0
            )
            for finding in description_findings(tool.description):
                self._warn(
                    document,
                    ("spec", "tools", index, "description"),
                    f"tool {tool.name!r}: {finding}",
                )

    def _check_prompt(self, prompt: Prompt, document: Document) -> None:
        if prompt.metadata.project == SYSTEM_PROJECT:
            field = "content" if prompt.spec.content is not None else "linkTarget"
            for message in system_prompt_problems(prompt.metadata.name, prompt.spec.content):
                where = ("metadata", "name") if message.startswith("unknown system") else ("spec", field)
                self._error(document, _raw_path(document, *where), message)
        target = prompt.spec.link_target
        match = LINK_TARGET.match(target) if target else None
        if match is None:
            return
        path = _raw_path(document, "spec", "linkTarget")
        project, server = match.group("project"), match.group("server")
        # A missing project or server is reported by _check_targets.
        if self._exists("Project", None, project) and self._exists("Server", None, server):
            owner = self.by_identity.get(Identity("Project", None, project))
            if (
                owner is not None
                and isinstance(owner.resource, Project)
                and server not in owner.resource.spec.servers
            ):
                self._error(document, path, f"Server {server!r} is not in project {project!r}")

    def _check_rolebinding(self, binding: RoleBinding, document: Document) -> None:
        project = binding.metadata.project
        for subject in binding.spec.subjects:
            if subject.kind == "McpToken" and project is None:
                path = _subject_path(document, subject.kind, subject.name)
                self._error(document, path, "an McpToken subject needs the binding's metadata.project")
        self._check_rules(binding.spec.rules, project, document, "rules")

    def _check_mcptoken(self, token: McpToken, document: Document) -> None:
        project = token.metadata.project
        self._check_rules(token.spec.bindings, project, document, "bindings")
        if token.spec.expired_at_creation():
            self._warn(
                document,
                _raw_path(document, "spec", "expires"),
                f"expires {token.spec.expires} is in the past: the token would be created already expired",
            )

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
                scoped = project if KINDS[kind].scope == "project" else None
                self._error(document, where, self._unknown(kind, name, scoped))

    def _rule_target_exists(self, kind: str, project: str | None, name: str) -> bool:
        scope = KINDS[kind].scope
        if scope == "project" and project is not None:
            return self._exists(kind, project, name)
        if scope == "global":
            return self._exists(kind, None, name)
        return (kind, name) in self.kind_names  # any project (or none, for a kind of either scope)
