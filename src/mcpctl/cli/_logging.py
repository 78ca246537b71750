"""One log format for every long-running command (`serve`, `reconcile`), whatever library logs.

Alembic, uvicorn and the reconciler all log through the root logger's one handler; HTTP client
libraries, which log a line per request (each health probe), are kept to warnings. Every line, at every
level and from every library, is redacted on its way out (`RedactingFormatter`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("httpx", "httpx2", "httpcore", "httpcore2", "alembic.runtime.plugins")
"""Loggers that say INFO for every request (or every plugin); shown from WARNING up unless debugging."""
PAYLOAD_LOGGERS = ("mcp",)
"""The MCP SDK writes whole JSON-RPC messages (tool arguments and results) at DEBUG, which no redaction can
tell from harmless text: kept at INFO whatever the level asked for."""


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then hides what looks secret in the whole text.

    Libraries log URLs with their credentials (`httpx2: HTTP Request: POST http://u:pw@host/mcp?token=...`,
    the SDK's `Connecting to ...`) and may quote headers; no call site can be trusted to mask them, so the
    one handler does: URL userinfo and key-like query values, token values, `Bearer ...`, `secret=...`.
    """

    def format(self, record: logging.LogRecord) -> str:
        from mcpctl.store import mask_text  # here, not at import: `--help` needs no store

        return mask_text(super().format(record))


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
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
