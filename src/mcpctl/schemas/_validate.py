"""Validation of loaded documents: schema errors at their exact position, then cross references.

Every problem is collected (never only the first), each pointing at the field it is about, up to the
run's problem limit. Documents stream through one at a time: only valid ones are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

from mcpctl._gc import paused_gc
from mcpctl.errors import ValidationFailed

from ._base import Identity, ResourceModel
from ._crossrefs import check_references
from ._limits import MAX_PROBLEMS_ENV, Limits
from ._loader import Document, DocumentStream
from ._problems import Problem, ProblemLog, Severity
from ._resource import raw_identity
from ._schema_errors import check_schema


@dataclass(frozen=True, slots=True, eq=False)
class SourcedResource:
    """A validated resource together with the document it came from (for pointing at it later)."""

    resource: ResourceModel
    """The validated model."""
    document: Document
    """Where it was written."""
    identity: Identity
    """The resource's (kind, project, name): read once, the cross-reference checks look it up often."""


@dataclass
class ValidationResult:
    """What validation found: the resources that passed the schema, and every problem."""

    resources: list[SourcedResource] = field(default_factory=list)
    """Resources that passed schema validation (cross-reference problems do not remove them)."""
    problems: list[Problem] = field(default_factory=list)
    """Every error and warning, sorted by file, line and column."""
    documents: int = 0
    """Number of documents read."""
    omitted_errors: int = 0
    """Errors past the problem limit, counted but not kept (validation stopped at the first)."""
    omitted_warnings: int = 0
    """Warnings past the problem limit, counted but not kept."""
    limit_note: Problem | None = None
    """The last entry of `problems` when the limit was reached: where, and what was left out."""

    @property
    def error_count(self) -> int:
        """Errors found, whether kept or past the limit (the limit note not counted)."""
        note = 1 if self.limit_note is not None and self.limit_note.is_error else 0
        return len(self.errors) - note + self.omitted_errors

    @property
    def warning_count(self) -> int:
        """Warnings found, whether kept or past the limit (the limit note not counted)."""
        note = 1 if self.limit_note is not None and not self.limit_note.is_error else 0
        return len(self.warnings) - note + self.omitted_warnings

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
        return not self.omitted_errors and not any(p.is_error for p in self.problems)

    def models(self) -> list[ResourceModel]:
        """The validated resources without their documents."""
        return [r.resource for r in self.resources]

    def raise_for_errors(self) -> None:
        """Raise `ValidationFailed` carrying every problem when there is any error."""
        if not self.valid:
            raise ValidationFailed(self.problems)


def load_and_validate(
    paths: Sequence[str],
    *,
    stdin: IO[bytes] | None = None,
    limits: Limits | None = None,
    known: Collection[Identity] = (),
    progress: Callable[[int], object] | None = None,
) -> ValidationResult:
    """Load YAML from files, directories or `-` (stdin) and validate everything in it.

    `limits` (default: from the environment, see `Limits.from_env`) cap documents and problems;
    `known` as for `validate_documents`; `progress` is called with the count of documents read so far.
    """
    limits = limits or Limits.from_env()
    log = ProblemLog(limits.max_problems)
    stream = DocumentStream(paths, log, stdin=stdin, max_documents=limits.max_documents)
    return _validate(stream, log, known, progress)


def validate_documents(
    documents: Iterable[Document],
    problems: Iterable[Problem] = (),
    *,
    limits: Limits | None = None,
    known: Collection[Identity] = (),
    progress: Callable[[int], object] | None = None,
) -> ValidationResult:
    """Validate documents against the schemas and against each other; `problems` are carried along.

    `known` names resources outside the documents that references may point at (the live store's,
    when a plan is made against it); the documents alone must be complete otherwise. `progress` is
    called with the count of documents validated so far.
    """
    log = ProblemLog((limits or Limits.from_env()).max_problems)
    log.extend(problems)
    return _validate(documents, log, known, progress)


def _validate(
    documents: Iterable[Document],
    log: ProblemLog,
    known_outside: Collection[Identity],
    progress: Callable[[int], object] | None = None,
) -> ValidationResult:
    with paused_gc():
        return _validate_all(documents, log, known_outside, progress)


def _validate_all(
    documents: Iterable[Document],
    log: ProblemLog,
    known_outside: Collection[Identity],
    progress: Callable[[int], object] | None,
) -> ValidationResult:
    result = ValidationResult()
    known: set[Identity] = set(known_outside)
    for document in documents:
        result.documents += 1
        if progress is not None:
            progress(result.documents)
        resource, found = check_schema(document)
        log.extend(found)
        if resource is not None:
            identity = resource.identity
            result.resources.append(SourcedResource(resource, document, identity))
            known.add(identity)
        elif (claimed := raw_identity(document.data)) is not None:
            known.add(claimed)
        if log.full:
            break
    if not log.full:
        log.extend(check_references(result.resources, known))
    result.problems = sorted(log.problems, key=Problem.sort_key)
    result.omitted_errors, result.omitted_warnings = log.omitted_errors, log.omitted_warnings
    if log.first_omitted is not None:
        result.limit_note = _limit_note(log)
        result.problems.append(result.limit_note)
    return result


def _limit_note(log: ProblemLog) -> Problem:
    first = log.first_omitted
    assert first is not None
    if log.full:
        message = (
            f"validation stopped after {log.limit:,} problems, the limit; later documents were not "
            f"checked (raise it with --max-problems or {MAX_PROBLEMS_ENV})"
        )
    else:
        message = f"{log.omitted_warnings:,} more warning(s) not shown (the limit is {log.limit:,} problems)"
    severity: Severity = "error" if log.full else "warning"
    return Problem(first.path, first.line, first.col, message=message, severity=severity)
