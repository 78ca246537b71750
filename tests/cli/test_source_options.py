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


def test_repo_gives_a_git_source_and_files_a_file_source(tmp_path: Path) -> None:
    from mcpctl.cli._source_options import source_from_options
    from mcpctl.reconciler import FileSource, GitSource

    assert isinstance(source_from_options(repo=str(tmp_path)), GitSource)
    assert source_from_options(["a.yaml"]) == FileSource(("a.yaml",))
    with pytest.raises(UsageError, match="not both"):
        source_from_options(["a.yaml"], repo=str(tmp_path))
