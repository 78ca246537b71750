"""`mcpctl status`: is the store, the gateway (and its upstreams) and every LLM provider up? ✓/✗ and latency.

Exit 1 when a required part is down: the store, the gateway, or every configured LLM provider at once.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import click
import httpx

from mcpctl.errors import McpctlError

from ._main import cli
from ._options import database_option, gateway_url_option

if TYPE_CHECKING:
    from mcpctl.llm import LlmProviders, OpenAIProvider, ProviderHealth

OK, DOWN, IDLE = "✓", "✗", "-"
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class Part:
    """One thing checked: whether it is up, how long the check took, and what else is worth showing."""

    component: str
    name: str
    ok: bool | None
    """True up, False down, None neither (an upstream nothing has started yet)."""
    state: str
    seconds: float | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        seconds = None if self.seconds is None else round(self.seconds, 4)
        common = {
            "name": self.name,
            "ok": self.ok,
            "state": self.state,
            "seconds": seconds,
            "detail": self.detail,
        }
        return {**common, **self.data}


@dataclass
class StatusReport:
    """Every part's status, and which required parts are down."""

    store: Part
    gateway: Part
    upstreams: list[Part]
    llm: list[Part]

    @property
    def down(self) -> list[str]:
        """Required parts that are down: `store`, `gateway`, `llm` (every configured provider down)."""
        failed = [part.component for part in (self.store, self.gateway) if not part.ok]
        if self.llm and not any(part.ok for part in self.llm):
            failed.append("llm")
        return failed

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.down,
            "down": self.down,
            "store": self.store.to_json(),
            "gateway": self.gateway.to_json(),
            "upstreams": [part.to_json() for part in self.upstreams],
            "llm": [part.to_json() for part in self.llm],
        }


@cli.command("status")
@gateway_url_option
@database_option
@click.option(
    "--llm-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="LLM providers file to check (default: the MCPCTL_LLM_URL and MCPCTL_LLM_MODEL env vars).",
)
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds per check."
)
def status(url: str, database_url: str | None, llm_config: Path | None, fmt: str, timeout: float) -> None:
    """Check the store, the gateway and its upstreams, the LLM providers; exit 1 if a required one is down."""
    from mcpctl.llm import load_providers

    providers = load_providers(llm_config)  # a bad file is an error before anything is checked
    with spinner(sys.stderr, "checking store, gateway and LLM providers"):
        report = anyio.run(check_all, url.rstrip("/"), database_url, providers, timeout)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_status(report))
    if report.down:
        sys.exit(1)


async def check_all(
    url: str, database_url: str | None, providers: LlmProviders, timeout: float
) -> StatusReport:
    """Run every check at once; none waits for another."""
    found: dict[str, Any] = {}

    async def store() -> None:
        with anyio.move_on_after(timeout) as scope:
            found["store"] = await anyio.to_thread.run_sync(check_store, database_url, abandon_on_cancel=True)
        if scope.cancelled_caught:
            found["store"] = Part("store", "store", False, "down", timeout, f"no answer within {timeout:g}s")

    async def gateway() -> None:
        found["gateway"], found["upstreams"] = await check_gateway(url, timeout)

    async def llm() -> None:
        try:
            checked = await providers.health(refresh=True)
            found["llm"] = [
                _llm_part(p, health) for p, health in zip(providers.providers, checked, strict=True)
            ]
        finally:
            await providers.aclose()

    async with anyio.create_task_group() as group:
        for check in (store, gateway, llm):
            group.start_soon(check)
    return StatusReport(found["store"], found["gateway"], found["upstreams"], found["llm"])


def check_store(database_url: str | None) -> Part:
    """Open the store without migrating it; its generation and schema revision."""
    from mcpctl.store import DatabaseUrl, Store, default_database_url

    location = DatabaseUrl(database_url or default_database_url())
    backend = str.__str__(location).partition(":")[0].partition("+")[0]
    shown = {"url": str(location)}
    if location.startswith("sqlite:///") and not Path(location.removeprefix("sqlite:///")).exists():
        return Part(
            "store", backend, False, "down", None, f"no store at {location} (nothing applied yet?)", shown
        )
    started = time.monotonic()
    try:
        with Store.open(location, migrate=False) as store:
            generation, revision = store.generation(), store.schema_revision()
    except McpctlError as error:
        return Part("store", backend, False, "down", time.monotonic() - started, error.detail, shown)
    detail = f"{location}, generation {generation}, schema {revision}"
    data = {**shown, "generation": generation, "schemaRevision": revision}
    return Part("store", backend, True, "reachable", time.monotonic() - started, detail, data)


