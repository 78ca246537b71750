"""One OpenAI-compatible server over httpx: chat completions (constrained JSON or text) and cached health.

Errors become the typed `ProviderError`s of `mcpctl.errors`. No prompt, answer or API key ever reaches a log
or an error message: a server's error message is kept only when it shares no run of characters with the
prompt (validation errors may echo the request).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx

from mcpctl.errors import (
    InvalidAnswer,
    ModelNotServed,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

from ._config import ProviderConfig
from ._results import Message, ProviderHealth

if TYPE_CHECKING:
    from ._managed import ManagedVllm

logger = logging.getLogger("mcpctl.llm")

HEALTHY_TTL = 60.0
"""Seconds a successful health check is reused."""
UNHEALTHY_TTL = 10.0
"""Seconds a failed health check (or a call that found the server down) is reused."""
HEALTH_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 1024 * 1024
"""A larger response body is refused, not read: no answer mcpctl asks for is anywhere near this big."""
MAX_SERVER_MESSAGE = 200
ECHO_WINDOW = 12
"""A server's error message sharing this many consecutive characters with the prompt is not repeated."""


class OpenAIProvider:
    """A provider of the LLM layer: `/v1/chat/completions` and `/v1/models` of one server, one model.

    `process` is set for a managed vLLM: while it loads, health says `starting` without asking it.
    """

    def __init__(
        self,
        config: ProviderConfig,
        client: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        process: ManagedVllm | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.process = process
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._clock = clock
        self._dialect: Literal["vllm", "openai"] | None = None if config.dialect == "auto" else config.dialect
        self._health: tuple[float, ProviderHealth] | None = None

    def __repr__(self) -> str:
        return f"OpenAIProvider({self.name!r}, {self.url!r}, model={self.model!r}, tier={self.tier!r})"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def tier(self) -> str:
        return self.config.tier

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def url(self) -> str:
        """The OpenAI base URL (`.../v1`)."""
        return self.config.base_url

    def cached_health(self) -> ProviderHealth | None:
        """The last health outcome while it is fresh (60 s when ready, 10 s when not), else None."""
        starting = self._process_health()
        if starting is not None:
            return starting
        if self._health is not None and self._clock() < self._health[0]:
            return self._health[1]
        return None

    async def health(self, *, refresh: bool = False) -> ProviderHealth:
        """Ask `/v1/models` whether the server answers and serves the model (reusing a fresh outcome)."""
        cached = None if refresh else self.cached_health()
        if cached is not None:
            return cached
        starting = self._process_health()
        if starting is not None:
            return starting
        started = self._clock()
        try:
            with anyio.fail_after(HEALTH_TIMEOUT):
                response = await self._client.get(f"{self.url}/models", headers=self._headers)
            models = _models(response, self)
        except ProviderError as error:
            return self._remember(_health(self.name, "down", _reason(error), self._clock() - started))
        except TimeoutError:
            return self._remember(
                _health(self.name, "down", f"no answer within {HEALTH_TIMEOUT:g}s", self._clock() - started)
            )
        except httpx.HTTPError as error:
            return self._remember(
                _health(self.name, "down", _transport_reason(self.url, error), self._clock() - started)
            )
        seconds = self._clock() - started
        ids = tuple(str(entry.get("id")) for entry in models)
        served = next((entry for entry in models if entry.get("id") == self.model), None)
        if self.config.dialect == "auto" and served is not None:
            self._dialect = "vllm" if served.get("owned_by") == "vllm" else "openai"
        if served is None:
            listed = ", ".join(ids[:10]) or "none"
            return self._remember(
                _health(
                    self.name, "down", f"does not serve model {self.model!r} (serves: {listed})", seconds, ids
                )
            )
        return self._remember(_health(self.name, "ready", "", seconds, ids, self._dialect))

    def mark_down(self, error: ProviderError) -> None:
        """Record that a call found the server down, so the next calls skip it for a while."""
        self._remember(_health(self.name, "down", _reason(error), None))

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None,
        model: str | None,
        max_tokens: int,
        temperature: float,
        timeout: float,
    ) -> tuple[str, bool]:
        """The answer's text and whether max_tokens cut it off; with `schema`, asked for as JSON matching it.

        The caller parses and checks the JSON: a server that ignores the constraint is caught there.
        """
        body: dict[str, Any] = {
            "model": model or self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        try:
            with anyio.fail_after(timeout):  # the dialect check, when one is needed, counts against it too
                if schema is not None:
                    body.update(await self._constraint(schema))
                raw, status = await self._post(body, timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderTimeout(f"no answer within {timeout:.3g}s", self.name) from None
        except httpx.HTTPError as error:
            raise ProviderUnavailable(_transport_reason(self.url, error), self.name) from None
        if status != 200:
            request_text = "\n".join(message["content"] for message in messages)
            raise _status_error(status, raw, self.name, body["model"], request_text)
        return _content(raw, self.name)

    async def _constraint(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The request fields that constrain the answer to `schema`, in this server's dialect."""
        if self._dialect is None:
            health = await self.health()
            if not health.ok:
                raise ProviderUnavailable(health.detail, self.name)
        if self._dialect == "vllm":
            return {"structured_outputs": {"json": schema}}
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        }

    async def _post(self, body: dict[str, Any], timeout: float) -> tuple[bytes, int]:
        async with self._client.stream(
            "POST", f"{self.url}/chat/completions", json=body, headers=self._headers, timeout=timeout
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise InvalidAnswer(f"answer is larger than {MAX_ANSWER_BYTES // 1024} KiB", self.name)
                chunks.append(chunk)
            return b"".join(chunks), response.status_code

    def _process_health(self) -> ProviderHealth | None:
        if self.process is None:
            return None
        state, detail = self.process.state, self.process.detail()
        if state == "starting":
            return _health(self.name, "starting", detail, None)
        if state == "failed":
            return _health(self.name, "down", detail, None)
        return None

    def _remember(self, health: ProviderHealth) -> ProviderHealth:
        ttl = HEALTHY_TTL if health.ok else UNHEALTHY_TTL
        self._health = (self._clock() + ttl, health)
        return health


def _health(
    name: str,
    state: Literal["ready", "starting", "down"],
    detail: str,
    seconds: float | None,
    models: tuple[str, ...] = (),
    dialect: Literal["vllm", "openai"] | None = None,
) -> ProviderHealth:
    return ProviderHealth(name, state, detail, seconds, datetime.now(UTC), models, dialect)


def _reason(error: ProviderError) -> str:
    return error.detail.removeprefix(f"{error.provider}: ")


def _transport_reason(url: str, error: httpx.HTTPError) -> str:
    # httpx's text names the host and the OS error; it never holds headers or bodies.
    text = str(error).splitlines()[0] if str(error) else ""
    return f"cannot reach {url}: {type(error).__name__}" + (f" ({text})" if text else "")


def _models(response: httpx.Response, provider: OpenAIProvider) -> list[dict[str, Any]]:
    if response.status_code != 200:
        raise _status_error(response.status_code, response.content, provider.name, provider.model)
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        data = None
    if not isinstance(data, list):
        raise InvalidAnswer("/v1/models did not answer an OpenAI model list", provider.name)
    return [entry for entry in data if isinstance(entry, dict)]


def _error_fields(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _server_message(fields: dict[str, Any], request_text: str) -> str:
    """The server's error message, unless it may echo the request: it shares a run of characters with it."""
    message = " ".join(str(fields.get("message") or "").split())[:MAX_SERVER_MESSAGE]
    windows = [message[i : i + ECHO_WINDOW] for i in range(max(1, len(message) - ECHO_WINDOW + 1))]
    return "" if not message or any(window in request_text for window in windows) else f": {message}"


def _status_error(
    status: int, raw: bytes, provider: str, model: str, request_text: str = ""
) -> ProviderError:
    fields = _error_fields(raw)
    said = _server_message(fields, request_text)
    kind = "".join(str(fields.get(key) or "") for key in ("type", "code") if isinstance(fields.get(key), str))
    mentions_model = fields.get("param") == "model" or "model" in str(fields.get("message", "")).lower()
    if status == 404 and (mentions_model or "model" in kind.lower()):
        return ModelNotServed(f"does not serve model {model!r} (HTTP 404)", provider)
    if status in (401, 403):
        return ProviderRejected(f"HTTP {status}: the API key was refused or is missing", provider, status)
    label = f"HTTP {status}" + (f" ({kind[:60]})" if kind else "")
    if status == 404:
        return ProviderRejected(f"{label}: not found; is the url the OpenAI base URL (…/v1)?", provider, 404)
    if status >= 500 or status in (408, 429):
        return ProviderUnavailable(f"{label}: server error or overloaded{said}", provider)
    return ProviderRejected(f"{label}: the request was refused{said}", provider, status)


def _content(raw: bytes, provider: str) -> tuple[str, bool]:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise InvalidAnswer("the answer is not an OpenAI chat completion", provider) from None
    if not isinstance(content, str):
        raise InvalidAnswer("the answer has no text content", provider)
    return content, choice.get("finish_reason") == "length"
