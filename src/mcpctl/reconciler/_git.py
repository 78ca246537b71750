"""Git repositories as a source of desired state: a reused cache clone, fetched on every run.

Each run checks out one exact commit into its own directory, so concurrent runs never trample each other.
Credentials in an `https://user:password@host/...` URL are handed to each git command through its
environment and never written to the cache, which only its owner can read.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import git

from mcpctl.errors import SourceError
from mcpctl.schemas import load_and_validate, mask_url, with_builtin_templates

from ._sources import DesiredState, source_name_for_repo

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
_KEEP_CHECKOUTS = 4
"""Commits kept extracted per repository; older ones are removed (a new run re-extracts cheaply)."""
_FETCH_TIMEOUT = 120.0
_USERNAME_ENV = "MCPCTL_GIT_USERNAME"
_PASSWORD_ENV = "MCPCTL_GIT_PASSWORD"
# A credential helper that answers `get` from the environment of the one git command it serves.
_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    f'"${_USERNAME_ENV}" "${_PASSWORD_ENV}"; }}; f'
)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """An http(s) URL without its userinfo, and the username and password it carried (decoded).

    Other URLs (ssh, file, local paths) come back unchanged: an ssh user name is no secret.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user), unquote(password) if has_password else None


def _credential_env(username: str | None, password: str | None) -> dict[str, str]:
    """Environment giving one git command these credentials (and no credential helper of the user's,
    so that git cannot store them either), appended to any `GIT_CONFIG_*` already set."""
    if username is None:
        return {}
    try:
        count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    return {
        "GIT_CONFIG_COUNT": str(count + 2),
        f"GIT_CONFIG_KEY_{count}": "credential.helper",
        f"GIT_CONFIG_VALUE_{count}": "",  # an empty value resets the list of helpers
        f"GIT_CONFIG_KEY_{count + 1}": "credential.helper",
        f"GIT_CONFIG_VALUE_{count + 1}": _HELPER,
        _USERNAME_ENV: username,
        _PASSWORD_ENV: password or "",
    }


