"""The provider set the gateway holds: tiers, the fallback chain, constrained JSON and text calls, health.

    async with load_providers(config_file) as llm:          # starts managed vLLMs (not waiting for them)
        choice = await llm.choose_json(messages, schema, tier="fast", timeout=2.0)
        choice.value, choice.provider, choice.seconds

A call walks the chain (the named provider, then the tier's providers in order, then the other tier's)
within one time budget; a provider that failed a health check or a call in the last 10 s is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from mcpctl.errors import (
    InvalidAnswer,
    LlmConfigError,
    LlmError,
    NoProviderAvailable,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnknownProvider,
)
from mcpctl.schemas import Problem

from ._config import TIERS, LlmConfig, Tier, config_from_env, load_llm_config
from ._managed import ManagedVllm
from ._provider import OpenAIProvider
from ._results import Attempt, Completion, JsonChoice, Message, ProviderHealth

logger = logging.getLogger("mcpctl.llm")

R = TypeVar("R")
Call = Callable[[OpenAIProvider, str | None, float], Awaitable[tuple[R, str]]]


class LlmProviders:
    """Every configured provider, in configuration order; empty when no LLM is configured (falsy then).

    Use it as an async context manager to run managed vLLM servers: entering starts them and warms them in
    the background, leaving stops them. Calls work without entering it; `aclose()` then releases the client.
    """

    def __init__(self, providers: Sequence[OpenAIProvider], client: httpx.AsyncClient) -> None:
        self.providers = tuple(providers)
        self._client = client
        self._by_name = {provider.name: provider for provider in self.providers}
        self._stack: AsyncExitStack | None = None
        self._ready: dict[str, anyio.Event] = {}

    @classmethod
    def from_config(
        cls, config: LlmConfig | None, *, environ: Mapping[str, str] | None = None, source: str = "<config>"
    ) -> LlmProviders:
        """Providers of `config` (None: none), API keys read from `environ` (default: the process's)."""
        environ = os.environ if environ is None else environ
        configs = config.providers if config is not None else []
        missing = [
            Problem(
                source, field=f"providers[{index}].apiKey.fromEnv", message=f"{p.api_key.from_env} is not set"
            )
            for index, p in enumerate(configs)
            if p.api_key is not None and p.api_key.from_env not in environ
        ]
        if missing:
            raise LlmConfigError(missing, source)
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False)
        providers = [
            OpenAIProvider(
                p,
                client,
                api_key=environ[p.api_key.from_env] if p.api_key is not None else None,
                process=ManagedVllm(p.name, p.managed, p.model, environ=environ) if p.managed else None,
            )
            for p in configs
        ]
        return cls(providers, client)

    def __len__(self) -> int:
        return len(self.providers)

    def __repr__(self) -> str:
        return f"LlmProviders({[provider.name for provider in self.providers]})"

    def get(self, name: str) -> OpenAIProvider:
        """The provider named `name`; UnknownProvider when the configuration has none by that name."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise UnknownProvider(f"no LLM provider named {name!r} (configured: {known})") from None

    def chain(self, tier: Tier = "fast", provider: str | None = None) -> list[OpenAIProvider]:
        """The fallback order: `provider` when named, the tier's providers in order, then the other tier's."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r} (one of {', '.join(TIERS)})")
        first = [self.get(provider)] if provider is not None else []
        rest = [p for p in self.providers if p.tier == tier] + [p for p in self.providers if p.tier != tier]
        return first + [p for p in rest if p not in first]

    async def choose_json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        tier: Tier = "fast",
        provider: str | None = None,
        model: str | None = None,
        timeout: float = 10.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
    ) -> JsonChoice:
        """A JSON value matching `schema` (a JSON Schema), constrained at the server and checked here.

        `model` replaces the model of the chain's first provider (a project's `spec.llm.model`). Raises
        NoProviderAvailable (with every provider's failure) when none answers within `timeout` seconds.
        """
        try:
            validator = Draft202012Validator(schema)
            validator.check_schema(schema)
        except SchemaError as error:
            raise LlmError(f"invalid JSON schema for the answer: {error.message}") from None

        async def call(target: OpenAIProvider, asked: str | None, budget: float) -> tuple[Any, str]:
            text, cut = await target.chat(
                messages,
                schema=schema,
                model=asked,
                max_tokens=max_tokens,
                temperature=temperature,
                timeout=budget,
            )
            try:
                value = json.loads(text)
            except ValueError:
                reason = " (cut off at max_tokens)" if cut else ""
                raise InvalidAnswer(f"the answer is not valid JSON{reason}", target.name) from None
            wrong = best_match(validator.iter_errors(value))
            if wrong is not None:
                where = wrong.json_path if wrong.path else "the top level"
                raise InvalidAnswer(
                    f"the answer does not match the schema at {where} ({wrong.validator})", target.name
                )
            return value, asked or target.model

        value, chosen, seconds, attempts = await self._run(self.chain(tier, provider), model, timeout, call)
        return JsonChoice(value, attempts[-1].provider, chosen, seconds, attempts)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tier: Tier = "heavy",
        provider: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        max_tokens: int = 512,
        temperature: float = 0.2,
    ) -> Completion:
        """A text answer (summaries, page titles): the heavy tier by default, falling back to the fast one."""

        async def call(target: OpenAIProvider, asked: str | None, budget: float) -> tuple[str, str]:
            text, _ = await target.chat(
                messages,
                schema=None,
                model=asked,
                max_tokens=max_tokens,
                temperature=temperature,
                timeout=budget,
            )
            return text, asked or target.model

        text, chosen, seconds, attempts = await self._run(self.chain(tier, provider), model, timeout, call)
        return Completion(text, attempts[-1].provider, chosen, seconds, attempts)

    async def health(self, *, refresh: bool = False) -> list[ProviderHealth]:
        """Every provider's health, checked concurrently (fresh cached outcomes reused unless `refresh`)."""
        results: dict[str, ProviderHealth] = {}

        async def check(provider: OpenAIProvider) -> None:
            results[provider.name] = await provider.health(refresh=refresh)

        async with anyio.create_task_group() as group:
            for provider in self.providers:
                group.start_soon(check, provider)
        return [results[provider.name] for provider in self.providers]

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every managed vLLM started by entering the set has finished warming up (or failed)."""
        with anyio.fail_after(timeout):
            for event in self._ready.values():
                await event.wait()

    async def __aenter__(self) -> LlmProviders:
        async with AsyncExitStack() as stack:
            group = await stack.enter_async_context(anyio.create_task_group())
            stack.push_async_callback(self._stop_managed)
            for provider in self.providers:
                process = provider.process
                if process is None:
                    continue
                try:
                    process.start()
                except ProviderError:
                    continue  # its health says why; the chain skips it
                self._ready[provider.name] = anyio.Event()
                group.start_soon(self._warm, process, self._ready[provider.name])
            stack.push_async_callback(self._cancel, group)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop managed vLLM servers (when entered) and close the HTTP client."""
        stack, self._stack = self._stack, None
        try:
            if stack is not None:
                await stack.aclose()
        finally:
            await self._client.aclose()

    async def _warm(self, process: ManagedVllm, ready: anyio.Event) -> None:
        try:
            await process.wait_ready()
        except ProviderError:
            pass  # logged by the process; its health reports it
        except Exception:  # a warm-up bug must not cancel the gateway that holds this task group
            logger.exception("warming up vLLM %s failed", process.name)
        finally:
            ready.set()

    async def _cancel(self, group: anyio.abc.TaskGroup) -> None:
        group.cancel_scope.cancel()

    async def _stop_managed(self) -> None:
        with anyio.CancelScope(shield=True):
            for provider in self.providers:
                if provider.process is not None:
                    await provider.process.stop()

    async def _run(
        self, chain: list[OpenAIProvider], model: str | None, timeout: float, call: Call[R]
    ) -> tuple[R, str, float, tuple[Attempt, ...]]:
        started = time.monotonic()
        deadline = started + timeout
        attempts: list[Attempt] = []
        for index, provider in enumerate(chain):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                attempts.append(
                    Attempt(
                        provider.name,
                        0.0,
                        ProviderTimeout(f"not tried: the {timeout:g}s budget is spent", provider.name),
                    )
                )
                continue
            asked = model if index == 0 else None
            # Health speaks of the configured model; a caller's own model is asked for regardless.
            known = provider.cached_health() if asked is None else None
            if known is not None and not known.ok:
                attempts.append(
                    Attempt(
                        provider.name, 0.0, ProviderUnavailable(f"skipped: {known.detail}", provider.name)
                    )
                )
                continue
            tried = time.monotonic()
            try:
                result, chosen = await call(provider, asked, min(remaining, provider.config.timeout_seconds))
            except ProviderError as error:
                if isinstance(error, ProviderUnavailable | ProviderTimeout):
                    provider.mark_down(error)
                logger.warning("llm provider %s failed: %s", provider.name, error.detail)
                attempts.append(Attempt(provider.name, time.monotonic() - tried, error))
                continue
            attempts.append(Attempt(provider.name, time.monotonic() - tried))
            seconds = time.monotonic() - started
            logger.debug("llm provider %s answered in %.3fs", provider.name, seconds)
            return result, chosen, seconds, tuple(attempts)
        failures = [attempt.error for attempt in attempts if attempt.error is not None]
        if not chain:
            raise NoProviderAvailable("no LLM provider is configured")
        reasons = "; ".join(error.detail for error in failures)
        raise NoProviderAvailable(f"no LLM provider answered: {reasons}", failures)


def load_providers(
    config_file: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> LlmProviders:
    """The gateway's providers: `config_file` (YAML), else `MCPCTL_LLM_URL` + `MCPCTL_LLM_MODEL`, else none.

    Raises LlmConfigError, with every problem at its file, line and field, for a bad configuration.
    """
    environ = os.environ if environ is None else environ
    if config_file is not None:
        return LlmProviders.from_config(
            load_llm_config(config_file, environ), environ=environ, source=str(config_file)
        )
    return LlmProviders.from_config(config_from_env(environ), environ=environ)
