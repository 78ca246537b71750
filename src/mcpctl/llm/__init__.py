"""The LLM layer: OpenAI-compatible providers (vLLM or any other), tiers, fallback, a managed vLLM.

Used by the gateway only; imports nothing of mcpctl but `mcpctl.schemas` and `mcpctl.errors`.
`load_providers(config_file)` builds the provider set; its `choose_json` and `complete` make the calls.
"""

from __future__ import annotations

from ._config import (
    DEFAULT_PROVIDER,
    ENV_API_KEY,
    ENV_MODEL,
    ENV_URL,
    ENV_VLLM_HOME,
    TIERS,
    Dialect,
    LlmConfig,
    ManagedVllmConfig,
    ProviderConfig,
    Tier,
    config_from_env,
    load_llm_config,
    vllm_home,
)
from ._managed import ManagedState, ManagedVllm
from ._provider import HEALTHY_TTL, UNHEALTHY_TTL, OpenAIProvider
from ._providers import LlmProviders, load_providers
from ._results import Attempt, Completion, HealthState, JsonChoice, Message, ProviderHealth

__all__ = [
    "DEFAULT_PROVIDER",
    "ENV_API_KEY",
    "ENV_MODEL",
    "ENV_URL",
    "ENV_VLLM_HOME",
    "HEALTHY_TTL",
    "TIERS",
    "UNHEALTHY_TTL",
    "Attempt",
    "Completion",
    "Dialect",
    "HealthState",
    "JsonChoice",
    "LlmConfig",
    "LlmProviders",
    "ManagedState",
    "ManagedVllm",
    "ManagedVllmConfig",
    "Message",
    "OpenAIProvider",
    "ProviderConfig",
    "ProviderHealth",
    "Tier",
    "config_from_env",
    "load_llm_config",
    "load_providers",
    "vllm_home",
]
