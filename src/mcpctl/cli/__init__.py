"""The `mcpctl` command line: thin click commands over the library."""

from __future__ import annotations

from . import _commands  # noqa: F401  (registers every command on `cli`)
from ._main import cli, main

__all__ = ["cli", "main"]
