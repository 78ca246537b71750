"""Prometheus metrics of the gateway: counters and histograms kept in memory, rendered as text format 0.0.4.

A tiny registry of our own (no client library): labelled counters, gauges computed at scrape time, histograms.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Histogram bucket bounds in seconds, from fast local calls to the default call timeout."""

Labels = tuple[tuple[str, str], ...]

OTHER = "other"
"""The label value standing for every value outside a label's known set."""
MAX_SERIES = 10_000
"""Series one family keeps; past it, new label sets are counted under `other` (a guard behind the bounds
each label already has, so no client can grow `/metrics` without end)."""
MCP_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "prompts/list",
        "prompts/get",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "completion/complete",
        "logging/setLevel",
        "tasks/get",
        "tasks/list",
        "tasks/result",
        "tasks/cancel",
    }
)
"""JSON-RPC methods of the MCP spec a client may send; any other method name is counted as `other`."""


def bounded(value: str, known: frozenset[str] | set[str]) -> str:
    """`value` when it is one of `known`, else `other`: a client-chosen label never makes a new series."""
    return value if value in known else OTHER


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}"


def _format_value(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _header(name: str, help_text: str, kind: str) -> Iterable[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"


class _Labelled:
    """A metric family whose series are keyed by a fixed set of label names."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> Labels:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple((name, str(labels[name])) for name in self.label_names)

    def _admit(self, key: Labels, series: Mapping[Labels, object]) -> Labels:
        # Called under the lock: a family at MAX_SERIES counts new label sets as one `other` series.
        if key in series or len(series) < MAX_SERIES:
            return key
        return tuple((name, OTHER) for name in self.label_names)


class Counter(_Labelled):
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            key = self._admit(key, self._values)
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> Iterable[str]:
        yield from _header(self.name, self.help, "counter")
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{_format_labels(labels)} {_format_value(value)}"


class Histogram(_Labelled):
    """Observations counted into cumulative buckets per label set, with their sum and count."""

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, label_names)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            key = self._admit(key, self._series)
            counts, totals = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[index] += 1
            totals[0] += value

    def count(self, **labels: str) -> int:
        series = self._series.get(self._key(labels))
        return sum(series[0]) if series else 0

    def render(self) -> Iterable[str]:
        yield from _header(self.name, self.help, "histogram")
        with self._lock:
            items = sorted((labels, (list(c), t[0])) for labels, (c, t) in self._series.items())
        for labels, (counts, total) in items:
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                le = (("le", _format_value(bound)),)
                yield f"{self.name}_bucket{_format_labels(labels, le)} {running}"
            yield f"{self.name}_sum{_format_labels(labels)} {_format_value(total)}"
            yield f"{self.name}_count{_format_labels(labels)} {running}"


class Gauge:
    """Values read when scraped, from a callback returning (labels, value) pairs."""

    def __init__(
        self,
        name: str,
        help_text: str,
        collect: Callable[[], Iterable[tuple[dict[str, str], float]]],
        kind: str = "gauge",
    ) -> None:
        self.name, self.help, self.collect = name, help_text, collect
        self.kind = kind
        """`gauge`, or `counter` for a total kept elsewhere (read when scraped)."""

    def render(self) -> Iterable[str]:
        yield from _header(self.name, self.help, self.kind)
        for labels, value in self.collect():
            yield f"{self.name}{_format_labels(tuple(sorted(labels.items())))} {_format_value(value)}"


class GatewayMetrics:
    """The gateway's metric families; one instance per app."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "mcpctl_http_requests_total",
            "HTTP requests answered, by route family and status code.",
            ("route", "status"),
        )
        self.mcp_requests = Counter(
            "mcpctl_mcp_requests_total",
            "MCP JSON-RPC requests handled, by project and method.",
            ("project", "method"),
        )
        self.tool_calls = Counter(
            "mcpctl_tool_calls_total",
            "tools/call by project, upstream server and outcome (ok, error, unavailable).",
            ("project", "server", "outcome"),
        )
        self.tool_call_seconds = Histogram(
            "mcpctl_tool_call_duration_seconds",
            "Latency of tools/call through the gateway.",
            ("project", "server"),
        )
        self.access_denied = Counter(
            "mcpctl_access_denied_total",
            "Requests a layer refused (policy, toolFilter), by project and method; answered as unknown.",
            ("project", "method"),
        )
        self.upstream_list_failures = Counter(
            "mcpctl_upstream_list_failures_total",
            "Upstreams skipped in an aggregated list because they failed.",
            ("project", "server", "method"),
        )
        self.upstream_list_slow = Counter(
            "mcpctl_upstream_list_slow_total",
            "Upstreams left out of an aggregated list because they had not answered by the list deadline.",
            ("project", "server", "method"),
        )
        self.auth_failures = Counter(
            "mcpctl_auth_failures_total",
            "Requests refused by token auth, by HTTP status and reason.",
            ("status", "reason"),
        )
        self.tool_pin_mismatches = Counter(
            "mcpctl_tool_pin_mismatches_total",
            "Tool definitions that differ from their pins (changed) or are not pinned (new), by action.",
            ("server", "reason", "action"),
        )
        self.descriptions_flagged = Counter(
            "mcpctl_tool_descriptions_flagged_total",
            "Tool definitions whose description has hidden characters, comments or model instructions.",
            ("server",),
        )
        self.rate_limited = Counter(
            "mcpctl_rate_limited_total",
            "MCP requests refused with 429 by the per-token rate limit, by project and where it was counted "
            "(shared: Redis, local: this process).",
            ("project", "counter"),
        )
        self.gate_selections = Counter(
            "mcpctl_gate_selections_total",
            "begin_session selections of gated sessions, by project and chooser (llm, matcher).",
            ("project", "chooser"),
        )
        self.gate_selection_seconds = Histogram(
            "mcpctl_gate_selection_duration_seconds",
            "Time begin_session took to choose tools, by project and chooser.",
            ("project", "chooser"),
        )
        self.store_reloads = Counter(
            "mcpctl_store_reloads_total", "Snapshots reloaded from the store after its generation moved."
        )
        self.gauges: list[Gauge] = []

    def add_gauge(self, gauge: Gauge) -> None:
        self.gauges.append(gauge)

    def render(self) -> str:
        """The whole registry in the Prometheus text exposition format."""
        families: list[Counter | Histogram | Gauge] = [
            self.http_requests,
            self.mcp_requests,
            self.tool_calls,
            self.tool_call_seconds,
            self.access_denied,
            self.upstream_list_failures,
            self.upstream_list_slow,
            self.auth_failures,
            self.tool_pin_mismatches,
            self.descriptions_flagged,
            self.rate_limited,
            self.gate_selections,
            self.gate_selection_seconds,
            self.store_reloads,
            *self.gauges,
        ]
        lines: list[str] = []
        for family in families:
            lines.extend(family.render())
        return "\n".join(lines) + "\n"
