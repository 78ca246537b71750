"""What the gateway serves, read from the store: a snapshot of projects, servers and prompts, kept fresh.

`LiveState` polls `store.generation()`; when it moves, it reloads and reports which projects changed. On
PostgreSQL it also follows the store's change feed (LISTEN/NOTIFY) and reloads as soon as a change commits;
the poll stays as the fallback for when the feed's connection is down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream

from mcpctl.errors import InvalidUpstreamSpec
from mcpctl.policy import POLICY_KINDS, PolicySet
from mcpctl.schemas import (
    LiveResource,
    Project,
    ProjectSpec,
    Prompt,
    PromptSpec,
    ProxyModel,
    ProxyModelSpec,
    Server,
    ServerSpec,
    Template,
    TemplateSpec,
    ToolPins,
    ToolPinsSpec,
    instantiate_template,
)

logger = logging.getLogger("mcpctl.gateway.state")


class SnapshotSource(Protocol):
    """The part of `mcpctl.store.Store` the gateway reads."""

    def generation(self) -> int: ...

    def list_resources(self, kind: str | None = None, project: str | None = None) -> list[LiveResource]: ...


class ChangeSource(Protocol):
    """`mcpctl.store.ChangeFeed`: the generations committed to the store, as they commit."""

    def listen(self) -> AbstractAsyncContextManager[MemoryObjectReceiveStream[int]]: ...


@dataclass(frozen=True)
class Snapshot:
    """The store's content as the gateway serves it, at one generation."""

    generation: int
    projects: dict[str, ProjectSpec] = field(default_factory=dict)
    """Project specs by name."""
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    """Server specs by name, templates already instantiated (secret references unresolved)."""
    server_errors: dict[str, str] = field(default_factory=dict)
    """Servers that could not be built (a missing template, a bad value), with the reason."""
    prompts: dict[str, dict[str, PromptSpec]] = field(default_factory=dict)
    """Prompt specs by project, then by name."""
    pins: dict[str, ToolPinsSpec] = field(default_factory=dict)
    """Approved tool definitions (ToolPins) by server name."""
    policy: PolicySet = field(default_factory=PolicySet, compare=False)
    """Users, groups, role bindings and tokens' specs, indexed: whom the gateway lets do what."""
    proxy_models: dict[str, ProxyModelSpec] = field(default_factory=dict)
    """ProxyModel specs by name: the content stages of projects that name one (read at every call)."""

    def project_servers(self, project: str) -> list[str]:
        """Names of the project's servers that exist in this snapshot, in the project's order."""
        spec = self.projects.get(project)
        if spec is None:
            return []
        return [name for name in spec.servers if name in self.servers]

    def changed_projects(self, newer: Snapshot) -> set[str]:
        """Projects whose served content differs between this snapshot and `newer` (added and removed too)."""
        changed: set[str] = set()
        for name in set(self.projects) | set(newer.projects):
            before, after = self.projects.get(name), newer.projects.get(name)
            if before != after:
                changed.add(name)
                continue
            assert after is not None
            if self.prompts.get(name, {}) != newer.prompts.get(name, {}):
                changed.add(name)
                continue
            if any(
                self.servers.get(s) != newer.servers.get(s) or self.pins.get(s) != newer.pins.get(s)
                for s in after.servers
            ):
                changed.add(name)
        return changed


def resolve_server_spec(spec: ServerSpec, templates: Mapping[str, TemplateSpec]) -> ServerSpec:
    """The concrete spec of a server: `fromTemplate` instantiated (its env/headers/timeouts overriding).

    Raises `InvalidUpstreamSpec` for an unknown template or values the template rejects.
    """
    ref = spec.from_template
    if ref is None:
        return spec
    template = templates.get(ref.name)
    if template is None:
        raise InvalidUpstreamSpec(f"fromTemplate: unknown template {ref.name!r}")
    try:
        return instantiate_template(template, ref, overrides=spec)
    except ValueError as error:
        reason = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise InvalidUpstreamSpec(f"fromTemplate {ref.name!r}: {reason}") from None


def stored_templates(store: SnapshotSource) -> dict[str, TemplateSpec]:
    """Template specs by name, as stored (blocking)."""
    return {
        live.resource.metadata.name: live.resource.spec
        for live in store.list_resources(kind="Template")
        if isinstance(live.resource, Template)
    }


