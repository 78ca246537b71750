"""`--repo URL|PATH [--ref REF] [--path SUBDIR]` for every command that reads desired state.

`@source_options` adds the flags; `source_from_options(...)` turns them (or `-f` paths) into a `Source`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mcpctl._gc import paused_gc
from mcpctl.errors import UsageError

from ._progress import progress

if TYPE_CHECKING:
    from mcpctl.reconciler import Source
    from mcpctl.schemas import Limits, ValidationResult

# GitSource and its helpers are imported where used: GitPython costs ~0.15 s to import (its regexes),
# which `plan -f` and `validate PATH` need not pay.

F = TypeVar("F", bound=Callable[..., Any])


def source_options(command: F) -> F:
    """Add `--repo`, `--ref` and `--path` (passed as `repo`, `ref`, `path`)."""
    command = click.option(
        "--path",
        "path",
        metavar="SUBDIR",
        default=None,
        help="With --repo: use only this folder of the repository.",
    )(command)
    command = click.option(
        "--ref",
        "ref",
        metavar="REF",
        default=None,
        help="With --repo: branch, tag or commit SHA (default: the remote's default branch).",
    )(command)
    command = click.option(
        "--repo",
        "repo",
        metavar="URL|PATH",
        default=None,
        help="Git repository holding the desired state (local path, file://, https://, ssh); "
        "credentials come from git's own configuration.",
    )(command)
    return command


def source_from_options(
    filenames: Sequence[str] = (), repo: str | None = None, ref: str | None = None, path: str | None = None
) -> Source:
    """The source the flags name: `GitSource` for `--repo`, `FileSource` for `-f`; else UsageError."""
    with paused_gc():  # loads the models and the store: not for `--help`; paused: see LazyGroup
        from mcpctl.reconciler import FileSource

    if repo is not None:
        if filenames:
            raise UsageError("give either -f PATH or --repo URL, not both")
        from mcpctl.reconciler import GitSource

        return GitSource(repo, ref=ref, path=path)
    if ref is not None or path is not None:
        raise UsageError("--ref and --path need --repo")
    if not filenames:
        raise UsageError("no desired state given: pass -f PATH (a file, a directory or -) or --repo URL")
    return FileSource(tuple(filenames))


def validate_repository(
    repo: str,
    ref: str | None = None,
    path: str | None = None,
    *,
    limits: Limits | None = None,
    show_progress: bool = True,
) -> ValidationResult:
    """`load_and_validate` of one commit of a repository; problems name files inside the repository.
    `show_progress`: a progress line on a terminal's stderr while it is fetched and validated."""
    from mcpctl.reconciler import GitSource, relative_problem, subpath
    from mcpctl.schemas import load_and_validate

    source = GitSource(repo, ref=ref, path=path)
    with progress(f"Fetching {source.name}", enabled=show_progress, timer=True):
        checkout = source.fetch_checkout()
    with progress("Validating documents", enabled=show_progress) as tick:
        result = load_and_validate([str(subpath(checkout, path))], limits=limits, progress=tick)
    result.problems = [relative_problem(p, checkout.directory) for p in result.problems]
    return result
