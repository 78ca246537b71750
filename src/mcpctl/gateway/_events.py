"""Typed events of the gateway for observers (metrics now; audit and traces plug in as more sinks).

Events never hold argument, token or secret values: arguments appear as a SHA-256 of their canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import mcp_types as types

from ._context import CallContext
from ._session import CloseReason, GatewaySession

logger = logging.getLogger("mcpctl.gateway.events")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SessionOpened:
    session: GatewaySession
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class SessionClosed:
    session: GatewaySession
    reason: CloseReason
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class RequestFinished:
    """One client request that went through the layers (lists, calls, gets, reads, completions)."""

    call: CallContext
    outcome: str
    """`ok`, `error` (an error result or an upstream's JSON-RPC error), `unavailable` (the upstream failed),
    `timeout` (the upstream did not answer in time), `unknown` (no such tool/prompt/resource), `denied` (a
    layer refused it)."""
    seconds: float
    arguments_digest: str | None = None
    """SHA-256 hex of the canonical JSON of the arguments (tools/call, prompts/get), never the values."""
    result_size: int | None = None
    """Characters of text (and base64 data) in the result."""
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """A layer refused a request (answered to the client as an unknown tool/prompt/resource)."""

    call: CallContext
    reason: str
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ToolsSelected:
    """A gated session's `begin_session` chose its tools: who chose (the LLM or the matcher) and how fast.

    Holds counts and names of tools, never the task text."""

    call: CallContext
    chooser: str
    """`llm` or `matcher`."""
    seconds: float
    """Time the choice took (the LLM's attempts included)."""
    tools: tuple[str, ...]
    """The tools unlocked."""
    candidates: int
    """How many tools the session could have been given."""
    provider: str | None = None
    """The LLM provider that answered (chooser `llm`)."""
    fallback: str | None = None
    """Why the matcher chose (chooser `matcher`)."""
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class PromptProposed:
    """A session proposed a prompt with `propose_prompt` (stored pending review); never holds its content."""

    call: CallContext
    name: str
    chars: int
    """Characters of the proposed content."""
    tags: int
    revised: bool
    """True when it replaced the proposer's own pending proposal of that name."""
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """Token auth refused an HTTP request; never holds the presented value."""

    status: int
    reason: str
    route: str
    """`mcp` or `api`."""
    project: str | None
    client: str | None
    """The client's address as the server saw it (`host:port`), when known."""
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ToolPinMismatch:
    """A server lists a tool whose definition is not the pinned one (`changed`) or is not pinned (`new`).

    Emitted once per definition seen, by the first session whose list or call met it.
    """

    project: str
    server: str
    tool: str
    reason: str
    """`changed` or `new`."""
    action: str
    """`blocked` (hidden and refused) or `served` (pinning: warn)."""
    pinned_sha256: str | None
    live_sha256: str
    session: GatewaySession | None = None
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class DescriptionFlagged:
    """A served tool's description holds hidden characters, an HTML comment or instructions for the model.

    Emitted once per definition seen; `findings` say what (never the hidden text itself).
    """

    project: str
    server: str
    tool: str
    findings: tuple[str, ...]
    stripped: bool
    """True when `descriptionHygiene: strip` removed the invisible characters before serving."""
    session: GatewaySession | None = None
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ConfigReloaded:
    """The gateway took a new store generation (emitted once the pool and the sessions have it)."""

    generation: int
    previous: int
    projects: frozenset[str]
    """Projects whose served configuration changed."""
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ClientRequestRelayed:
    """A server→client request (elicitation, sampling, roots) an upstream sent, and what became of it.

    Holds no content: neither the question, the prompt, nor the client's answer.
    """

    server: str
    method: str
    """`elicitation/create`, `sampling/createMessage` or `roots/list`."""
    outcome: str
    """`answered` (the client's answer went back), `error` (the client answered with an error), `timeout`,
    `unsupported` (the client lacks the capability), `unrouted` (no single client session caused it),
    `limited` (too many pending) or `cancelled`."""
    seconds: float
    session: GatewaySession | None
    """The client session it was relayed to (None when it could not be tied to one)."""
    call: CallContext | None
    """The client request during which the upstream asked."""
    at: datetime = field(default_factory=_now)


GatewayEvent = (
    SessionOpened
    | SessionClosed
    | RequestFinished
    | AccessDenied
    | AuthFailed
    | ToolPinMismatch
    | DescriptionFlagged
    | ConfigReloaded
    | ToolsSelected
    | PromptProposed
    | ClientRequestRelayed
)


class EventSink(Protocol):
    """Receives every event; `emit` runs on the request path, so it must only record or enqueue."""

    def emit(self, event: GatewayEvent) -> None: ...


class Events:
    """Fans each event out to the sinks; a failing sink is logged and never fails the request."""

    def __init__(self, sinks: Iterable[EventSink] = ()) -> None:
        self.sinks: list[EventSink] = list(sinks)

    def add(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    def emit(self, event: GatewayEvent) -> None:
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:
                logger.exception("event sink %s failed on %s", type(sink).__name__, type(event).__name__)


def arguments_digest(arguments: Mapping[str, Any] | None) -> str:
    """SHA-256 hex of the arguments' canonical JSON (sorted keys, no spaces); `{}` when there are none."""
    canonical = json.dumps(
        arguments or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_size(blocks: Iterable[Any]) -> int:
    """Characters of text and base64 data in content blocks or resource contents."""
    size = 0
    for block in blocks:
        if isinstance(block, types.TextContent | types.TextResourceContents):
            size += len(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent | types.BlobResourceContents):
            size += len(block.data if not isinstance(block, types.BlobResourceContents) else block.blob)
        elif isinstance(block, types.EmbeddedResource):
            size += content_size([block.resource])
    return size


def client_address(scope: Mapping[str, Any]) -> str | None:
    """`host:port` of the ASGI client, when the server reports it."""
    client = scope.get("client")
    if not client:
        return None
    host, port = client[0], client[1]
    return f"{host}:{port}"
