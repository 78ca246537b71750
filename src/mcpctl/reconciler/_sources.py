"""Sources of desired state: the `Source` seam, and `FileSource` for `-f FILE|DIR|-`.

A git source (another module) implements the same protocol; both name their `managed_by` the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mcpctl.errors import ValidationFailed
from mcpctl.schemas import (
    STDIN,
    Identity,
    LiveResource,
    ResourceModel,
    ValidationResult,
    gitops_manager,
    load_documents,
    validate_documents,
    with_builtin_templates,
)


@dataclass(frozen=True, slots=True)
class DesiredState:
    """What a source holds: valid resources, where they came from, and every problem found.

    `problems` are objects printing as `path:line:col: Kind/name: field: message` with a `.severity`
    (`error` or `warning`); `resources` is only meaningful when no problem is an error.
    """

    resources: tuple[ResourceModel, ...]
    source: str
    """Name of the source: resolved path(s), or `<repo url>[//<subpath>]`."""
    revision: str | None = None
    """Commit SHA (or other revision) of the source, when it has one."""
    problems: tuple[Any, ...] = field(default=())

    @property
    def errors(self) -> list[Any]:
        """Problems that make the desired state invalid."""
        return [p for p in self.problems if getattr(p, "severity", "error") == "error"]

    @property
    def warnings(self) -> list[Any]:
        """Problems that are only warnings."""
        return [p for p in self.problems if getattr(p, "severity", "error") != "error"]

    @property
    def manager(self) -> str:
        """`managed_by` of what this source applies."""
        return gitops_manager(self.source)

    def require_valid(self) -> DesiredState:
        """Self, or `ValidationFailed` with every problem (as `validate` prints them) if any is an error."""
        if self.errors:
            raise ValidationFailed(self.problems)
        return self


@runtime_checkable
class Source(Protocol):
    """Anything that can produce desired state (files, a git checkout, an in-memory list)."""

    @property
    def name(self) -> str:
        """The source name that `managed_by` is derived from."""
        ...

    def load(self) -> DesiredState:
        """Read the source now; raises `mcpctl.errors.SourceError` when it cannot be read at all."""
        ...


def source_name_for_paths(paths: Sequence[str]) -> str:
    """Name of a `-f PATH...` source: resolved absolute paths, sorted, comma-joined (`-` is `<stdin>`).

    Sorting makes `-f a -f b` and `-f b -f a` the same source, so neither prunes the other's resources.
    """
    names = sorted({"<stdin>" if p == STDIN else str(Path(p).expanduser().resolve()) for p in paths})
    return ",".join(names)


def source_name_for_repo(url: str, subpath: str | None = None) -> str:
    """Name of a git source: the repository URL, plus `//<subpath>` when only a folder of it is used."""
    sub = (subpath or "").strip("/")
    return f"{url}//{sub}" if sub and sub != "." else url


@dataclass(frozen=True, slots=True)
class StaticSource:
    """An in-memory source (tests, programmatic use): the given resources, already valid."""

    name: str
    resources: tuple[ResourceModel, ...]
    revision: str | None = None

    def load(self) -> DesiredState:
        """The resources as given."""
        return DesiredState(self.resources, self.name, self.revision)


@dataclass(frozen=True, slots=True)
class FileSource:
    """Files and directories (read recursively) given with `-f`; `-` reads standard input."""

    paths: tuple[str, ...]

    @property
    def name(self) -> str:
        """Resolved paths (see `source_name_for_paths`)."""
        return source_name_for_paths(self.paths)

    @property
    def prunes(self) -> bool:
        """False for standard input alone: a stream is a few resources (`get -o yaml | apply -f -`),
        not an inventory, so what it left out is not meant to be deleted (kubectl never prunes either)."""
        return any(path != STDIN for path in self.paths)

    def load(
        self,
        known: Callable[[DesiredState], Collection[Identity]] | None = None,
        *,
        progress: Callable[..., object] | None = None,
    ) -> DesiredState:
        """Load and validate every document, exactly as `mcpctl validate` does.

        When that finds errors and `known` is given, the same documents (stdin is read once) are
        validated again with `known(first_result)` as resources that exist outside the files.
        `progress` is called with the documents read so far, then with (validated, total).
        """
        loaded = load_documents(list(self.paths), progress=progress)
        total = len(loaded.documents)
        validated = None if progress is None else lambda done: progress(done, total)

        def validate(outside: Collection[Identity] = ()) -> DesiredState:
            found = validate_documents(loaded.documents, loaded.problems, known=outside, progress=validated)
            return self._state(found)

        state = validate()
        if not state.errors or known is None:
            return state
        return validate(known(state))

    def _state(self, result: ValidationResult) -> DesiredState:
        resources = with_builtin_templates([item.resource for item in result.resources])
        return DesiredState(resources, self.name, None, tuple(result.problems))


def store_references(
    live: Sequence[LiveResource], manager: str, *, prune: bool, prune_all: bool
) -> frozenset[Identity]:
    """The live resources desired state may refer to without holding them: all but those a plan of
    `manager` would prune when they are missing from it (a reference to them would dangle)."""
    pruned = [item for item in live if prune and (prune_all or item.managed_by == manager)]
    return frozenset(item.identity for item in live) - {item.identity for item in pruned}
