"""The audit writer: request handlers append events to a bounded queue; one thread writes them in batches.

`submit` never touches the database, so it is safe on the gateway's event loop and in sync code alike;
the thread writes when BATCH_SIZE events are queued or the oldest has waited MAX_DELAY seconds.
A full queue drops its oldest event (counted in `stats.dropped`); a failed write is retried with
backoff and never stops the thread; `flush()` and `close()` write what is queued.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import DataError, IntegrityError

from mcpctl.errors import StoreError

from ._audit_event import AuditEvent

if TYPE_CHECKING:
    from ._store import Store

CAPACITY = 10_000
"""Events the queue holds before it drops the oldest."""
BATCH_SIZE = 500
"""Most events written in one statement."""
MAX_DELAY = 1.0
"""Longest an event waits in the queue before its batch is written (seconds)."""

_log = logging.getLogger("mcpctl.audit")


@dataclass(frozen=True, slots=True)
class AuditWriterStats:
    """Counters of one writer since it started."""

    submitted: int
    """Events handed to `submit`."""
    written: int
    """Events stored."""
    dropped: int
    """Events that will never be stored: the oldest when the queue was full, events the store refused
    as malformed, events still queued when `close()` gave up, events submitted after `close()`."""
    write_errors: int
    """Failed write attempts (each retried with backoff)."""
    pending: int
    """Events queued or being written now."""


class AuditWriter:
    """One background thread that stores audit events in batches; `close()` it when done.

    Thread-safe. A thread (not an asyncio task) because the store is synchronous SQLAlchemy and the
    same writer serves the async gateway and the sync CLI and reconciler: `submit` is a lock and a
    deque append, and the only blocking I/O happens on the writer's own thread.
    """

    def __init__(
        self,
        store: Store,
        *,
        capacity: int = CAPACITY,
        batch_size: int = BATCH_SIZE,
        max_delay: float = MAX_DELAY,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        if not 1 <= batch_size <= capacity:
            raise ValueError("the batch size must be between 1 and the capacity")
        if max_delay <= 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("delays must be positive (and retry_max at least retry_initial)")
        self._store = store
        self._capacity = capacity
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, AuditEvent]] = deque()
        self._inflight: list[tuple[int, AuditEvent]] = []
        self._touches: dict[str, datetime] = {}
        self._next_seq = 0
        self._waiting_since: float | None = None
        self._flushes = 0
        self._closing = False
        self._deadline = 0.0
        self._written = 0
        self._dropped = 0
        self._write_errors = 0
        self._thread = threading.Thread(target=self._run, name="mcpctl-audit-writer", daemon=True)
        self._thread.start()
        # A process that exits normally without close() still writes what is queued.
        atexit.register(self.close)

    def submit(self, event: AuditEvent) -> None:
        """Queue an event for writing; returns at once (drops the oldest queued event when full)."""
        with self._cond:
            if self._closing:
                self._dropped += 1
                return
            if len(self._queue) >= self._capacity:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append((self._next_seq, event))
            self._next_seq += 1
            if self._waiting_since is None:
                self._waiting_since = time.monotonic()
                self._cond.notify_all()
            elif len(self._queue) >= self._batch_size:
                self._cond.notify_all()

    def touch_token(self, token_hash: str, when: datetime | None = None) -> None:
        """Queue a `Store.touch_token` (LAST USED) for the token with this hash; returns at once.

        Touches of one token coalesce to the latest; they are written with the next batch.
        """
        moment = when or datetime.now(UTC)
        with self._cond:
            if self._closing:
                return
            previous = self._touches.get(token_hash)
            self._touches[token_hash] = moment if previous is None else max(previous, moment)
            if self._waiting_since is None:
                self._waiting_since = time.monotonic()
                self._cond.notify_all()

    @property
    def stats(self) -> AuditWriterStats:
        """The counters now (`dropped` is what `mcpctl_audit_dropped_total` reports)."""
        with self._cond:
            return AuditWriterStats(
                submitted=self._next_seq,
                written=self._written,
                dropped=self._dropped,
                write_errors=self._write_errors,
                pending=len(self._queue) + len(self._inflight),
            )

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything submitted so far, waiting up to `timeout` s (None: as long as it takes).

        True when all of it is settled (stored, or dropped as counted); False on timeout, e.g. while
        the store is unreachable.
        """
        with self._cond:
            target = self._next_seq
            self._flushes += 1
            self._cond.notify_all()
            try:
                return (
                    self._cond.wait_for(
                        lambda: self._settled_below() >= target or not self._thread.is_alive(), timeout
                    )
                    and self._settled_below() >= target
                )
            finally:
                self._flushes -= 1

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking events, write what is queued (retrying failures for up to `timeout` s), stop.

        Returns True when nothing queued was lost. Idempotent; the gateway calls it on shutdown.
        """
        atexit.unregister(self.close)
        with self._cond:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + timeout
                self._cond.notify_all()
            dropped_before = self._dropped
        self._thread.join(timeout + 1.0)
        with self._cond:
            left = len(self._queue) + len(self._inflight)
            lost = self._dropped - dropped_before + left
        if self._thread.is_alive() or lost:
            _log.warning("audit writer closed with %d event(s) not written", lost)
        return not self._thread.is_alive() and lost == 0

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _settled_below(self) -> int:
        """Every event with a sequence number below this is stored or dropped."""
        if self._inflight:
            return self._inflight[0][0]
        if self._queue:
            return self._queue[0][0]
        return self._next_seq

    def _due(self) -> bool:
        if self._closing or self._flushes or len(self._queue) >= self._batch_size:
            return bool(self._queue or self._touches)
        if self._waiting_since is None:
            return False
        return time.monotonic() - self._waiting_since >= self._max_delay

    def _run(self) -> None:
        backoff = self._retry_initial
        while True:
            with self._cond:
                while not self._due():
                    if self._closing and not self._queue and not self._touches:
                        return
                    waited = None if self._waiting_since is None else time.monotonic() - self._waiting_since
                    self._cond.wait(None if waited is None else max(0.0, self._max_delay - waited))
                count = min(self._batch_size, len(self._queue))
                self._inflight = [self._queue.popleft() for _ in range(count)]
                touches, self._touches = self._touches, {}
                if not self._queue:
                    self._waiting_since = None
            if self._store_batch([event for _, event in self._inflight]):
                backoff = self._retry_initial
            elif self._requeue_after_failure(backoff):
                backoff = min(backoff * 2, self._retry_max)
            else:
                return
            self._store_touches(touches)

    def _store_batch(self, events: Sequence[AuditEvent]) -> bool:
        """Write one batch; False when it must be retried (the store is unreachable or busy)."""
        unwritable = 0
        try:
            self._store.write_audit_events(events)
        except StoreError as error:
            if not isinstance(error.__cause__, DataError | IntegrityError):
                self._log_failure(len(events), error)
                return False
            # A malformed event must not block the rest: write one by one and drop what is refused.
            for event in events:
                try:
                    self._store.write_audit_events([event])
                except StoreError:
                    unwritable += 1
            _log.error("audit: the store refused %d malformed event(s); dropped", unwritable)
        except Exception as error:  # a bug must not kill the writer: drop the batch, keep going
            _log.error(
                "audit: writing %d event(s) failed unexpectedly (%s); dropped",
                len(events),
                type(error).__name__,
            )
            unwritable = len(events)
        with self._cond:
            self._written += len(events) - unwritable
            self._dropped += unwritable
            self._inflight = []
            self._cond.notify_all()
        return True

    def _requeue_after_failure(self, backoff: float) -> bool:
        """Put the failed batch back in front of the queue and wait `backoff` s; False to stop now."""
        with self._cond:
            self._write_errors += 1
            batch, self._inflight = self._inflight, []
            overflow = max(0, len(self._queue) + len(batch) - self._capacity)
            self._dropped += overflow
            self._queue.extendleft(reversed(batch[overflow:]))
            if self._waiting_since is None:
                self._waiting_since = time.monotonic()
            self._cond.notify_all()
            if not self._closing:
                # Submits notify too; only close() cuts the wait short (its deadline bounds the retries).
                self._cond.wait_for(lambda: self._closing, backoff)
                return True
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._dropped += len(self._queue)
                self._queue.clear()
                self._cond.notify_all()
                return False
            self._cond.wait_for(lambda: False, min(backoff, remaining))
            return True

    def _store_touches(self, touches: dict[str, datetime]) -> None:
        for token_hash, when in touches.items():
            try:
                self._store.touch_token(token_hash, when)
            except StoreError as error:
                # LAST USED is a convenience; losing one update is not worth a retry queue.
                _log.debug("audit: recording a token's last use failed (%s)", type(error.__cause__).__name__)

    def _log_failure(self, count: int, error: StoreError) -> None:
        # The class of the database error only: its message may quote the values of a statement.
        _log.warning(
            "audit: writing %d event(s) failed (%s); retrying with backoff",
            count,
            type(error.__cause__ or error).__name__,
        )
