"""The stdio upstream transport: the server as a subprocess with a minimal environment, over its pipes."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from typing import TextIO

from mcp import StdioServerParameters, stdio_client
from mcp.client import Transport

from mcpctl.errors import InvalidUpstreamSpec, UpstreamUnavailable
from mcpctl.schemas import ServerSpec

from ._secrets import SecretResolver

INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
)
"""Variables a stdio server inherits from the gateway; everything else must be in its spec's `env`."""


def resolve_command(command: str, cwd: str | None = None, path: str | None = None) -> str | None:
    """The executable a stdio `command` names, or None: PATH plus the running interpreter's bin directory.

    A relative path with a slash (`node_modules/.bin/x`) is taken relative to `cwd`, then the gateway's
    working directory. The interpreter's directory is searched so servers installed in the gateway's
    venv are found even when that venv is not activated.
    """
    if os.path.isabs(command):
        return command if _is_executable(command) else None
    if os.sep in command:
        for base in (cwd, os.getcwd()):
            if base is not None and _is_executable(candidate := os.path.abspath(os.path.join(base, command))):
                return candidate
        return None
    search = os.pathsep.join(p for p in (path or os.environ.get("PATH", ""), _interpreter_bin()) if p)
    return shutil.which(command, path=search)


def _interpreter_bin() -> str:
    # Not resolved through symlinks: a venv's bin/python links to the base interpreter.
    return os.path.dirname(sys.executable)


def _errlog() -> TextIO:
    # Upstream stderr goes where the gateway's goes, unless something (a test runner) swapped in a
    # stream without a file descriptor, which a subprocess cannot write to.
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr
    return sys.stderr


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def stdio_transport(name: str, spec: ServerSpec, secrets: SecretResolver) -> Callable[[], Transport]:
    """Opens the server's process; secrets are resolved and the command found now, so errors come early."""
    if not spec.command:
        raise InvalidUpstreamSpec(f"upstream {name!r}: transport stdio needs a command")
    env = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    env.update({key: secrets.resolve(name, f"env.{key}", value) for key, value in spec.env.items()})
    command = resolve_command(spec.command, spec.cwd, env.get("PATH"))
    if command is None:
        raise UpstreamUnavailable(f"upstream {name!r}: command not found: {spec.command}")
    if spec.cwd is not None and not os.path.isdir(spec.cwd):
        raise UpstreamUnavailable(f"upstream {name!r}: working directory does not exist: {spec.cwd}")
    params = StdioServerParameters(command=command, args=list(spec.args), env=env, cwd=spec.cwd)
    return lambda: stdio_client(params, errlog=_errlog())
