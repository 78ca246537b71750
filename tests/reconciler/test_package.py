"""The package's lazily loaded names: each is exported and resolves to its module's object."""

from __future__ import annotations

import json
import subprocess
import sys


def test_lazily_loaded_names_are_exported_and_resolve() -> None:
    import mcpctl.reconciler as package

    lazy = package._LAZY
    assert set(lazy) <= set(package.__all__)
    for name, module in lazy.items():
        assert getattr(package, name).__module__ == f"mcpctl.reconciler{module}"


def test_importing_the_package_loads_no_git_or_watchdog() -> None:
    code = "import sys, json, mcpctl.reconciler\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert "mcpctl" in loaded  # the probe does see imports
    assert not loaded & {"git", "watchdog", "sqlalchemy"}, loaded & {"git", "watchdog", "sqlalchemy"}
