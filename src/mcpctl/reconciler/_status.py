"""Status of continuous reconcilers: one small JSON file per source, read by `reconcile status` and metrics.

A file (written atomically) rather than a table, so a reconciler whose database is down still reports it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._yamlio import write_text_atomic

STATUS_DIR_ENV = "MCPCTL_RECONCILE_STATUS_DIR"

MetricSamples = list[tuple[dict[str, str], float]]


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_status_dir() -> Path:
    """`$MCPCTL_RECONCILE_STATUS_DIR`, else `$XDG_DATA_HOME/mcpctl/reconcile` (~/.local/share/...)."""
    explicit = os.environ.get(STATUS_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcpctl" / "reconcile"


def status_path(source: str, directory: Path | None = None) -> Path:
    """The status file of the reconciler of `source` (a source name, already masked)."""
    root = directory if directory is not None else default_status_dir()
    return root / f"{hashlib.sha1(source.encode()).hexdigest()[:16]}.json"


@dataclass
class ReconcileStatus:
    """What one reconciler last did; every field is safe to show (URLs masked, no secrets)."""

    source: str
    """Source name (masked URL `//subpath`, or paths)."""
    ref: str | None = None
    """Branch, tag or commit followed (None: the remote's default branch)."""
    dry_run: bool = False
    """True when the loop only reports."""
    state: str = "starting"
    """`starting`, `in-sync`, `applied`, `drift-found` (dry run), `failing` or `stopped`."""
    last_revision: str | None = None
    """Last commit applied to (or found in sync with) the store."""
    last_applied_at: str | None = None
    """When a change was last applied."""
    last_pass_at: str | None = None
    """When the last pass ended, successful or not."""
    last_error: str | None = None
    """The reason the last failing pass failed; cleared by a successful pass."""
    last_error_at: str | None = None
    """When that failure happened."""
    consecutive_failures: int = 0
    """Failing passes in a row (drives the backoff)."""
    drift_count: int = 0
    """Resources changed outside git that the loop found (and, unless dry run, reverted) so far."""
    passes: int = 0
    """Passes run since start."""
    applies: int = 0
    """Applies that changed the store since start."""
    pid: int | None = None
    """Process id of the reconciler."""
    updated_at: str = field(default_factory=now_iso)
    """When this status was written."""

    def to_json(self) -> str:
        """The status as a JSON document (stable key order)."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ReconcileStatus:
        """Parse a status file, ignoring keys this version does not know."""
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def write_status(status: ReconcileStatus, path: Path) -> None:
    """Write `status` to `path` atomically (readers never see half a file)."""
    status.updated_at = now_iso()
    write_text_atomic(path, status.to_json())


def read_statuses(directory: Path | None = None) -> list[ReconcileStatus]:
    """Every readable status file in `directory` (default: `default_status_dir()`), by source name."""
    root = directory if directory is not None else default_status_dir()
    found: list[ReconcileStatus] = []
    if not root.is_dir():
        return found
    for path in sorted(root.glob("*.json")):
        try:
            found.append(ReconcileStatus.from_json(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(found, key=lambda status: status.source)


def _timestamp(value: str | None) -> float:
    return datetime.fromisoformat(value).timestamp() if value else 0.0


def reconcile_metric_families(
    directory: Path | None = None,
) -> list[tuple[str, str, Callable[[], MetricSamples]]]:
    """Gauges for the gateway's `/metrics`: `(name, help, collect)`; `collect()` reads the status files.

    The gateway wraps each in its own gauge type; labels are `source` (masked) and, for info, `revision`.
    """

    def per_source(value: Callable[[ReconcileStatus], float]) -> Callable[[], MetricSamples]:
        return lambda: [({"source": s.source}, value(s)) for s in read_statuses(directory)]

    def info() -> MetricSamples:
        return [
            ({"source": s.source, "revision": s.last_revision or "", "state": s.state}, 1.0)
            for s in read_statuses(directory)
        ]

    return [
        ("mcpctl_reconcile_info", "Reconciler state and last commit applied, per source.", info),
        (
            "mcpctl_reconcile_drift_resources",
            "Resources changed outside git found by the reconciler since it started.",
            per_source(lambda s: float(s.drift_count)),
        ),
        (
            "mcpctl_reconcile_consecutive_failures",
            "Failing reconcile passes in a row (0 when healthy).",
            per_source(lambda s: float(s.consecutive_failures)),
        ),
        (
            "mcpctl_reconcile_last_pass_timestamp_seconds",
            "Unix time the last reconcile pass ended.",
            per_source(lambda s: _timestamp(s.last_pass_at)),
        ),
        (
            "mcpctl_reconcile_applies",
            "Applies that changed the store since the reconciler started.",
            per_source(lambda s: float(s.applies)),
        ),
    ]
