"""An approved prompt proposal as a git commit: the Prompt's YAML on a new branch of the config repo.

The change then goes through review and the reconciler like any other. The working copy must be clean
and the branch new; the file goes where the repo already keeps that Prompt, else to the example layout's
path; the repository must still validate for that file, or nothing is committed and the working copy is
put back as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import git

from mcpctl.errors import SourceError, UsageError, ValidationFailed
from mcpctl.schemas import Prompt, load_and_validate

from ._export import existing_documents, layout_path
from ._yamlio import (
    document_identity,
    dump_documents,
    dump_resource_yaml,
    load_documents,
    update_in_place,
    write_text_atomic,
)

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>\s*$")


@dataclass(frozen=True, slots=True)
class PromptCommit:
    """What `commit_prompt` did."""

    branch: str
    commit: str
    """The new commit's full SHA."""
    path: str
    """The file written, relative to the config directory."""
    pushed: bool = False


def parse_author(text: str) -> git.Actor:
    """`Name <email>` as a git author; UsageError otherwise."""
    match = _AUTHOR.match(text)
    if match is None:
        raise UsageError(f'--author must look like "Name <email>", not {text!r}')
    return git.Actor(match["name"], match["email"])


def _config_author(repo: git.Repo) -> git.Actor:
    reader = repo.config_reader()
    name = reader.get_value("user", "name", default="")
    email = reader.get_value("user", "email", default="")
    if not name or not email:
        raise UsageError("git has no user.name and user.email for this repository: set them or pass --author")
    return git.Actor(str(name), str(email))


def _open(directory: Path) -> git.Repo:
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{directory} is not in a git working copy") from None


def _check_branch(repo: git.Repo, branch: str) -> None:
    try:
        repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        raise UsageError(f"{branch!r} is not a valid branch name") from None
    if branch in {head.name for head in repo.heads}:
        raise UsageError(f"branch {branch} already exists in {repo.working_tree_dir}; pass another --branch")


def _write(directory: Path, prompt: Prompt) -> Path:
    """Write `prompt` where the directory keeps it (in place, other documents kept) or at its layout path."""
    found = existing_documents(directory).get(prompt.identity)
    if found is None:
        path = directory.joinpath(*layout_path(prompt).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, dump_resource_yaml(prompt))
        return path
    path = found[0]
    # A proposal says nothing of priority: the one the repo gives the prompt stays.
    spec = found[1].get("spec") if isinstance(found[1], dict) else None
    priority = spec.get("priority") if isinstance(spec, dict) else None
    if isinstance(priority, int) and 1 <= priority <= 10:
        prompt = prompt.model_copy(update={"spec": prompt.spec.model_copy(update={"priority": priority})})
    documents = load_documents(path)
    for document in documents:
        if document is not None and _same_identity(document, prompt):
            update_in_place(document, prompt.to_document())
            break
    write_text_atomic(path, dump_documents(documents))
    return path


def _same_identity(document: object, prompt: Prompt) -> bool:
    return document_identity(document) == prompt.identity


def commit_prompt(
    directory: Path,
    prompt: Prompt,
    *,
    branch: str,
    message: str,
    author: str | None = None,
    push: bool = False,
    remote: str = "origin",
) -> PromptCommit:
    """Commit `prompt` on new `branch` of the git working copy holding `directory` (the config repo root).

    The working copy is left on the new branch. UsageError when it is dirty, the branch exists or no author
    is known; ValidationFailed (nothing committed) when the written file does not validate.
    """
    directory = directory.resolve()
    repo = _open(directory)
    if repo.head.is_valid() is False:
        raise UsageError(f"{repo.working_tree_dir} has no commit yet to branch from")
    if repo.is_dirty(untracked_files=True):
        raise UsageError(
            f"the working copy {repo.working_tree_dir} has uncommitted changes; commit or stash them first"
        )
    _check_branch(repo, branch)
    actor = parse_author(author) if author is not None else _config_author(repo)
    previous = repo.active_branch.name if not repo.head.is_detached else repo.head.commit.hexsha
    repo.create_head(branch).checkout()
    try:
        path = _write(directory, prompt)
        result = load_and_validate([str(directory)])
        mine = [p for p in result.errors if Path(p.path).resolve() == path]
        if mine:
            raise ValidationFailed(mine)
        repo.index.add([str(path.relative_to(Path(str(repo.working_tree_dir)).resolve()))])
        commit = repo.index.commit(message, author=actor, committer=actor)
    except BaseException:
        # Put the working copy back as it was: no file, no branch.
        repo.git.checkout("--force", previous)
        repo.git.clean("-fd", "--", str(directory))
        repo.delete_head(branch, force=True)
        raise
    relative = path.relative_to(directory).as_posix()
    if not push:
        return PromptCommit(branch, commit.hexsha, relative)
    done = f"committed {commit.hexsha[:12]} on {branch}"
    # git's own message may carry the remote's URL and its credentials: only the status is shown.
    try:
        infos = repo.remote(remote).push(refspec=f"refs/heads/{branch}:refs/heads/{branch}")
    except ValueError:
        raise SourceError(f"{done}, but the repository has no remote {remote!r}") from None
    except git.GitCommandError as error:
        raise SourceError(f"{done}, but pushing to {remote} failed (git exit {error.status})") from None
    if any(info.flags & info.ERROR for info in infos):
        raise SourceError(f"{done}, but {remote} refused the push (run git push to see why)")
    return PromptCommit(branch, commit.hexsha, relative, pushed=True)
