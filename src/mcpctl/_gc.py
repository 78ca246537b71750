"""Pausing Python's cyclic garbage collector while a large, acyclic data set is built.

Loading 10,000 documents allocates millions of objects that all stay alive; every generation-2 pass
walks all of them again and finds nothing to free (YAML data, nodes and models hold no cycles).
Pausing the collector for the load roughly halves its CPU time inside a big process (a test run, the
gateway); reference counting still frees everything that is dropped, and collection resumes after.

A one-shot command (`validate`, `plan`, `apply`: see `one_shot_process`) goes further and freezes what
it loaded: the first collection after the pause, and the interpreter's last one at exit, would each
walk the whole set again (~0.15 s apiece at 10,000 documents) for nothing. A long-running process must
not freeze what it builds while it runs: frozen objects are never collected, so cyclic garbage among
them would leak. The gateway freezes once, before it serves (`tune_for_server`): its modules and app.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze_after_pause = False
SERVER_THRESHOLDS = (10_000, 20, 20)
"""Collector thresholds of a server: a tools/call allocates thousands of short-lived objects, so the
default young generation (700) was collected several times per call, and each such pass walked the
survivors too. Ten thousand keeps that to about one pass per call; cycles still go within seconds."""


def one_shot_process() -> None:
    """Declare that this process ends when its command does: paused blocks then freeze what they built."""
    global _freeze_after_pause
    _freeze_after_pause = True


def in_one_shot_process() -> bool:
    """Whether `one_shot_process` was declared: the process may also fork helpers that end with it."""
    return _freeze_after_pause


def tune_for_server() -> None:
    """Before a server starts serving: freeze its startup heap (modules, app) and collect less often.

    Every full collection walked the tens of thousands of objects the imports and the app are made of,
    which live as long as the process. Frozen, they are skipped; the freeze is one-off, so what it can
    hold back from collection is bounded by the startup heap. With `SERVER_THRESHOLDS` the gateway
    spent about 0.3 to 0.6 ms less CPU per tools/call (benchmarks/gateway_bench.py --upstream memory).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_THRESHOLDS)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore it as it was (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_after_pause:
            gc.freeze()
        if was_enabled:
            gc.enable()
