"""Fixtures of the LLM tests: the stand-in OpenAI server (error paths only) and the anyio backend.

The real vLLM server (`vllm` fixture) is shared by the whole test session; see tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .standin import StandIn, serve_standin


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A stand-in OpenAI-compatible server on a free port."""
    with serve_standin() as running:
        yield running
