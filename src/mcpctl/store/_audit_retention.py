"""Audit retention: delete events older than a kept duration, in short batches, now or in the background.

Each batch is its own transaction on the `ts` index, so writers (the audit writer, applies) wait at most
one batch; a pause between batches lets them in.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mcpctl.errors import StoreError

if TYPE_CHECKING:
    from ._store import Store

PRUNE_BATCH = 5000
"""Events deleted per transaction."""

_log = logging.getLogger("mcpctl.audit")


def prune_audit(
    store: Store,
    keep: timedelta,
    *,
    now: datetime | None = None,
    batch_size: int = PRUNE_BATCH,
    pause: float = 0.05,
    stop: threading.Event | None = None,
) -> int:
    """Delete the audit events older than `keep` before `now`, `batch_size` per transaction, pausing
    `pause` s between batches; stops early when `stop` is set. Returns how many were deleted."""
    if keep <= timedelta(0):
        raise ValueError("the retention must be longer than zero")
    before = (now or datetime.now(UTC)) - keep
    stopping = stop or threading.Event()
    total = 0
    while True:
        deleted = store.delete_audit_before(before, limit=batch_size)
        total += deleted
        if deleted < batch_size or stopping.wait(pause):
            return total


class AuditRetention:
    """Prunes the audit trail to `keep` on a background thread: once at `start()`, then every `interval` s.

    What `mcpctl serve --audit-retention 30d` runs; store errors are logged and tried again next time.
    """

    def __init__(
        self, store: Store, keep: timedelta, *, interval: float = 3600.0, batch_size: int = PRUNE_BATCH
    ) -> None:
        if keep <= timedelta(0) or interval <= 0:
            raise ValueError("the retention and the interval must be longer than zero")
        self.keep = keep
        self.interval = interval
        self.pruned = 0
        """Events deleted since start."""
        self.failures = 0
        """Passes that failed with a store error."""
        self._store = store
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pruning pass now (on the caller's thread); returns how many events it deleted."""
        try:
            deleted = prune_audit(self._store, self.keep, batch_size=self._batch_size, stop=self._stop)
        except StoreError as error:
            self.failures += 1
            _log.warning("audit retention: pruning failed: %s", error.detail)
            return 0
        self.pruned += deleted
        if deleted:
            _log.info("audit retention: deleted %d event(s) older than %s", deleted, self.keep)
        return deleted

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mcpctl-audit-retention", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current batch and wait up to `timeout` s for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)
