"""The gateway's audit trail: its events become `AuditEvent`s queued on the store's `AuditWriter`.

`AuditSink.emit` runs on the request path and only maps and enqueues (the writer's thread does the
I/O). Arguments reach it only as the pipeline's digest, tokens only as name and display prefix;
`AuditEvent` masks and caps every text field again when it is made. `GatewayAudit` owns the writer,
the retention thread and the sink for one app, from start to the flush at shutdown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypedDict

from mcpctl.store import AuditEvent, AuditKind, AuditOutcome

from ._config import AuditConfig
from ._context import CallContext
from ._events import (
    AccessDenied,
    AuthFailed,
    ClientRequestRelayed,
    ConfigReloaded,
    DescriptionFlagged,
    GatewayEvent,
    PromptProposed,
    RequestFinished,
    SessionClosed,
    SessionOpened,
    ToolPinMismatch,
    ToolsSelected,
)
from ._metrics import Gauge
from ._session import GatewaySession

if TYPE_CHECKING:
    from mcpctl.store import AuditRetention, AuditWriter, Store

logger = logging.getLogger("mcpctl.gateway.audit")

CALL_KINDS: dict[str, AuditKind] = {
    "tools/call": "tool_call",
    "prompts/get": "prompt_get",
    "resources/read": "resource_read",
}
"""The requests audited, by JSON-RPC method (lists, subscriptions and completions are not)."""
OUTCOMES: dict[str, AuditOutcome] = {
    "ok": "ok",
    "error": "error",
    "unavailable": "error",
    "unknown": "error",
    "timeout": "timeout",
}
"""`RequestFinished.outcome` -> audit outcome; the finer pipeline outcome stays in `detail.status`."""
_MAX_TOUCHED = 10_000


class EventQueue(Protocol):
    """The part of `mcpctl.store.AuditWriter` the sink uses (both calls only enqueue)."""

    def submit(self, event: AuditEvent) -> None: ...

    def touch_token(self, token_hash: str, when: datetime | None = None) -> None: ...


class _Fields(TypedDict, total=False):
    project: str | None
    session_id: str | None
    correlation_id: str
    token: str | None
    token_prefix: str | None
    user: str | None
    server: str | None
    tool: str | None


def _session_fields(session: GatewaySession) -> _Fields:
    principal = session.principal
    return {
        "project": session.project,
        "session_id": session.id or None,
        "token": principal.token_name if principal is not None else None,
        "token_prefix": principal.token_prefix if principal is not None else None,
        "user": principal.owner if principal is not None else None,
    }


def _call_fields(call: CallContext) -> _Fields:
    target = call.target
    # The upstream's own name (or URI) when the call was routed; what the client sent when it was not.
    tool = None if target is None else target.name if target.name is not None else target.exposed
    fields = _session_fields(call.session)
    fields["correlation_id"] = call.correlation_id
    fields["server"] = None if target is None else target.server
    fields["tool"] = tool
    return fields


RELAY_OUTCOMES: dict[str, AuditOutcome] = {
    "answered": "ok",
    "error": "error",
    "timeout": "timeout",
    "unsupported": "denied",
    "unrouted": "denied",
    "limited": "denied",
    "cancelled": "error",
}
"""`ClientRequestRelayed.outcome` as an audit outcome (`detail.status` keeps the relay's own word)."""


def _found_fields(session: GatewaySession | None, project: str, server: str, tool: str) -> _Fields:
    """Where a layer found something about a tool: the session that met it, if one did."""
    fields: _Fields = _session_fields(session) if session is not None else {"project": project}
    fields["server"], fields["tool"] = server, tool
    return fields


def audit_event(event: GatewayEvent) -> AuditEvent | None:
    """The audit event a gateway event is recorded as; None for what is not audited (lists, ...)."""
    if isinstance(event, RequestFinished):
        kind = CALL_KINDS.get(event.call.method)
        # A refusal is recorded once, as the `access_denied` event that carries its reason.
        if kind is None or event.outcome == "denied":
            return None
        detail = {} if event.outcome in ("ok", "error") else {"status": event.outcome}
        return AuditEvent(
            kind,
            time=event.at,
            **_call_fields(event.call),
            outcome=OUTCOMES.get(event.outcome, "error"),
            duration_ms=round(event.seconds * 1000, 3),
            args_digest=None if event.arguments_digest is None else "sha256:" + event.arguments_digest,
            result_size=event.result_size,
            detail=detail,
        )
    if isinstance(event, AccessDenied):
        return AuditEvent(
            "access_denied",
            time=event.at,
            **_call_fields(event.call),
            outcome="denied",
            detail={"reason": event.reason, "method": event.call.method},
        )
    if isinstance(event, SessionOpened):
        return AuditEvent("session_open", time=event.at, **_session_fields(event.session))
    if isinstance(event, SessionClosed):
        opened = event.session.opened_at
        seconds = (event.at - opened).total_seconds() if opened is not None else None
        return AuditEvent(
            "session_close",
            time=event.at,
            **_session_fields(event.session),
            duration_ms=None if seconds is None else round(max(seconds, 0.0) * 1000, 3),
            detail={"reason": event.reason},
        )
    if isinstance(event, AuthFailed):
        return AuditEvent(
            "auth_failure",
            time=event.at,
            project=event.project,
            outcome="unauthorized",
            detail={
                "reason": event.reason,
                "status": event.status,
                "route": event.route,
                "client": event.client,
            },
        )
    if isinstance(event, ToolPinMismatch):
        return AuditEvent(
            "tool_pin_mismatch",
            time=event.at,
            **_found_fields(event.session, event.project, event.server, event.tool),
            outcome="denied" if event.action == "blocked" else "ok",
            detail={
                "reason": event.reason,
                "action": event.action,
                "pinned_sha256": (event.pinned_sha256 or "")[:16] or None,
                "live_sha256": event.live_sha256[:16],
            },
        )
    if isinstance(event, DescriptionFlagged):
        return AuditEvent(
            "description_flagged",
            time=event.at,
            **_found_fields(event.session, event.project, event.server, event.tool),
            # Finding kinds only (`hidden-character`, `instruction`, ...): never the description's text.
            detail={
                "findings": ",".join(sorted({finding.split(":")[0] for finding in event.findings})),
                "stripped": event.stripped,
            },
        )
    if isinstance(event, ClientRequestRelayed):
        fields = (
            _call_fields(event.call)
            if event.call is not None
            else (_session_fields(event.session) if event.session is not None else _Fields())
        )
        # The relay's own outcome words, folded into the audit vocabulary; the method says what was asked.
        fields["server"], fields["tool"] = event.server, event.method
        return AuditEvent(
            "client_request",
            time=event.at,
            **fields,
            outcome=RELAY_OUTCOMES.get(event.outcome, "error"),
            duration_ms=round(event.seconds * 1000, 3),
            detail={"method": event.method, "status": event.outcome},
        )
    if isinstance(event, ToolsSelected):
        return AuditEvent(
            "tools_selected",
            time=event.at,
            **_call_fields(event.call),
            duration_ms=round(event.seconds * 1000, 3),
            # Who chose and how many, never the task; the names unlocked fit in `detail` only when few.
            detail={
                "chooser": event.chooser,
                "provider": event.provider,
                "fallback": event.fallback,
                "unlocked": len(event.tools),
                "candidates": event.candidates,
                "tools": ",".join(event.tools),
            },
        )
    if isinstance(event, PromptProposed):
        return AuditEvent(
            "prompt_proposed",
            time=event.at,
            **_call_fields(event.call),
            # The name and sizes, never the content: it is in the store's PromptRequest, for review.
            detail={"prompt": event.name, "chars": event.chars, "tags": event.tags, "revised": event.revised},
        )
    if isinstance(event, ConfigReloaded):
        return AuditEvent(
            "config_reload",
            time=event.at,
            detail={
                "generation": event.generation,
                "previous": event.previous,
                "projects_changed": len(event.projects),
                "projects": ",".join(sorted(event.projects)),
            },
        )
    return None


class AuditSink:
    """The event sink writing the audit trail; also records LAST USED of tokens (`token_used`).

    A token is touched at most once per `touch_interval` seconds here, so the writer's lock is not
    taken on every request (the store throttles its UPDATEs to once a minute as well).
    """

    def __init__(
        self,
        queue: EventQueue,
        *,
        touch_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self.touch_interval = touch_interval
        self._clock = clock
        self._touched: dict[str, float] = {}

    def emit(self, event: GatewayEvent) -> None:
        audited = audit_event(event)
        if audited is not None:
            self.queue.submit(audited)

    def token_used(self, token_hash: str) -> None:
        """`TokenAuthenticator.used`: queue the token's LAST USED unless it was queued lately."""
        now = self._clock()
        last = self._touched.get(token_hash)
        if last is not None and now - last < self.touch_interval:
            return
        if len(self._touched) >= _MAX_TOUCHED:
            self._touched.clear()  # bounded by what clients send; forgetting only costs one more touch
        self._touched[token_hash] = now
        self.queue.touch_token(token_hash)


class GatewayAudit:
    """The audit parts of one gateway app: the writer, the sink and (with a retention) the pruning thread.

    The writer's thread starts with the app (`start`, in its lifespan), so an app that is built and
    never served leaves no thread behind; events cannot arrive before then.
    """

    def __init__(self, store: Store, config: AuditConfig) -> None:
        self.config = config
        self.store = store
        self.writer: AuditWriter | None = None
        self.retention: AuditRetention | None = None
        self.sink = AuditSink(self, touch_interval=config.touch_interval_seconds)

    def start(self) -> None:
        from mcpctl.store import AuditRetention, AuditWriter

        if self.writer is None:
            self.writer = AuditWriter(self.store, capacity=self.config.queue_size)
        if self.config.retention is not None and self.retention is None:
            self.retention = AuditRetention(
                self.store, self.config.retention, interval=self.config.retention_interval_seconds
            )
            self.retention.start()

    def submit(self, event: AuditEvent) -> None:
        if self.writer is not None:
            self.writer.submit(event)

    def touch_token(self, token_hash: str, when: datetime | None = None) -> None:
        if self.writer is not None:
            self.writer.touch_token(token_hash, when)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop pruning, write what is queued (up to `timeout` s); True when nothing was lost."""
        if self.retention is not None:
            self.retention.stop()
        if self.writer is None:
            return True
        clean = self.writer.close(timeout)
        stats = self.writer.stats
        logger.info("audit: %d event(s) written, %d dropped", stats.written, stats.dropped)
        return clean

    def _stat(self, name: str) -> float:
        return 0.0 if self.writer is None else float(getattr(self.writer.stats, name))

    def gauges(self) -> list[Gauge]:
        """The writer's counters for `/metrics`."""

        def read(field: str) -> Callable[[], Iterable[tuple[dict[str, str], float]]]:
            return lambda: [({}, self._stat(field))]

        return [
            Gauge(
                "mcpctl_audit_dropped_total",
                "Audit events dropped: queue full, refused by the store, or lost at stop.",
                read("dropped"),
                kind="counter",
            ),
            Gauge("mcpctl_audit_written_total", "Audit events stored.", read("written"), kind="counter"),
            Gauge("mcpctl_audit_pending", "Audit events queued or being written.", read("pending")),
        ]
