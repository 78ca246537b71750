"""Tests of SecretResolver: secrets directory, env fallbacks, and errors that never carry a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpctl.gateway import MissingSecret, SecretResolver, UpstreamError
from mcpctl.gateway._secrets import secret_env_name
from mcpctl.schemas import FromEnv, SecretKeyRef, SecretRef


def ref(name: str, key: str) -> SecretRef:
    return SecretRef(secret_ref=SecretKeyRef(name=name, key=key))


def write_secret(root: Path, name: str, key: str, value: str) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / key).write_text(value)


def test_literal_is_returned_as_is() -> None:
    assert SecretResolver(environ={}).resolve("s", "env.A", "plain value") == "plain value"


def test_secret_file_strips_exactly_one_trailing_newline(tmp_path: Path) -> None:
    write_secret(tmp_path, "api", "token", "s3cr3t\n")
    write_secret(tmp_path, "api", "two", "line\n\n")
    write_secret(tmp_path, "api", "crlf", "win\r\n")
    resolver = SecretResolver(secrets_dir=tmp_path, environ={})
    assert resolver.resolve("s", "env.TOKEN", ref("api", "token")) == "s3cr3t"
    assert resolver.resolve("s", "env.TWO", ref("api", "two")) == "line\n"
    assert resolver.resolve("s", "env.WIN", ref("api", "crlf")) == "win"


def test_secret_file_wins_over_env(tmp_path: Path) -> None:
    write_secret(tmp_path, "api", "token", "from-file")
    resolver = SecretResolver(secrets_dir=tmp_path, environ={"API_TOKEN": "from-env"})
    assert resolver.resolve("s", "env.TOKEN", ref("api", "token")) == "from-file"


def test_secret_falls_back_to_env_named_after_name_and_key(tmp_path: Path) -> None:
    assert secret_env_name("my-api", "token.v1") == "MY_API_TOKEN_V1"
    resolver = SecretResolver(secrets_dir=tmp_path, environ={"MY_API_TOKEN_V1": "from-env"})
    assert resolver.resolve("s", "headers.Authorization", ref("my-api", "token.v1")) == "from-env"


def test_secrets_dir_defaults_to_mcpctl_secrets_dir(tmp_path: Path) -> None:
    write_secret(tmp_path, "db", "password", "pw")
    resolver = SecretResolver(environ={"MCPCTL_SECRETS_DIR": str(tmp_path)})
    assert resolver.secrets_dir == tmp_path
    assert resolver.resolve("s", "env.PW", ref("db", "password")) == "pw"


def test_secrets_dir_default_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_secret(tmp_path, "db", "password", "pw")
    monkeypatch.setenv("MCPCTL_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("H6_FROM_ENV", "value")
    resolver = SecretResolver()
    assert resolver.resolve("s", "env.PW", ref("db", "password")) == "pw"
    assert resolver.resolve("s", "env.X", FromEnv(from_env="H6_FROM_ENV")) == "value"


def test_from_env_reads_the_variable() -> None:
    resolver = SecretResolver(environ={"GITHUB_TOKEN": "ghp_value"})
    assert resolver.resolve("gh", "env.GITHUB_TOKEN", FromEnv(from_env="GITHUB_TOKEN")) == "ghp_value"


def test_missing_from_env_names_server_field_and_variable() -> None:
    resolver = SecretResolver(environ={"OTHER": "unrelated-value"})
    with pytest.raises(MissingSecret) as caught:
        resolver.resolve("github", "env.GITHUB_TOKEN", FromEnv(from_env="GITHUB_TOKEN"))
    assert isinstance(caught.value, UpstreamError)  # one tree: upstream errors carry no HTTP status
    detail = caught.value.detail
    assert "'github'" in detail and "env.GITHUB_TOKEN" in detail and "GITHUB_TOKEN is not set" in detail
    assert "unrelated-value" not in detail


def test_missing_secret_names_reference_and_where_it_looked_never_a_value(tmp_path: Path) -> None:
    write_secret(tmp_path, "api", "other-key", "do-not-show")
    resolver = SecretResolver(secrets_dir=tmp_path, environ={"API_OTHER_KEY": "nor-this"})
    with pytest.raises(MissingSecret) as caught:
        resolver.resolve("search", "headers.X-Api-Key", ref("api", "token"))
    detail = caught.value.detail
    assert "'search'" in detail and "headers.X-Api-Key" in detail and "api/token" in detail
    assert str(tmp_path / "api" / "token") in detail and "API_TOKEN" in detail
    assert "do-not-show" not in detail and "nor-this" not in detail


def test_missing_secret_without_a_secrets_dir_mentions_only_env() -> None:
    with pytest.raises(MissingSecret, match=r"secret api/token not found \(env API_TOKEN\)"):
        SecretResolver(environ={}).resolve("s", "env.T", ref("api", "token"))


def test_dot_dot_key_never_reads_outside_the_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    write_secret(secrets, "api", "token", "inside")
    (tmp_path / "outside").write_text("outside")
    resolver = SecretResolver(secrets_dir=secrets, environ={})
    with pytest.raises(MissingSecret) as caught:
        resolver.resolve("s", "env.T", ref("api", ".."))
    assert "outside" not in caught.value.detail.replace(str(tmp_path), "")


def test_unreadable_secret_file_is_a_missing_secret(tmp_path: Path) -> None:
    (tmp_path / "api" / "token").mkdir(parents=True)  # a directory where a file should be
    with pytest.raises(MissingSecret, match="could not be read"):
        SecretResolver(secrets_dir=tmp_path, environ={}).resolve("s", "env.T", ref("api", "token"))
