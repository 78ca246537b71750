"""Dependencies flow one way (DESIGN §2): cli → reconciler, gateway → store → schemas; llm for the gateway."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = {
    "mcpctl.schemas": ("mcpctl.store", "mcpctl.reconciler", "mcpctl.gateway", "mcpctl.cli", "mcpctl.llm"),
    "mcpctl.store": ("mcpctl.reconciler", "mcpctl.gateway", "mcpctl.cli", "mcpctl.llm"),
    "mcpctl.reconciler": ("mcpctl.gateway", "mcpctl.cli", "mcpctl.llm"),
    "mcpctl.gateway": ("mcpctl.reconciler", "mcpctl.cli"),
    "mcpctl.llm": ("mcpctl.store", "mcpctl.reconciler", "mcpctl.gateway", "mcpctl.cli"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_lies_below_it(package: str) -> None:
    # Import every module of the package (lazy exports included) in a fresh interpreter.
    script = (
        "import importlib, pkgutil, sys\n"
        f"package = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    if '.migrations' not in info.name:\n"
        "        importlib.import_module(info.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    wrong = [name for name in loaded if name.startswith(FORBIDDEN[package])]
    assert not wrong, f"{package} imports {wrong}"
