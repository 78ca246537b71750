"""A bare git 'origin' and a working clone that commits and pushes to it, like a developer would."""

from __future__ import annotations

from pathlib import Path

import git


class Remote:
    """`bare` is the repository a source reads; `work` the clone that changes it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        git.Repo.init(self.bare, bare=True, initial_branch="main")
        self.work = git.Repo.clone_from(str(self.bare), root / "work")
        with self.work.config_writer() as config:
            config.set_value("user", "name", "Test")
            config.set_value("user", "email", "test@example.com")
        self.work.git.checkout("-b", "main")

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, for None, remove) `files` and commit them on the current branch; the new SHA."""
        for name, text in files.items():
            path = Path(self.work.working_dir) / name
            if text is None:
                self.work.index.remove([name], working_tree=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.work.index.add([name])
        return self.work.index.commit(message).hexsha

    def push(self, *refs: str, force: bool = False) -> None:
        self.work.git.push(*(["--force"] if force else []), "origin", *refs)

    def publish(self, files: dict[str, str | None], message: str = "change") -> str:
        """Commit `files` and push `main`; the new SHA."""
        sha = self.commit(files, message)
        self.push("main")
        return sha
