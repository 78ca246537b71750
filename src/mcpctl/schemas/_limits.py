"""Limits on what one run reads: documents and problems, with settings from flags or the environment.

A config repo never comes near them; they stop a hostile or broken input (a million tiny documents)
from taking gigabytes and minutes before anyone sees an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mcpctl.errors import UsageError

MAX_DOCUMENTS_ENV = "MCPCTL_MAX_DOCUMENTS"
"""Environment variable raising (or lowering) `Limits.max_documents`."""
MAX_PROBLEMS_ENV = "MCPCTL_MAX_PROBLEMS"
"""Environment variable raising (or lowering) `Limits.max_problems`."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one load-and-validate run takes before it stops with a clear error."""

    max_documents: int = 100_000
    """Documents read per run (every file and stdin together); more is an error and reading stops."""
    max_problems: int = 1_000
    """Problems kept per run. One error more stops validation (later documents are not checked);
    further warnings are only counted."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: int | None) -> Limits:
        """Limits from the flags `given` (None: not given), else the environment, else the defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, variable in (("max_documents", MAX_DOCUMENTS_ENV), ("max_problems", MAX_PROBLEMS_ENV)):
            value = given.get(name)
            if value is None and env.get(variable):
                try:
                    value = int(env[variable])
                except ValueError:
                    raise UsageError(f"{variable} must be a whole number, not {env[variable]!r}") from None
            if value is not None:
                if value < 1:
                    raise UsageError(f"{name.replace('_', '-')} must be at least 1, not {value}")
                values[name] = value
        return cls(**values)
