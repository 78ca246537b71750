"""The event sink that keeps the gateway's Prometheus counters (`/metrics`) from its events."""

from __future__ import annotations

from ._events import (
    AccessDenied,
    AuthFailed,
    DescriptionFlagged,
    GatewayEvent,
    RequestFinished,
    ToolPinMismatch,
    ToolsSelected,
)
from ._metrics import GatewayMetrics


class MetricsSink:
    """Counts tool calls (by server and outcome, with their latency), denials, gate selections, auth
    failures, pin mismatches and flagged descriptions."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def emit(self, event: GatewayEvent) -> None:
        if isinstance(event, RequestFinished):
            call, target = event.call, event.call.target
            # Only calls routed to a server count: a name no server has has no label to count under, and a
            # refusal is counted as a denial.
            if (
                call.method != "tools/call"
                or target is None
                or target.server is None
                or event.outcome == "denied"
            ):
                return
            project, server = call.project, target.server
            self.metrics.tool_calls.inc(project=project, server=server, outcome=event.outcome)
            self.metrics.tool_call_seconds.observe(event.seconds, project=project, server=server)
        elif isinstance(event, AccessDenied):
            self.metrics.access_denied.inc(project=event.call.project, method=event.call.method)
        elif isinstance(event, ToolsSelected):
            project = event.call.project
            self.metrics.gate_selections.inc(project=project, chooser=event.chooser)
            self.metrics.gate_selection_seconds.observe(event.seconds, project=project, chooser=event.chooser)
        elif isinstance(event, AuthFailed):
            self.metrics.auth_failures.inc(status=str(event.status), reason=event.reason)
        elif isinstance(event, ToolPinMismatch):
            self.metrics.tool_pin_mismatches.inc(
                server=event.server, reason=event.reason, action=event.action
            )
        elif isinstance(event, DescriptionFlagged):
            self.metrics.descriptions_flagged.inc(server=event.server)
