"""The LLM configuration: a YAML file of providers, or `MCPCTL_LLM_URL` + `MCPCTL_LLM_MODEL` for one.

Problems point at file, line and field like every other mcpctl input (`llm.yaml:4:10: providers[0].url: ...`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from mcpctl.errors import LlmConfigError
from mcpctl.schemas import Document, FieldPath, FromEnv, Problem, load_text

Tier = Literal["fast", "heavy"]
"""`fast` answers short constrained choices (tool selection); `heavy` writes summaries and titles."""
TIERS: tuple[Tier, ...] = ("fast", "heavy")
Dialect = Literal["auto", "vllm", "openai"]
"""How constrained JSON is asked for: vLLM's `structured_outputs`, or OpenAI's `response_format`."""

ENV_URL = "MCPCTL_LLM_URL"
ENV_MODEL = "MCPCTL_LLM_MODEL"
ENV_API_KEY = "MCPCTL_LLM_API_KEY"
ENV_VLLM_HOME = "MCPCTL_VLLM_HOME"
ENV_SOURCE = "<environment>"
"""How the environment is named in problems about `MCPCTL_LLM_*` variables."""
DEFAULT_PROVIDER = "default"
"""Name of the one provider the environment variables configure."""
MAX_CONFIG_BYTES = 1024 * 1024

ProviderName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/\S*)?$")]


def vllm_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where `make vllm` keeps the vLLM venv and model: `$MCPCTL_VLLM_HOME`, or ~/.cache/mcpctl-vllm."""
    environ = os.environ if environ is None else environ
    home = environ.get(ENV_VLLM_HOME)
    return Path(home).expanduser() if home else Path.home() / ".cache" / "mcpctl-vllm"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        use_attribute_docstrings=True,
    )


class ManagedVllmConfig(_Model):
    """A vLLM OpenAI server that mcpctl starts as a subprocess, warms up, health-checks and stops."""

    python: str | None = None
    """Interpreter of a venv with vLLM installed; default: the venv `make vllm` builds."""
    model: str | None = None
    """Model directory (or Hugging Face id) vLLM loads; default: the model `make vllm` converts."""
    host: str = "127.0.0.1"
    """Address vLLM binds."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """Port vLLM binds; the provider's URL is `http://HOST:PORT/v1`."""
    max_model_len: Annotated[int, Field(ge=128)] = 2048
    """Context length vLLM reserves KV cache for."""
    dtype: str = "auto"
    """Weights' dtype (`auto`, `bfloat16`, `float16`, ...)."""
    extra_args: list[str] = Field(default_factory=list)
    """More command-line arguments for vLLM's OpenAI server."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables added for vLLM (e.g. `VLLM_CPU_KVCACHE_SPACE: "1"`)."""
    startup_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 600.0
    """Deadline for vLLM to answer `/v1/models` after it is started."""
    log_file: str | None = None
    """File vLLM's output goes to; default: `<vllm home>/logs/<provider>.log`."""

    def python_path(self, environ: Mapping[str, str] | None = None) -> str:
        return os.path.expanduser(self.python) if self.python else str(vllm_home(environ) / "venv/bin/python")

    def model_path(self, environ: Mapping[str, str] | None = None) -> str:
        if self.model:
            expanded = os.path.expanduser(self.model)
            return expanded if os.path.exists(expanded) else self.model
        return str(vllm_home(environ) / "models" / "smollm2")


