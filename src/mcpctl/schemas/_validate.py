"""Validation of loaded documents: schema errors at their exact position, then cross references.

Every problem is collected (never only the first), each pointing at the field it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

from mcpctl.errors import ValidationFailed

from ._base import Identity, ResourceModel
from ._crossrefs import check_references
from ._loader import Document, load_documents
from ._problems import Problem
from ._resource import raw_identity
from ._schema_errors import check_schema


@dataclass(frozen=True, slots=True, eq=False)
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
        resource, found = check_schema(document)
        result.problems.extend(found)
        if resource is not None:
            result.resources.append(SourcedResource(resource, document))
            known.add(resource.identity)
        else:
            identity = raw_identity(document.data)
            if identity is not None:
                known.add(identity)
    result.problems.extend(check_references(result.resources, known))
    result.problems.sort(key=Problem.sort_key)
    return result

