"""mcpctl: a declarative, GitOps-driven manager and gateway for Model Context Protocol servers."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
