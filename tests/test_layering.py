"""Dependencies flow one way (docs/architecture.md).

cli → reconciler, inventory, gateway; reconciler → plan, store; inventory → plan; plan → policy
→ schemas → errors (and _gc, the collector pause); store → schemas.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = {
    "mcpctl.schemas": (
        "mcpctl.store",
        "mcpctl.plan",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.policy",
        "mcpctl.llm",
    ),
    "mcpctl.policy": (
        "mcpctl.store",
        "mcpctl.plan",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.llm",
    ),
    "mcpctl.plan": (
        "mcpctl.store",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.llm",
    ),
    "mcpctl.inventory": ("mcpctl.store", "mcpctl.reconciler", "mcpctl.gateway", "mcpctl.cli", "mcpctl.llm"),
    "mcpctl.store": (
        "mcpctl.plan",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.llm",
    ),
    "mcpctl.reconciler": ("mcpctl.inventory", "mcpctl.gateway", "mcpctl.cli", "mcpctl.llm"),
    "mcpctl.gateway": ("mcpctl.plan", "mcpctl.inventory", "mcpctl.reconciler", "mcpctl.cli"),
    "mcpctl.llm": (
        "mcpctl.store",
        "mcpctl.plan",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.policy",
    ),
    "mcpctl.content": (
        "mcpctl.schemas",
        "mcpctl.policy",
        "mcpctl.store",
        "mcpctl.plan",
        "mcpctl.inventory",
        "mcpctl.reconciler",
        "mcpctl.gateway",
        "mcpctl.cli",
        "mcpctl.llm",
    ),
}


_NO_EDGES = ("sqlalchemy", "git", "httpx", "litestar", "mcp", "uvicorn", "alembic", "redis")
PURE = {
    "mcpctl.policy": _NO_EDGES,
    "mcpctl.plan": (*_NO_EDGES, "psycopg", "httpx2", "watchdog"),
    "mcpctl.inventory": (*_NO_EDGES, "psycopg", "httpx2", "watchdog"),
    "mcpctl.content": (*_NO_EDGES, "mcp_types", "pydantic"),
}
"""Pure packages and the third-party libraries (top-level names) they must never load."""
_BASE = ("mcpctl.schemas", "mcpctl.errors", "mcpctl._gc")
PURE_USES = {
    "mcpctl.policy": _BASE,
    "mcpctl.plan": ("mcpctl.policy", *_BASE),
    "mcpctl.inventory": ("mcpctl.plan", "mcpctl.policy", *_BASE),
    "mcpctl.content": ("mcpctl.errors",),
}
"""The only packages of ours a pure package may load besides itself."""


def loaded_modules(package: str) -> list[str]:
    """Every module loaded by importing all of `package` (lazy exports included) in a fresh interpreter."""
    script = (
        "import importlib, pkgutil, sys\n"
        f"package = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    if '.migrations' not in info.name:\n"
        "        importlib.import_module(info.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_lies_below_it(package: str) -> None:
    wrong = [name for name in loaded_modules(package) if name.startswith(FORBIDDEN[package])]
    assert not wrong, f"{package} imports {wrong}"


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_package_loads_no_sql_git_or_http(package: str) -> None:
    loaded = loaded_modules(package)
    wrong = sorted({name.split(".")[0] for name in loaded} & set(PURE[package]))
    assert not wrong, f"{package} loads {wrong}"
    allowed = (package, *PURE_USES[package])
    ours = [n for n in loaded if n.startswith("mcpctl.") and not n.startswith(allowed)]
    assert not ours, f"{package} loads {ours}"