def load_snapshot(store: SnapshotSource) -> Snapshot:
    """Read a snapshot from the store (blocking; call it from a worker thread in async code).

    The generation is read first, so a change racing the read shows up again at the next poll.
    """
    generation = store.generation()
    templates = stored_templates(store)
    servers: dict[str, ServerSpec] = {}
    errors: dict[str, str] = {}
    for live in store.list_resources(kind="Server"):
        resource = live.resource
        if not isinstance(resource, Server):
            continue
        try:
            servers[resource.metadata.name] = resolve_server_spec(resource.spec, templates)
        except InvalidUpstreamSpec as error:
            errors[resource.metadata.name] = error.detail
    projects = {
        live.resource.metadata.name: live.resource.spec
        for live in store.list_resources(kind="Project")
        if isinstance(live.resource, Project)
    }
    prompts: dict[str, dict[str, PromptSpec]] = {}
    for live in store.list_resources(kind="Prompt"):
        resource = live.resource
        if isinstance(resource, Prompt) and resource.metadata.project is not None:
            prompts.setdefault(resource.metadata.project, {})[resource.metadata.name] = resource.spec
    pins = {
        live.resource.metadata.name: live.resource.spec
        for live in store.list_resources(kind="ToolPins")
        if isinstance(live.resource, ToolPins)
    }
    policy = PolicySet.from_resources(
        live for kind in POLICY_KINDS for live in store.list_resources(kind=kind)
    )
    proxy_models = {
        live.resource.metadata.name: live.resource.spec
        for live in store.list_resources(kind="ProxyModel")
        if isinstance(live.resource, ProxyModel)
    }
    return Snapshot(generation, projects, servers, errors, prompts, pins, policy, proxy_models)


def _reason(error: BaseException) -> str:
    """The first line of the innermost error (a task group wraps the feed reader's)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


OnChange = Callable[[Snapshot, Snapshot, set[str]], Awaitable[None]]
"""Called with (old, new, changed project names) after each reload that changed something."""


class LiveState:
    """The current snapshot plus the loop that keeps it in step with the store."""

    def __init__(
        self,
        store: SnapshotSource,
        *,
        poll_interval: float = 1.0,
        changes: ChangeSource | None = None,
        retry_interval: float = 5.0,
    ) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self.changes = changes
        """The store's change feed (PostgreSQL); None: polling only (SQLite)."""
        self.retry_interval = retry_interval
        """Seconds between attempts to reconnect a lost change feed."""
        self.snapshot = Snapshot(generation=-1)
        self.last_error: str | None = None
        self.reloads = 0
        self.notifications = 0
        """Change notifications that led to a reload."""
        self.listening = False
        """True while the change feed is connected."""
        self._reload_lock = anyio.Lock()  # the poll loop and the feed must not reload at the same time

    async def load(self) -> Snapshot:
        """Read the store now and make the result current."""
        self.snapshot = await anyio.to_thread.run_sync(load_snapshot, self.store)
        self.reloads += 1
        return self.snapshot

    async def poll_once(self, on_change: OnChange | None = None) -> bool:
        """Reload when the store generation moved; True when it did. Store errors are kept, not raised."""
        async with self._reload_lock:
            return await self._poll_once(on_change)

    async def _poll_once(self, on_change: OnChange | None) -> bool:
        try:
            generation = await anyio.to_thread.run_sync(self.store.generation)
            if generation == self.snapshot.generation:
                self.last_error = None
                return False
            old = self.snapshot
            new = await self.load()
            self.last_error = None
        except Exception as error:  # the store may be briefly unreachable; keep serving the last snapshot
            self.last_error = f"{type(error).__name__}: {error}"
            logger.warning("store poll failed: %s", self.last_error)
            return False
        changed = old.changed_projects(new)
        logger.info(
            "store generation %s -> %s; projects changed: %s",
            old.generation,
            new.generation,
            ", ".join(sorted(changed)) or "none",
        )
        if on_change is not None:
            try:
                await on_change(old, new, changed)
            except Exception:  # a failed reaction must not stop the polling loop
                logger.exception("applying store generation %s failed", new.generation)
        return True

    async def run(self, on_change: OnChange | None = None) -> None:
        """Poll forever (until cancelled), and follow the change feed when there is one."""
        async with anyio.create_task_group() as group:
            if self.changes is not None:
                group.start_soon(self._follow, self.changes, on_change)
            while True:
                await anyio.sleep(self.poll_interval)
                await self.poll_once(on_change)

    async def _follow(self, changes: ChangeSource, on_change: OnChange | None) -> None:
        """Reload on every announced generation newer than the snapshot; reconnect when the feed drops."""
        lost = False
        while True:
            try:
                async with changes.listen() as generations:
                    self.listening = True
                    if lost:
                        logger.info("store change feed reconnected")
                        lost = False
                    await self.poll_once(on_change)  # what committed while nothing listened
                    async for generation in generations:
                        # A burst of commits costs one reload: the first reads the newest generation.
                        if generation > self.snapshot.generation and await self.poll_once(on_change):
                            self.notifications += 1
            except Exception as error:  # the poll keeps the gateway current meanwhile
                if not lost:
                    logger.warning(
                        "store change feed lost (%s); polling every %s s, reconnecting every %s s",
                        _reason(error),
                        self.poll_interval,
                        self.retry_interval,
                    )
                lost = True
            finally:
                self.listening = False
            await anyio.sleep(self.retry_interval)

    def describe(self) -> dict[str, Any]:
        """State for the readiness probe and the admin API."""
        feed = None if self.changes is None else ("listening" if self.listening else "reconnecting")
        return {
            "generation": self.snapshot.generation,
            "reloads": self.reloads,
            "lastError": self.last_error,
            "changeFeed": feed,
        }
