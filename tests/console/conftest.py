"""Console tests run Textual's Pilot on asyncio, over an audit trail a real gateway run wrote.

- `trail` -- one run per module (console_harness.record_trail), for tests that only read it;
- `fresh_trail` -- a run of the test's own, for tests that add to it (follow mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .console_harness import Trail, record_trail


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    folder = tmp_path_factory.mktemp("trail")
    with record_trail(f"sqlite:///{folder / 'mcpctl.db'}") as recorded:
        yield recorded


@pytest.fixture
def fresh_trail(tmp_path: str) -> Iterator[Trail]:
    with record_trail(f"sqlite:///{tmp_path}/mcpctl.db") as recorded:
        yield recorded
