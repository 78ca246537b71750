"""What the LLM layer hands back: chat messages in, answers with who answered and how long it took, health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict

from mcpctl.errors import ProviderError


class Message(TypedDict):
    """One chat message, as OpenAI's `/v1/chat/completions` takes it."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Attempt:
    """One provider tried by a call: how long it took and, when it failed, why."""

    provider: str
    seconds: float
    error: ProviderError | None = None


@dataclass(frozen=True)
class Completion:
    """A plain text answer."""

    text: str
    provider: str
    """Name of the provider that answered."""
    model: str
    """Model that answered."""
    seconds: float
    """Whole call, failed attempts included."""
    attempts: tuple[Attempt, ...]
    """Every provider tried, in order; the last one answered."""


@dataclass(frozen=True)
class JsonChoice:
    """A constrained JSON answer, parsed and checked against the schema it was asked for."""

    value: Any
    provider: str
    model: str
    seconds: float
    attempts: tuple[Attempt, ...]


HealthState = Literal["ready", "starting", "down"]


@dataclass(frozen=True)
class ProviderHealth:
    """The outcome of a provider's `/v1/models` check (cached: successes 60 s, failures 10 s)."""

    provider: str
    state: HealthState
    """`ready`: answers and serves the model; `starting`: a managed vLLM still loading; `down`: otherwise."""
    detail: str
    """Why it is not ready (empty when ready)."""
    seconds: float | None
    """Latency of the check; None when nothing was asked (a managed vLLM not yet listening)."""
    checked_at: datetime
    models: tuple[str, ...] = ()
    """Models the server lists."""
    dialect: Literal["vllm", "openai"] | None = None
    """How it takes constrained JSON, when known."""

    @property
    def ok(self) -> bool:
        return self.state == "ready"