class ProviderConfig(_Model):
    """One OpenAI-compatible server (vLLM or any other) and the model mcpctl asks it for."""

    name: ProviderName
    """Name that projects' `spec.llm.provider` and the fallback chain refer to."""
    url: HttpUrl | None = None
    """OpenAI base URL, as OpenAI clients take it: `http://host:port/v1`. Derived for a managed provider."""
    model: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Model name to ask for (a managed vLLM serves its model under this name)."""
    tier: Tier = "fast"
    """Tier this provider serves: `fast` (tool selection) or `heavy` (summaries, titles)."""
    dialect: Dialect = "auto"
    """`vllm`: constrained JSON by `structured_outputs`; `openai`: by `response_format`; `auto`: detected."""
    api_key: FromEnv | None = None
    """`{fromEnv: VAR}`: the API key is read from this environment variable; sent as a bearer token."""
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """Longest one call to this provider may take (a call's own budget may be shorter)."""
    managed: ManagedVllmConfig | None = None
    """Start and stop a vLLM server for this provider (needs vLLM: `make vllm`, or the `vllm` extra)."""

    @model_validator(mode="after")
    def _url_or_managed(self) -> ProviderConfig:
        if self.managed is None and self.url is None:
            raise ValueError("'url' is required (or 'managed' for a vLLM that mcpctl starts)")
        if self.managed is not None and self.url is not None:
            raise ValueError("give either 'url' or 'managed', not both (a managed provider's URL is derived)")
        return self

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, without a trailing slash."""
        if self.managed is not None:
            return f"http://{self.managed.host}:{self.managed.port}/v1"
        assert self.url is not None
        return self.url.rstrip("/")


class LlmConfig(_Model):
    """The gateway's LLM providers, in fallback order within each tier."""

    providers: Annotated[list[ProviderConfig], Field(min_length=1, max_length=64)]
    """Providers; within a tier they are tried in this order."""

    @model_validator(mode="after")
    def _unique_names(self) -> LlmConfig:
        seen: set[str] = set()
        for provider in self.providers:
            if provider.name in seen:
                raise ValueError(f"provider name {provider.name!r} is used twice")
            seen.add(provider.name)
        return self


def load_llm_config(path: str | Path, environ: Mapping[str, str] | None = None) -> LlmConfig:
    """Read and validate an LLM configuration file; LlmConfigError lists every problem at its line and field.

    An `apiKey.fromEnv` variable missing from `environ` (default: the process environment) is a problem too.
    """
    environ = os.environ if environ is None else environ
    shown = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise LlmConfigError(
            [Problem(shown, message=f"cannot read: {error.strerror or error}")], shown
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise LlmConfigError([Problem(shown, message="file is larger than 1 MiB")], shown)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problem = Problem(shown, message=f"not UTF-8 text (bad byte at offset {error.start})")
        raise LlmConfigError([problem], shown) from None
    loaded = load_text(text, shown)
    if loaded.problems:
        raise LlmConfigError(loaded.problems, shown)
    if len(loaded.documents) != 1:
        found = "no document" if not loaded.documents else f"{len(loaded.documents)} documents"
        problem = Problem(shown, message=f"expected one YAML document with 'providers:', found {found}")
        raise LlmConfigError([problem], shown)
    document = loaded.documents[0]
    try:
        config = LlmConfig.model_validate(document.data)
    except ValidationError as error:
        raise LlmConfigError(_problems(document, error), shown) from None
    missing = [
        document.problem(
            ("providers", index, "apiKey", "fromEnv"),
            f"environment variable {provider.api_key.from_env} is not set",
        )
        for index, provider in enumerate(config.providers)
        if provider.api_key is not None and provider.api_key.from_env not in environ
    ]
    if missing:
        raise LlmConfigError(missing, shown)
    return config


def config_from_env(environ: Mapping[str, str] | None = None) -> LlmConfig | None:
    """The one-provider configuration of `MCPCTL_LLM_URL` + `MCPCTL_LLM_MODEL` (named `default`, tier fast).

    None when neither is set. `MCPCTL_LLM_API_KEY`, when set, is that provider's API key.
    """
    environ = os.environ if environ is None else environ
    url, model = environ.get(ENV_URL, ""), environ.get(ENV_MODEL, "")
    if not url and not model:
        return None
    problems = [
        Problem(ENV_SOURCE, field=name, message=f"is required when {other} is set")
        for name, value, other in ((ENV_URL, url, ENV_MODEL), (ENV_MODEL, model, ENV_URL))
        if not value
    ]
    if problems:
        raise LlmConfigError(problems, ENV_SOURCE)
    data: dict[str, Any] = {"name": DEFAULT_PROVIDER, "url": url, "model": model, "tier": "fast"}
    if environ.get(ENV_API_KEY):
        data["apiKey"] = {"fromEnv": ENV_API_KEY}
    try:
        return LlmConfig(providers=[ProviderConfig.model_validate(data)])
    except ValidationError as error:
        fields = {"url": ENV_URL, "model": ENV_MODEL}
        found = [
            Problem(ENV_SOURCE, field=fields.get(str(item["loc"][-1]), ENV_URL), message=_message(item))
            for item in error.errors(include_url=False, include_input=False)
        ]
        raise LlmConfigError(found, ENV_SOURCE) from None


def _problems(document: Document, error: ValidationError) -> list[Problem]:
    found: list[Problem] = []
    for item in error.errors(include_url=False, include_input=False):
        path: FieldPath = tuple(item["loc"])
        if item["type"] == "value_error" and "used twice" in item["msg"]:
            path = _duplicate_name_path(document, item["msg"])
        found.append(document.problem(path, _message(item), key=item["type"] == "extra_forbidden"))
    unique = {(p.line, p.col, p.field, p.message): p for p in found}
    return sorted(unique.values(), key=Problem.sort_key)


def _duplicate_name_path(document: Document, message: str) -> FieldPath:
    providers = document.data.get("providers", [])
    names = [p.get("name") if isinstance(p, dict) else None for p in providers]
    name = message.split("'")[1] if "'" in message else None
    indexes = [i for i, n in enumerate(names) if n == name]
    return ("providers", indexes[-1], "name") if len(indexes) > 1 else ("providers",)


def _message(item: Any) -> str:
    kind, message, loc = item["type"], str(item["msg"]), item["loc"]
    if kind == "extra_forbidden":
        return f"unknown field {str(loc[-1])!r}"
    if kind == "missing":
        return f"{str(loc[-1])!r} is required"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "url":
        return "must be an http:// or https:// URL (the OpenAI base URL, like http://host:8000/v1)"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        return "must be lowercase letters, digits, '-', '_' or '.', starting and ending alphanumeric"
    if kind == "too_short" and tuple(loc) == ("providers",):
        return "at least one provider is required"
    if kind in ("model_type", "dict_type"):
        return "expected a mapping"
    if kind == "list_type":
        return "expected a list"
    return message.removeprefix("Value error, ")
