"""Each subpackage's public face is its curated `__all__`: every name exists and none is private."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import mcpctl

SUBPACKAGES = sorted(info.name for info in pkgutil.iter_modules(mcpctl.__path__, "mcpctl.") if info.ispkg)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_all_names_exist_and_are_public(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for member in exported:
        assert not member.startswith("_"), f"{name} exports private name {member}"
        assert hasattr(module, member), f"{name}.__all__ names missing {member}"


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_public_objects_do_not_come_from_outside(name: str) -> None:
    module = importlib.import_module(name)
    for member in getattr(module, "__all__", []):
        origin = getattr(getattr(module, member), "__module__", None)
        if isinstance(origin, str) and origin.startswith("mcpctl"):
            assert origin.startswith(name) or origin == "mcpctl.errors", f"{name}.{member} is {origin}'s"
