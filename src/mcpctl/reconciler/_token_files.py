"""Token files of `apply --token-output DIR`: at every moment the file holds a value the store accepts.

A new value is written beside the old file (`<file>.new`, created exclusively, mode 0600, never
through a symlink) while the transaction runs, and renamed over the old file only after the commit.
Interrupted before the commit, the old file is untouched and the `.new` file is an orphan (removed by
the next apply that writes that token); interrupted between the commit and the rename, the `.new`
file holds the live value and the next apply into DIR moves it into place. An existing file that
does not hold the current value of the token being replaced is never overwritten unless asked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from mcpctl.errors import PlanRefused
from mcpctl.plan import Action, Plan
from mcpctl.schemas import Identity, McpToken

if TYPE_CHECKING:
    from mcpctl.store import Store

PENDING_SUFFIX = ".new"
"""Suffix of a token file written but not yet moved into place."""
_MAX_TOKEN_FILE = 4096


def token_file(directory: Path, identity: Identity) -> Path:
    """`DIR/<project>.<name>.token`: where `--token-output` writes a token's value."""
    return directory / f"{identity.project}.{identity.name}.token"


def pending_file(path: Path) -> Path:
    """Where a token file's next value waits for the commit (`<file>.new`)."""
    return path.with_name(path.name + PENDING_SUFFIX)


def _read_value(path: Path) -> str | None:
    """The token value a regular file holds, or None (missing, a symlink, not a file, unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        raw = handle.read(_MAX_TOKEN_FILE)
    try:
        return raw.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        return None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TokenFiles:
    """The token files one apply writes into `directory`; see the module docstring for the protocol."""

    def __init__(self, directory: Path, store: Store, *, overwrite: bool = False) -> None:
        self.directory = directory
        self.store = store
        self.overwrite = overwrite
        self._staged: list[tuple[Path, Path]] = []
        self.recovered: list[Path] = []
        """Token files moved into place from a `.new` file an interrupted apply left behind."""

    def _identity_of(self, path: Path) -> Identity | None:
        """The token whose live value the file holds, or None."""
        from mcpctl.store import hash_token  # SQLAlchemy is loaded only when tokens are written

        value = _read_value(path)
        record = self.store.find_token(hash_token(value)) if value else None
        return Identity("McpToken", record.project, record.name) if record is not None else None

    def recover(self) -> None:
        """Move into place every `.new` file holding the live value of the token its name says."""
        if not self.directory.is_dir():
            return
        for pending in sorted(self.directory.glob(f"*.token{PENDING_SUFFIX}")):
            identity = self._identity_of(pending)
            if identity is not None and pending_file(token_file(self.directory, identity)) == pending:
                os.replace(pending, token_file(self.directory, identity))
                self.recovered.append(token_file(self.directory, identity))

    def prepare(self, plan: Plan) -> None:
        """Refuse (before anything is applied) to clobber a file that is not this token's old copy."""
        self.recover()
        refused = []
        for change in plan.changes:
            if not isinstance(change.after, McpToken) or change.action not in (Action.CREATE, Action.REPLACE):
                continue
            path = token_file(self.directory, change.identity)
            pending = pending_file(path)
            if os.path.lexists(pending):
                pending.unlink()  # an orphan of an apply that never committed (recover kept live ones)
            if not os.path.lexists(path) or self.overwrite:
                continue
            if change.action is Action.REPLACE and self._identity_of(path) == change.identity:
                continue  # the old value of the very token being replaced
            refused.append(str(path))
        if refused:
            raise PlanRefused(
                f"token file(s) already exist and hold no current value of their token in this store: "
                f"{', '.join(refused)}; nothing was applied. Move them away, give another --token-output "
                "DIR, or pass --overwrite-tokens to replace them"
            )

    def stage(self, identity: Identity, value: str) -> Path:
        """Write `value` to the token's `.new` file; returns the path it will have after `commit`."""
        path = token_file(self.directory, identity)
        pending = pending_file(path)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL with O_NOFOLLOW: never write through a symlink or into a file someone else opened.
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self._staged.append((pending, path))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return path

    def commit(self) -> None:
        """Move every staged value into place (call once the store transaction has committed)."""
        for pending, path in self._staged:
            os.replace(pending, path)
        if self._staged:
            _fsync_directory(self.directory)
        self._staged.clear()

    def discard(self) -> None:
        """Remove the staged values (the transaction failed: the store never accepted them)."""
        for pending, _path in self._staged:
            pending.unlink(missing_ok=True)
        self._staged.clear()