async def check_gateway(url: str, timeout: float) -> tuple[Part, list[Part]]:
    """/healthz (the process answers) and /readyz (its store answers; upstream states)."""
    data: dict[str, Any] = {"url": url, "live": False, "ready": False}
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            live = await client.get(f"{url}/healthz")
            data["live"] = live.status_code == 200
            ready = await client.get(f"{url}/readyz")
    except httpx.HTTPError as error:
        reason = f"cannot reach {url}: {type(error).__name__}"
        return Part("gateway", url, False, "down", time.monotonic() - started, reason, data), []
    seconds = time.monotonic() - started
    try:
        body = _mapping(ready.json())
    except ValueError:
        body = {}
    data["ready"] = ready.status_code == 200 and body.get("status") == "ready"
    if not data["live"]:
        part = Part(
            "gateway", url, False, "down", seconds, f"/healthz answered HTTP {live.status_code}", data
        )
    elif not data["ready"]:
        store_error = _mapping(body.get("store")).get("error")
        reason = f"/readyz answered HTTP {ready.status_code}" + (f": {store_error}" if store_error else "")
        part = Part("gateway", url, False, "not ready", seconds, reason, data)
    else:
        upstreams = _mapping(body.get("upstreams"))
        generation = _mapping(body.get("snapshot")).get("generation")
        detail = f"config generation {generation}, {len(upstreams)} upstream(s)"
        part = Part("gateway", url, True, "ready", seconds, detail, data)
    upstreams = _mapping(body.get("upstreams"))
    return part, [_upstream_part(name, _mapping(info)) for name, info in sorted(upstreams.items())]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _upstream_part(name: str, info: dict[str, Any]) -> Part:
    state = str(info.get("state", "unknown"))
    probe = info.get("probe") if isinstance(info.get("probe"), dict) else None  # a probe has run
    ok: bool | None = {"up": True, "down": False}.get(state)
    if probe is not None and probe.get("ok") is False:
        ok = False
    detail = str(info.get("lastError") or "")
    data = {"restarts": info.get("restarts", 0), "lastError": info.get("lastError"), "probe": probe}
    seconds = probe.get("seconds") if probe is not None else None
    return Part("upstream", name, ok, state, seconds, detail, data)


def _llm_part(provider: OpenAIProvider, health: ProviderHealth) -> Part:
    data = {
        "url": provider.url,
        "model": provider.model,
        "tier": provider.tier,
        "dialect": health.dialect,
        "managed": provider.process is not None,
    }
    detail = health.detail or f"{provider.model} at {provider.url} ({provider.tier})"
    return Part("llm", provider.name, health.ok, health.state, health.seconds, detail, data)


def render_status(report: StatusReport) -> str:
    """One line per part (mark, component, name, state, latency, detail), then a line saying what is down."""
    rows = [("", "COMPONENT", "NAME", "STATE", "LATENCY", "DETAIL")]
    for part in [report.store, report.gateway, *report.upstreams, *report.llm]:
        mark = OK if part.ok else DOWN if part.ok is False else IDLE
        latency = f"{part.seconds * 1000:.0f}ms" if part.seconds is not None else "-"
        rows.append((mark, part.component, part.name, part.state, latency, part.detail))
    if not report.llm:
        rows.append((IDLE, "llm", "-", "not configured", "-", "no --llm-config and no MCPCTL_LLM_URL"))
    # Like `table`, but the last column (the reason something is down) is never cut short.
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "   ".join([*(v.ljust(w) for v, w in zip(row[:5], widths, strict=True)), row[5]]).rstrip()
        for row in rows
    ]
    lines.append(f"down: {', '.join(report.down)}" if report.down else "all required parts are up")
    return "\n".join(lines)


@contextmanager
def spinner(stream: IO[str], label: str) -> Iterator[None]:
    """A spinner on `stream` while the block runs, only when it is a terminal; the line is cleared after."""
    if not stream.isatty():
        yield
        return
    import threading

    done = threading.Event()

    def spin() -> None:
        index = 0
        while not done.wait(0.08):
            stream.write(f"\r{SPINNER_FRAMES[index % len(SPINNER_FRAMES)]} {label}…")
            stream.flush()
            index += 1

    thread = threading.Thread(target=spin, name="status-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        stream.write("\r\033[K")
        stream.flush()
