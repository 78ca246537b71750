"""One log format for every long-running command (`serve`, `reconcile`), whatever library logs.

Alembic, uvicorn and the reconciler all log through the root logger's one handler; HTTP client
libraries, which log a line per request (each health probe), are kept to warnings.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("httpx", "httpx2", "httpcore", "httpcore2", "alembic.runtime.plugins")
"""Loggers that say INFO for every request (or every plugin); shown from WARNING up unless debugging."""


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (click's test runner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str = "info") -> None:
    """Send every logger's records to stderr in LOG_FORMAT at `level` (debug, info, warning, error)."""
    root = logging.getLogger()
    # An app built without `logging_config=None` (litestar's default) puts its own handler on the root
    # logger, and every library's lines then come out twice, in two formats.
    root.handlers[:] = [h for h in root.handlers if not type(h).__module__.startswith("litestar.")]
    if not any(isinstance(handler, StderrHandler) for handler in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
