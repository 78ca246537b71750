"""Fixtures of the reconciler tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._remote import Remote


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """An empty origin repository with a working clone on `main`."""
    return Remote(tmp_path / "remote")
