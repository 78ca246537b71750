"""Resolves the secret and environment references in server env/headers to their values at start time.

Values come from a secrets directory laid out as Kubernetes mounts them (`DIR/name/key`) or from env vars.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from mcpctl.errors import MissingSecret
from mcpctl.schemas import FromEnv, SecretRef

SECRETS_DIR_VARIABLE = "MCPCTL_SECRETS_DIR"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def secret_env_name(name: str, key: str) -> str:
    """The environment variable a `secretRef {name, key}` falls back to: `NAME_KEY`, non-alnum as `_`."""
    return _NOT_ALNUM.sub("_", f"{name}_{key}").upper()


class SecretResolver:
    """Turns a `ValueSource` (literal, `secretRef`, `fromEnv`) into the string an upstream receives.

    `secretRef {name, key}` reads the file `secrets_dir/name/key` (one trailing newline stripped, as
    `kubectl create secret --from-file` and editors leave one), else the env var `NAME_KEY`;
    `fromEnv VAR` reads `VAR`. Errors name the server, field and reference, never a value.
    """

    def __init__(self, secrets_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        if secrets_dir is None:
            configured = self._environ.get(SECRETS_DIR_VARIABLE)
            secrets_dir = Path(configured) if configured else None
        self.secrets_dir = secrets_dir

    def resolve(self, server: str, field: str, value: str | SecretRef | FromEnv) -> str:
        """The value for `field` (e.g. `env.API_KEY`) of `server`; raises `MissingSecret` when absent."""
        if isinstance(value, str):
            return value
        if isinstance(value, FromEnv):
            found = self._environ.get(value.from_env)
            if found is None:
                raise MissingSecret(
                    f"server {server!r}: {field}: environment variable {value.from_env} is not set"
                )
            return found
        if isinstance(value, SecretRef):
            return self._secret(server, field, value.secret_ref.name, value.secret_ref.key)
        raise TypeError(f"not a value source: {type(value).__name__}")

    def _secret(self, server: str, field: str, name: str, key: str) -> str:
        looked: list[str] = []
        # `..` matches the key pattern; it must never walk out of the secrets directory.
        if self.secrets_dir is not None and key not in (".", ".."):
            path = self.secrets_dir / name / key
            looked.append(f"file {path}")
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                pass
            except (OSError, UnicodeDecodeError) as error:
                raise MissingSecret(
                    f"server {server!r}: {field}: secret {name}/{key} could not be read from {path}: "
                    f"{type(error).__name__}"
                ) from None
            else:
                return _strip_one_newline(text)
        variable = secret_env_name(name, key)
        looked.append(f"env {variable}")
        found = self._environ.get(variable)
        if found is not None:
            return found
        raise MissingSecret(
            f"server {server!r}: {field}: secret {name}/{key} not found ({', '.join(looked)})"
        )


def _strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text