def _private_dir(path: Path) -> None:
    """Create `path` (and parents) and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def default_cache_dir() -> Path:
    """Where repositories are cached: `$MCPCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/mcpctl/repos`."""
    explicit = os.environ.get("MCPCTL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcpctl" / "repos"


def is_local_path(url: str) -> bool:
    """True when `url` names a directory on this machine rather than a URL git fetches."""
    return "://" not in url and not re.match(r"^[^/\\]+@[^:]+:", url)


def canonical_url(url: str) -> str:
    """The spelling used for caching and for the manager name: local paths made absolute."""
    if is_local_path(url):
        return str(Path(url).expanduser().resolve())
    return url


@dataclass(frozen=True, slots=True)
class Checkout:
    """One commit of a repository extracted into a directory of its own."""

    directory: Path
    """Root of the extracted tree (read-only by convention; shared by runs of the same commit)."""
    revision: str
    """Full SHA of the commit."""


class GitRepository:
    """A cached bare clone of one repository; `fetch` then `checkout(ref)` gives an exact commit's tree."""

    def __init__(self, url: str, *, cache_dir: Path | None = None) -> None:
        self.url = canonical_url(url)
        self.display_url = mask_url(self.url)
        self.remote_url, username, password = split_credentials(self.url)
        self._credentials: Mapping[str, str] = _credential_env(username, password)
        self._default_root = cache_dir is None
        self.root = cache_dir if cache_dir is not None else default_cache_dir()
        # The key hashes the URL without credentials: a new password reuses the cache.
        self.path = self.root / hashlib.sha1(self.remote_url.encode()).hexdigest()
        self._lock_path = self.path.with_suffix(".lock")
        # Caches of older versions were keyed by the URL with its credentials, which their config
        # kept in clear: such a cache is removed rather than reused.
        self._legacy_path = self.root / hashlib.sha1(self.url.encode()).hexdigest()

    def _prepare_root(self) -> None:
        if self._default_root:
            _private_dir(self.root)  # our own directory: nobody else's business what is fetched
        else:
            self.root.mkdir(parents=True, exist_ok=True)
        if self._legacy_path != self.path and self._legacy_path.exists():
            shutil.rmtree(self._legacy_path, ignore_errors=True)
            shutil.rmtree(self.root / "checkouts" / self._legacy_path.name, ignore_errors=True)
            self._legacy_path.with_suffix(".lock").unlink(missing_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two processes fetching into one cache at once make git fail on ref locks; take turns.
        self._prepare_root()
        fd = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _repo(self) -> git.Repo:
        if not (self.path / "HEAD").exists():
            _private_dir(self.path)
            # core.sharedRepository=0600: git creates every file owner-only, directories 0700.
            repo = git.Repo.init(self.path, bare=True, shared="0600")
            with repo.config_writer() as config:
                config.set_value('remote "origin"', "url", self.remote_url)
            return repo
        repo = git.Repo(self.path)
        os.chmod(self.path, 0o700)
        with repo.config_reader() as config:
            stored = config.get_value('remote "origin"', "url", default="")
        if stored != self.remote_url:
            with repo.config_writer() as config:
                config.set_value('remote "origin"', "url", self.remote_url)
        return repo

    def _error(self, action: str, error: Exception) -> SourceError:
        reason = str(error.stderr if isinstance(error, git.GitCommandError) else error).strip()
        reason = " ".join(line.strip() for line in reason.splitlines() if line.strip())
        reason = reason.removeprefix("stderr:").strip().strip("'").strip()
        return SourceError(mask_url(f"{action} {self.display_url}: {reason or type(error).__name__}"))

    def fetch(self) -> None:
        """Bring the cache up to date: branches and tags mirrored, force-pushes and deletions included."""
        with self._locked():
            repo = self._repo()
            env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}
            env.update(self._credentials)
            if "GIT_SSH_COMMAND" not in os.environ:
                # An unattended reconciler must fail, not hang, on a passphrase or host-key prompt.
                env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
            try:
                repo.git.fetch(
                    "--prune",
                    "--prune-tags",
                    "--force",
                    "--no-write-fetch-head",
                    "origin",
                    "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*",
                    env=env,
                    kill_after_timeout=_FETCH_TIMEOUT,
                )
                # The remote's default branch, for runs without --ref; an empty remote has none.
                try:
                    repo.git.fetch(
                        "--no-write-fetch-head",
                        "origin",
                        "+HEAD:refs/mcpctl/remote-head",
                        env=env,
                        kill_after_timeout=_FETCH_TIMEOUT,
                    )
                except git.GitCommandError:
                    repo.git.update_ref("-d", "refs/mcpctl/remote-head")
            except (git.GitCommandError, OSError) as error:
                raise self._error("cannot fetch", error) from None

    def resolve(self, ref: str | None = None) -> str:
        """The full SHA `ref` (a branch, tag or commit; the remote's HEAD when None) names in the cache."""
        repo = self._repo()
        if ref is None:
            candidates = ["refs/mcpctl/remote-head"]
        elif _FULL_SHA.match(ref) or _SHORT_SHA.match(ref):
            candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}", ref]
        else:
            candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        for candidate in candidates:
            try:
                sha = str(repo.git.rev_parse("--verify", "--quiet", f"{candidate}^{{commit}}"))
            except git.GitCommandError:
                continue
            if candidate == ref and not self._reachable(repo, sha):
                raise SourceError(
                    f"commit {ref} is on no branch or tag of {self.display_url} (history rewritten?)"
                )
            return sha
        if ref is None:
            raise SourceError(f"{self.display_url} has no default branch (empty repository?)")
        if _FULL_SHA.match(ref) or _SHORT_SHA.match(ref):
            raise SourceError(f"commit {ref} not found in {self.display_url}")
        raise SourceError(f"branch or tag {ref!r} not found in {self.display_url} (deleted?)")

    @staticmethod
    def _reachable(repo: git.Repo, sha: str) -> bool:
        # A commit dropped by a force-push lingers in the object store until gc; do not serve it.
        output = repo.git.for_each_ref("--contains", sha, "--count=1", "refs/heads", "refs/tags")
        return bool(str(output).strip())

    def is_ancestor(self, older: str, newer: str) -> bool:
        """True when `older` is in the history of `newer` (False after a force-push rewrote it)."""
        try:
            self._repo().git.merge_base("--is-ancestor", older, newer)
        except git.GitCommandError:
            return False
        return True

    def checkout(self, revision: str) -> Checkout:
        """The tree of commit `revision` extracted into its own directory (reused when already there)."""
        target = self.path.parent / "checkouts" / self.path.name / revision
        if target.is_dir():
            os.utime(target)
            return Checkout(target, revision)
        _private_dir(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{revision[:12]}-", dir=target.parent))
        try:
            archive = staging / ".archive.tar"
            with archive.open("wb") as stream:
                self._repo().archive(stream, revision, format="tar")
            tree = staging / "tree"
            with tarfile.open(archive) as tar:
                tar.extractall(tree, filter="data")
            archive.unlink()
            try:
                tree.rename(target)
            except OSError:
                # Another run extracted the same commit first; its copy is identical.
                if not target.is_dir():
                    raise
        except (git.GitCommandError, OSError, tarfile.TarError) as error:
            raise self._error(f"cannot check out {revision[:12]} of", error) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._prune_checkouts(target.parent, keep=target)
        return Checkout(target, revision)

    @staticmethod
    def _prune_checkouts(directory: Path, keep: Path) -> None:
        entries = [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[_KEEP_CHECKOUTS:]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)


def subpath(checkout: Checkout, path: str | None) -> Path:
    """The directory `path` (relative, inside the repository) names in a checkout."""
    if not path:
        return checkout.directory
    relative = PurePosixPath(path.strip("/"))
    if relative.is_absolute() or ".." in relative.parts:
        raise SourceError(f"--path must stay inside the repository: {path}")
    found = checkout.directory.joinpath(*relative.parts)
    if not found.exists():
        raise SourceError(f"path {path!r} does not exist at commit {checkout.revision[:12]}")
    return found


def source_name(url: str, path: str | None = None) -> str:
    """The source name of a repository (masked URL, `//subpath` appended), as in `gitops:<source>`."""
    return source_name_for_repo(mask_url(canonical_url(url)), path)


def relative_problem(problem: Any, root: Path) -> Any:
    """`problem` naming its file relative to `root` (a checkout), as a path inside the repository."""
    where = getattr(problem, "path", None)
    if not dataclasses.is_dataclass(problem) or not isinstance(where, str):
        return problem
    try:
        relative = Path(where).relative_to(root).as_posix()
    except ValueError:
        return problem
    return dataclasses.replace(problem, path=relative)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class GitSource:
    """Desired state from one commit of a git repository: `--repo URL|PATH [--ref REF] [--path SUBDIR]`.

    Every `load()` fetches, resolves `ref` (the remote's default branch when None) to a commit, and
    validates that commit's tree (or its `path` folder); the commit SHA is the revision.
    """

    url: str
    ref: str | None = None
    path: str | None = None
    cache_dir: Path | None = None

    @property
    def name(self) -> str:
        """The masked repository URL plus `//subpath` (see `source_name`)."""
        return source_name(self.url, self.path)

    @property
    def repository(self) -> GitRepository:
        """The cached clone this source reads."""
        return GitRepository(self.url, cache_dir=self.cache_dir)

    def load(self) -> DesiredState:
        """Fetch, check out the commit `ref` names, and load and validate it like `mcpctl validate`."""
        return self.load_checkout(self.fetch_checkout())

    def fetch_checkout(self) -> Checkout:
        """Fetch, then check out the commit `ref` names (the part of `load` that talks to the remote)."""
        repository = self.repository
        repository.fetch()
        return repository.checkout(repository.resolve(self.ref))

    def load_checkout(
        self, checkout: Checkout, *, progress: Callable[[int], object] | None = None
    ) -> DesiredState:
        """Load and validate an already checked-out commit (the loop uses this to skip unchanged ones);
        `progress` is called with the count of documents read so far."""
        root = subpath(checkout, self.path)
        result = load_and_validate([str(root)], progress=progress)
        problems = tuple(relative_problem(p, checkout.directory) for p in result.problems)
        resources = with_builtin_templates(result.models())
        return DesiredState(resources, self.name, checkout.revision, problems)
