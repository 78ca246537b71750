"""`-f` and `--repo` sources: GitPython is loaded only for `--repo`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcpctl.errors import UsageError


def test_commands_reading_files_load_no_git() -> None:
    code = (
        "import sys, json\n"
        "import mcpctl.cli._plan, mcpctl.cli._validate, mcpctl.cli._apply\n"
        "from mcpctl.cli._source_options import source_from_options\n"
        "source_from_options(['x.yaml'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert "click" in loaded  # the probe does see imports
    assert "git" not in loaded


PROBE = """
import json, sys
from mcpctl.cli import main
try:
    main()
except SystemExit as done:
    code = done.code
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""

EXAMPLES = Path(__file__).parents[2] / "examples" / "config-repo"


@pytest.mark.parametrize("command", ["plan", "diff", "validate"])
def test_running_a_command_on_files_loads_only_what_it_uses(command: str, tmp_path: Path) -> None:
    # Not only the option parsing: the whole command, store included (`plan -f` once imported git,
    # and the store's tables were ORM classes, though every statement is Core).
    args = [command, str(EXAMPLES)] if command == "validate" else [command, "-f", str(EXAMPLES)]
    if command != "validate":
        url = f"sqlite:///{tmp_path}/store.db"
        args += ["--database-url", url]
        # An existing store (a missing one is planned against a migrated in-memory one).
        apply = ["apply", "-f", str(EXAMPLES), "--yes", "--database-url", url, "--token-output", "t"]
        subprocess.run([sys.executable, "-c", PROBE, *apply], cwd=tmp_path, capture_output=True, check=True)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    code, loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert code in (0, 1, None), done.stderr  # diff exits 1 when there are differences
    assert "pydantic" in loaded  # the command did run
    assert "git" not in loaded
    assert "sqlalchemy.orm" not in loaded
    if command != "validate":
        assert "mcpctl.store" in loaded
        # A SQLite store needs neither the PostgreSQL dialect nor the change feed's anyio.
        assert "sqlalchemy.dialects.postgresql" not in loaded
        assert "anyio" not in loaded


def test_repo_gives_a_git_source_and_files_a_file_source(tmp_path: Path) -> None:
    from mcpctl.cli._source_options import source_from_options
    from mcpctl.reconciler import FileSource, GitSource

    assert isinstance(source_from_options(repo=str(tmp_path)), GitSource)
    assert source_from_options(["a.yaml"]) == FileSource(("a.yaml",))
    with pytest.raises(UsageError, match="not both"):
        source_from_options(["a.yaml"], repo=str(tmp_path))
