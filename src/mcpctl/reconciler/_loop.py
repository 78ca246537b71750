"""Continuous reconcile: re-plan and apply when the commit changes or the live store drifts.

Each pass is one plan and at most one all-or-nothing apply; failures are logged and retried with backoff.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mcpctl.errors import McpctlError, PlanRefused, StalePlan, StoreError, ValidationFailed
from mcpctl.plan import Plan, render_text
from mcpctl.store import AuditEvent, AuditOutcome, DetailValue

from ._apply import apply_plan
from ._git import GitRepository, GitSource
from ._planning import plan_against
from ._sources import DesiredState, Source
from ._status import ReconcileStatus, now_iso, status_path, write_status

if TYPE_CHECKING:
    from mcpctl.store import Store

_log = logging.getLogger("mcpctl.reconcile")
_MAX_PROBLEMS_LOGGED = 20


@dataclass(frozen=True)
class LoopConfig:
    """How the loop runs."""

    interval: float = 60.0
    """Seconds between polls when nothing wakes the loop earlier."""
    dry_run: bool = False
    """Plan and report only; never apply."""
    prune_all: bool = False
    """Also delete live resources other sources or the CLI created (the normal inventory rules otherwise)."""
    lock_timeout: float = 30.0
    """Seconds an apply waits for the store lock."""
    backoff_initial: float = 1.0
    """First retry delay after a failure; doubles per failure, capped at `interval`."""
    token_output: Path | None = None
    """Where new McpToken values are written (mode 0600); they are never logged."""
    actor: str = "mcpctl-reconcile"
    """Recorded as the actor of every apply in history."""


@dataclass(frozen=True)
class PassResult:
    """The outcome of one pass."""

    ok: bool
    """False when the pass failed (or the desired state at the source's head is invalid)."""
    applied: bool = False
    """True when the pass changed the store."""
    drift: int = 0
    """Resources found changed outside the source during this pass."""
    revision: str | None = None
    """Revision of the desired state the pass used."""


class ReconcileLoop:
    """Keeps a store converged on a source; `trigger()` (webhook, watcher) wakes it before the interval."""

    def __init__(
        self,
        source: Source,
        open_store: Callable[[], Store],
        config: LoopConfig | None = None,
        *,
        status_file: Path | None = None,
        ref: str | None = None,
    ) -> None:
        self.source = source
        self.config = config or LoopConfig()
        self._open_store = open_store
        self._store: Store | None = None
        self._repository: GitRepository | None = source.repository if isinstance(source, GitSource) else None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._good: DesiredState | None = None
        self._bad_key: object = None
        self._bad_reason: str | None = None
        self._synced: tuple[DesiredState, int] | None = None
        self._unloaded: tuple[str, int] | None = None
        self._applied_revision: str | None = None
        self._reported_digest: str | None = None
        self.status = ReconcileStatus(
            source=source.name, ref=ref, dry_run=self.config.dry_run, pid=os.getpid()
        )
        self.status_file = status_file if status_file is not None else status_path(source.name)

    def trigger(self) -> None:
        """Run a pass now (thread-safe; returns at once)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `run_forever` to finish after the current pass."""
        self._stopping.set()
        self._wake.set()

    def run_forever(self) -> None:
        """Pass, wait for the interval (or a trigger, or a backoff after failures), repeat until stopped."""
        _log.info(
            "reconciling %s every %ss%s",
            self.source.name,
            self.config.interval,
            " (dry run: nothing is applied)" if self.config.dry_run else "",
        )
        try:
            while not self._stopping.is_set():
                result = self.run_once()
                self._wake.wait(self.config.interval if result.ok else self._backoff())
                self._wake.clear()
        finally:
            self.status.state = "stopped"
            self._write_status()
            self._close_store()

    def _backoff(self) -> float:
        failures = max(self.status.consecutive_failures, 1)
        return float(min(self.config.interval, self.config.backoff_initial * 2 ** (failures - 1)))

    def run_once(self) -> PassResult:
        """One pass: read the source, plan against the store, apply if needed. Never raises McpctlError."""
        self.status.passes += 1
        try:
            state, invalid = self._desired()
            if state is None:
                result = PassResult(ok=True, revision=self.status.last_revision)
            else:
                result = self._reconcile(state)
        except McpctlError as error:
            self._failed(error.detail, log=not isinstance(error, ValidationFailed))
            if isinstance(error, StoreError):
                self._close_store()
            return PassResult(ok=False)
        except Exception as error:
            # An unexpected failure must not kill a long-running loop; it is logged and retried.
            _log.exception("reconcile pass failed unexpectedly")
            self._failed(f"{type(error).__name__}: {error}")
            self._close_store()
            return PassResult(ok=False)
        if invalid is not None:
            self._failed(invalid, log=False)
            return PassResult(ok=False, applied=result.applied, drift=result.drift, revision=result.revision)
        self.status.consecutive_failures = 0
        self.status.last_error = None
        self.status.last_pass_at = now_iso()
        self._write_status()
        return result

    def _audit_event(
        self, state: DesiredState | None, outcome: AuditOutcome = "ok", **facts: DetailValue
    ) -> AuditEvent:
        commit = state.revision if state is not None else self.status.last_revision
        return AuditEvent(
            "reconcile",
            outcome=outcome,
            user=self.config.actor,
            detail={"source": self.source.name, "commit": commit, **facts},
        )

    def _failed(self, reason: str, *, log: bool = True) -> None:
        if self.status.consecutive_failures == 0:
            # The first failure of a run of them is audited; best effort, the store may be what failed.
            try:
                self._store_now().write_audit_events([self._audit_event(None, "error", error=reason)])
            except McpctlError as error:
                _log.debug("could not audit the failed pass: %s", error.detail)
        self.status.consecutive_failures += 1
        if log:
            _log.error("reconcile failed: %s (retrying in %.3gs)", reason, self._backoff())
        self.status.state = "failing"
        self.status.last_error = reason
        self.status.last_error_at = now_iso()
        self.status.last_pass_at = self.status.last_error_at
        self._write_status()

    def _desired(self) -> tuple[DesiredState | None, str | None]:
        """The desired state to converge on, and the reason the newest one is unusable (if it is).

        None instead of a state when the store is untouched since this source applied the commit.
        """
        key: object
        if self._repository is not None and isinstance(self.source, GitSource):
            self._repository.fetch()
            key = self._repository.resolve(self.source.ref)
            if self._good is not None and self._good.revision == key:
                return self._good, None
            if key == self._bad_key and self._good is not None:
                return self._good, self._bad_reason
            if self._good is None and self._left_by_this_source(key):
                return None, None
            self._warn_if_rewritten(key)
            state = self.source.load_checkout(self._repository.checkout(key))
        else:
            state = self.source.load()
            key = tuple(str(p) for p in state.problems)
        if not state.errors:
            self._good, self._bad_key, self._bad_reason = state, None, None
            return state, None
        where = f"commit {state.revision[:12]}" if state.revision else state.source
        reason = f"invalid desired state at {where}: {len(state.errors)} problem(s), first: {state.errors[0]}"
        if key != self._bad_key:
            _log.error("%s; keeping the last good state", reason)
            for problem in state.problems[:_MAX_PROBLEMS_LOGGED]:
                _log.error("  %s", problem)
        self._bad_key, self._bad_reason = key, reason
        restarted = self._good is None and self._unloaded is not None
        if restarted and self._repository is not None and isinstance(self.source, GitSource):
            # Restarted onto a broken commit: the last good one is the commit this source applied.
            assert self._unloaded is not None
            good = self.source.load_checkout(self._repository.checkout(self._unloaded[0]))
            self._good = None if good.errors else good
        if self._good is None:
            error = ValidationFailed(state.problems)
            error.detail = reason
            raise error
        return self._good, reason

    def _left_by_this_source(self, revision: str) -> bool:
        """True when the newest history row is this source applying `revision` and nothing wrote since.

        Then the store is exactly what that apply made it, so a (re)started loop need not load, validate
        and plan a commit it already applied. With --prune-all the earlier apply may have pruned less.
        """
        if self.config.prune_all:
            return False
        store = self._store_now()
        generation = store.generation()
        if self._unloaded == (revision, generation):
            return True
        newest = store.history(limit=1)
        if not newest or (newest[0].source, newest[0].revision, newest[0].generation) != (
            self.source.name,
            revision,
            generation,
        ):
            return False
        if self._unloaded is None:
            _log.info("commit %s is in sync with the store (generation %d)", revision[:12], generation)
        self._unloaded = (revision, generation)
        self._applied_revision = revision
        self.status.state = "in-sync"
        self.status.last_revision = revision
        return True

    def _warn_if_rewritten(self, revision: str) -> None:
        previous = self._good.revision if self._good is not None else None
        if previous and self._repository is not None and not self._repository.is_ancestor(previous, revision):
            _log.warning(
                "history rewritten: %s is no longer an ancestor of %s (force-push?)",
                previous[:12],
                revision[:12],
            )

    def _store_now(self) -> Store:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:
                _log.debug("closing the store failed", exc_info=True)

    def _reconcile(self, state: DesiredState) -> PassResult:
        store = self._store_now()
        if self._synced is not None and self._synced[0] is state and store.generation() == self._synced[1]:
            # Neither the commit nor the store moved since the store last matched it: nothing to do.
            return PassResult(ok=True, revision=state.revision)
        for attempt in (1, 2):
            plan = plan_against(store, state, prune_all=self.config.prune_all)
            try:
                return self._act(store, state, plan)
            except StalePlan:
                # Someone wrote between plan and apply: plan again against what is there now.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _fingerprint(state: DesiredState) -> str:
        # What the source said: its commit, or (for plain files) the content of every resource.
        if state.revision:
            return state.revision
        digest = hashlib.sha256()
        # str(): a global and a project-scoped resource of one kind have None and a name as project.
        for resource in sorted(state.resources, key=lambda r: str(r.identity)):
            digest.update(f"{resource.identity}={resource.content_hash()};".encode())
        return digest.hexdigest()

    def _act(self, store: Store, state: DesiredState, plan: Plan) -> PassResult:
        revision = self._fingerprint(state)
        if plan.errored:
            raise PlanRefused("the plan has errors, nothing applied: " + "; ".join(plan.errors))
        if not plan.has_changes:
            self._in_sync(state, plan, revision)
            return PassResult(ok=True, revision=state.revision)
        drift = revision == self._applied_revision
        count = len(plan.changes)
        if self.config.dry_run:
            return self._report_only(state, plan, drift)
        if drift:
            self.status.drift_count += count
            _log.warning("drift: %d resource(s) changed outside %s found; reverting:", count, state.source)
        else:
            _log.info("applying %s (%d change(s)):", self._describe(state), count)
        self._log_plan(plan)
        repaired = count if drift else 0
        result = apply_plan(
            store,
            plan,
            lock_timeout=self.config.lock_timeout,
            actor=self.config.actor,
            token_output=self.config.token_output,
            audit=[self._audit_event(state, drift_repaired=repaired, changes=count)],
        )
        for token in result.tokens:
            where = f"written to {token.path}" if token.path else "not shown (run with --token-output DIR)"
            _log.info("token %s created; its value was %s", token.identity, where)
        counts = result.counts
        _log.info(
            "%s %s: %d added, %d changed, %d destroyed",
            "reverted drift back to" if drift else "applied",
            self._describe(state),
            counts["add"],
            counts["change"],
            counts["destroy"],
        )
        base = plan.base_generation
        self._synced = (state, base + 1) if base is not None else None
        self._applied_revision = revision
        self.status.applies += 1
        self.status.state = "applied"
        self.status.last_revision = state.revision
        self.status.last_applied_at = now_iso()
        return PassResult(ok=True, applied=True, drift=count if drift else 0, revision=state.revision)

    def _report_only(self, state: DesiredState, plan: Plan, drift: bool) -> PassResult:
        """Dry run: log the plan once per distinct plan (and count drift once), apply nothing."""
        count = len(plan.changes)
        digest = repr([(c.action, c.identity, c.field_changes) for c in plan.changes])
        if digest != self._reported_digest:
            self._reported_digest = digest
            if drift:
                self.status.drift_count += count
                _log.warning(
                    "drift: %d resource(s) changed outside %s found (dry run, not reverted):",
                    count,
                    state.source,
                )
            else:
                _log.info("dry run: %s would change %d resource(s):", self._describe(state), count)
            self._log_plan(plan)
        self.status.state = "drift-found" if drift else "pending"
        return PassResult(ok=True, drift=count if drift else 0, revision=state.revision)

    def _in_sync(self, state: DesiredState, plan: Plan, revision: str) -> None:
        if revision != self._applied_revision:
            _log.info("%s is in sync with the store", self._describe(state))
            if plan.unmanaged:
                _log.info(
                    "%d live resource(s) not managed by this source are left alone (see --prune-all)",
                    len(plan.unmanaged),
                )
        if plan.base_generation is not None:
            self._synced = (state, plan.base_generation)
        self._applied_revision = revision
        self._reported_digest = None
        self.status.state = "in-sync"
        self.status.last_revision = state.revision

    @staticmethod
    def _describe(state: DesiredState) -> str:
        return f"commit {state.revision[:12]}" if state.revision else state.source

    @staticmethod
    def _log_plan(plan: Plan) -> None:
        for line in render_text(plan, color=False).rstrip("\n").splitlines():
            _log.info("  %s", line)

    def _write_status(self) -> None:
        try:
            write_status(self.status, self.status_file)
        except OSError as error:
            _log.warning("cannot write reconcile status to %s: %s", self.status_file, error)
