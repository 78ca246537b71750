"""The `mcpctl` command line: thin click commands over the library."""

from __future__ import annotations

from ._main import cli, main

__all__ = ["cli", "main"]
