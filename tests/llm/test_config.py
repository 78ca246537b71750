"""Loading the LLM configuration, from a YAML file or `MCPCTL_LLM_*`; problems point at line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpctl.errors import LlmConfigError, ValidationFailed
from mcpctl.llm import config_from_env, load_llm_config, load_providers, vllm_home


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llm.yaml"
    path.write_text(text)
    return path


def problems(error: pytest.ExceptionInfo[LlmConfigError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def test_a_valid_file_loads_with_defaults_and_order_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
providers:
  - name: local
    url: http://127.0.0.1:8000/v1/
    model: smollm2
  - name: big
    url: https://llm.example.com/v1
    model: qwen
    tier: heavy
    dialect: openai
    timeoutSeconds: 5
    apiKey: {fromEnv: BIG_KEY}
  - name: managed
    model: smollm2
    managed: {port: 8011, env: {VLLM_CPU_KVCACHE_SPACE: "1"}}
""",
    )
    config = load_llm_config(path, {"BIG_KEY": "k"})
    local, big, managed = config.providers
    assert (local.tier, local.dialect, local.timeout_seconds, local.base_url) == (
        "fast",
        "auto",
        30.0,
        "http://127.0.0.1:8000/v1",
    )
    assert big.api_key is not None and big.api_key.from_env == "BIG_KEY"
    assert (big.tier, big.dialect, big.timeout_seconds) == ("heavy", "openai", 5.0)
    assert managed.managed is not None and managed.base_url == "http://127.0.0.1:8011/v1"
    assert managed.managed.python_path({"MCPCTL_VLLM_HOME": "/v"}) == "/v/venv/bin/python"
    assert managed.managed.model_path({"MCPCTL_VLLM_HOME": "/v"}) == "/v/models/smollm2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "providers:\n  - name: a\n    url: ftp://x/v1\n    model: m\n",
            "llm.yaml:3:10: providers[0].url: must be an http:// or https:// URL",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    modle: m\n",
            "llm.yaml:4:5: providers[0].modle: unknown field 'modle'",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n",
            "llm.yaml:2:5: providers[0].model: 'model' is required",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n    tier: medium\n",
            "llm.yaml:5:11: providers[0].tier: Input should be 'fast' or 'heavy'",
        ),
        (
            "providers:\n  - name: a\n    model: m\n",
            "llm.yaml:2:5: providers[0]: 'url' is required (or 'managed' for a vLLM that mcpctl starts)",
        ),
        (
            "providers:\n  - name: a\n    model: m\n    url: http://x/v1\n    managed: {}\n",
            "llm.yaml:2:5: providers[0]: give either 'url' or 'managed', not both",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n"
            "  - name: a\n    url: http://y/v1\n    model: m\n",
            "llm.yaml:5:11: providers[1].name: provider name 'a' is used twice",
        ),
        (
            "providers:\n  - name: Bad Name\n    url: http://x/v1\n    model: m\n",
            "llm.yaml:2:11: providers[0].name: must be lowercase letters",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n    timeoutSeconds: 0\n",
            "llm.yaml:5:21: providers[0].timeoutSeconds: Input should be greater than 0",
        ),
        ("providers: []\n", "llm.yaml:1:1: providers: at least one provider is required"),
        ("provider:\n  - name: a\n", "llm.yaml:1:1: provider: unknown field 'provider'"),
        ("providers:\n  - name: a\n   url: x\n", "llm.yaml:3:4: YAML syntax error"),
        ("", "llm.yaml: expected one YAML document with 'providers:', found no document"),
        ("- name: a\n", "llm.yaml:1:1: a document must be a mapping"),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n"
            "    apiKey: {fromEnv: NOT_SET_ANYWHERE}\n",
            "llm.yaml:5:23: providers[0].apiKey.fromEnv: environment variable NOT_SET_ANYWHERE is not set",
        ),
        (
            "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n    apiKey: sk-literal\n",
            "llm.yaml:5:13: providers[0].apiKey: expected a mapping",
        ),
    ],
)
def test_problems_point_at_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LlmConfigError) as error:
        load_llm_config(path, {})
    found = [line.replace(str(tmp_path) + "/", "") for line in problems(error)]
    assert any(line.startswith(expected) for line in found), found
    assert error.value.detail.startswith(f"invalid LLM configuration {path}: ")
    assert isinstance(error.value, ValidationFailed)  # the CLI prints each problem on its own line


def test_a_literal_api_key_is_not_repeated_in_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path, "providers:\n  - name: a\n    url: http://x/v1\n    model: m\n    apiKey: sk-SECRET123\n"
    )
    with pytest.raises(LlmConfigError) as error:
        load_llm_config(path, {})
    assert "sk-SECRET123" not in "\n".join(problems(error)) + error.value.detail


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(LlmConfigError) as error:
        load_llm_config(tmp_path / "nope.yaml")
    assert problems(error) == [f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"]


def test_env_vars_configure_one_fast_provider_named_default() -> None:
    config = config_from_env({"MCPCTL_LLM_URL": "http://127.0.0.1:8000/v1", "MCPCTL_LLM_MODEL": "smollm2"})
    assert config is not None
    (provider,) = config.providers
    assert (provider.name, provider.tier, provider.base_url, provider.model, provider.api_key) == (
        "default",
        "fast",
        "http://127.0.0.1:8000/v1",
        "smollm2",
        None,
    )
    keyed = config_from_env(
        {"MCPCTL_LLM_URL": "http://h/v1", "MCPCTL_LLM_MODEL": "m", "MCPCTL_LLM_API_KEY": "k"}
    )
    assert keyed is not None and keyed.providers[0].api_key is not None
    assert config_from_env({}) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"MCPCTL_LLM_URL": "http://h/v1"},
            "<environment>: MCPCTL_LLM_MODEL: is required when MCPCTL_LLM_URL is set",
        ),
        (
            {"MCPCTL_LLM_MODEL": "m"},
            "<environment>: MCPCTL_LLM_URL: is required when MCPCTL_LLM_MODEL is set",
        ),
        (
            {"MCPCTL_LLM_URL": "localhost:8000", "MCPCTL_LLM_MODEL": "m"},
            "<environment>: MCPCTL_LLM_URL: must be",
        ),
    ],
)
def test_env_var_problems_name_the_variable(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(LlmConfigError) as error:
        config_from_env(environ)
    assert any(line.startswith(expected) for line in problems(error)), problems(error)


def test_load_providers_prefers_the_file_then_env_then_none(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  - name: filed\n    url: http://x/v1\n    model: m\n")
    environ = {"MCPCTL_LLM_URL": "http://h/v1", "MCPCTL_LLM_MODEL": "m"}
    assert [p.name for p in load_providers(path, environ=environ).providers] == ["filed"]
    assert [p.name for p in load_providers(None, environ=environ).providers] == ["default"]
    assert len(load_providers(None, environ={})) == 0


def test_vllm_home_follows_the_env_var(tmp_path: Path) -> None:
    assert vllm_home({"MCPCTL_VLLM_HOME": str(tmp_path)}) == tmp_path
    assert vllm_home({}) == Path.home() / ".cache" / "mcpctl-vllm"
