"""A progress line for long work, shown only on a terminal's stderr, that updates in place and then vanishes.

Never on a pipe or file (logs and CI output stay clean), never on stdout (what scripts read), and off
for machine-readable output: the caller passes `enabled=False` for `-o json`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Tick = Callable[..., None]
"""`tick(done)` or `tick(done, total)`: how far the work is."""


def _ignore(*_: int) -> None:
    pass


@contextmanager
def progress(label: str, *, enabled: bool = True, timer: bool = False) -> Iterator[Tick]:
    """A `tick` for the work inside the block; on a terminal stderr, a transient rich progress line.

    By default the line is redrawn on ticks only and no thread runs, so a big load on a terminal may
    still fork its parsing helper (`schemas/_forked.py` needs one thread). `timer=True` redraws it from
    rich's refresh thread too, so its elapsed time moves between ticks: for work that ticks seldom or
    never (a git fetch, the writes of an apply), which forks nothing.
    """
    if not enabled or not sys.stderr.isatty():
        yield _ignore
        return
    from rich.console import Console  # a terminal only: pipes never pay for rich
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    running = set(threading.enumerate())
    # No stdout redirection: output printed meanwhile must stay on stdout, not be drawn on stderr.
    with Progress(
        *columns,
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        auto_refresh=timer,
    ) as bar:
        task = bar.add_task(label, total=None)
        refresher = set(threading.enumerate()) - running  # rich's refresh thread, if it runs one

        shown = [0.0]

        def tick(done: int, total: int | None = None) -> None:
            # At most 20 redraws a second: validation ticks per document, thousands a second.
            now = time.monotonic()
            if now - shown[0] >= 0.05 or done == total:
                shown[0] = now
                bar.update(task, completed=done, total=total, refresh=not timer)

        yield tick
    # rich signals its refresh thread to stop but does not wait for it: wait here, so the work that
    # follows (a load after a fetch) runs with one thread and may fork.
    for thread in refresher:
        thread.join(timeout=5)
