"""Imports every command module so that each registers itself on the root group."""

from __future__ import annotations

from . import (
    _apply,  # noqa: F401
    _audit,  # noqa: F401
    _auth,  # noqa: F401
    _backup,  # noqa: F401
    _bridge,  # noqa: F401
    _completion,  # noqa: F401
    _config_claude,  # noqa: F401
    _console,  # noqa: F401
    _create,  # noqa: F401
    _db,  # noqa: F401
    _delete,  # noqa: F401
    _describe,  # noqa: F401
    _edit,  # noqa: F401
    _export,  # noqa: F401
    _get,  # noqa: F401
    _history,  # noqa: F401
    _plan,  # noqa: F401
    _reconcile,  # noqa: F401
    _rotate,  # noqa: F401
    _schema,  # noqa: F401
    _serve,  # noqa: F401
    _status,  # noqa: F401
    _test_mcp,  # noqa: F401
    _validate,  # noqa: F401
)
from ._help import apply_help
from ._main import cli

apply_help(cli)
