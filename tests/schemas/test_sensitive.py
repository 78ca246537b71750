"""What counts as sensitive: by key name and by value shape, in every field a server spec has."""

from __future__ import annotations

from typing import Any

import pytest

from mcpctl.schemas import (
    SENSITIVE,
    WITHHELD,
    looks_secret_value,
    mask_args,
    mask_url,
    masked,
    sensitive_paths,
    withhold,
)


def server(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "mcpctl.dev/v1", "kind": "Server", "metadata": {"name": "s"}, "spec": spec}


@pytest.mark.parametrize(
    "value",
    [
        "postgres://app:PW@db.internal:5432/app",
        "https://KEY123@o1.ingest.sentry.io/42",
        "https://api.example.com/mcp?api_key=QSECRET",
        "https://api.example.com/mcp?x=1&access_token=T",
        "https://blob.example.net/c?sv=2022&sig=SIG",
        "Bearer abc.def",
        "ghp_" + "a" * 36,
        "AKIAABCDEFGHIJKLMNOP",
        "mcpctl_pat_abcdef",
    ],
)
def test_values_that_are_credentials_by_shape(value: str) -> None:
    assert looks_secret_value(value)


@pytest.mark.parametrize(
    "value", ["info", "https://example.com/mcp?page=2", "UTC", "--verbose", "user@example.com", "8080"]
)
def test_ordinary_values_are_not(value: str) -> None:
    assert not looks_secret_value(value)


def test_stdio_server_masked_by_shape_and_by_flag() -> None:
    doc = server(
        {
            "transport": "stdio",
            "command": "srv",
            "args": [
                "--api-key",
                "ARGSECRET",
                "--token=EQSECRET",
                "--port",
                "8080",
                "--password",
                "--verbose",
            ],
            "env": {
                "DATABASE_URL": "postgres://u:PW@db/x",
                "SENTRY_DSN": "https://KEY@s.io/1",
                "LOG": "info",
            },
            "healthCheck": {
                "tool": "ping",
                "arguments": {"target": {"url": "https://h/?token=HT"}, "n": "1"},
            },
        }
    )
    assert sensitive_paths(doc, {}) == {
        ("spec", "args", 1),
        ("spec", "args", 2),
        ("spec", "env", "DATABASE_URL"),
        ("spec", "env", "SENTRY_DSN"),
        ("spec", "healthCheck", "arguments", "target", "url"),
    }
    shown = repr(masked(doc, sensitive_paths(doc, {})))
    for secret in ("ARGSECRET", "EQSECRET", "PW", "KEY@", "HT'"):
        assert secret not in shown
    assert "8080" in shown and "info" in shown
    assert mask_args(doc["spec"]["args"])[:3] == ["--api-key", SENSITIVE, SENSITIVE]


def test_http_server_url_and_headers_by_shape() -> None:
    doc = server(
        {
            "transport": "streamable-http",
            "url": "https://h.example/mcp?api_key=Q",
            "headers": {"X-Custom": "Bearer T0KEN", "X-Team": "core"},
        }
    )
    assert sensitive_paths(doc, {}) == {("spec", "url"), ("spec", "headers", "X-Custom")}


def test_template_placeholders_and_defaults() -> None:
    doc = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Template",
        "metadata": {"name": "t"},
        "spec": {
            "parameters": [{"name": "dsn", "default": "postgres://u:pw@db/x"}, {"name": "key"}],
            "server": {"transport": "stdio", "command": "x", "args": ["--api-key", "{{ key }}"]},
        },
    }
    # A `{{ key }}` placeholder is no value; a default that is a DSN with a password is one.
    assert sensitive_paths(doc, {}) == {("spec", "parameters", 0, "default")}


def test_mask_url_and_withhold_keep_what_is_not_secret() -> None:
    assert mask_url("see postgres://u:pw@db:5432/x?sslmode=require&password=p") == (
        "see postgres://***@db:5432/x?sslmode=require&password=***"
    )
    assert withhold("postgres://u:pw@db/x") == f"postgres://{WITHHELD}@db/x"
    assert withhold("https://h/mcp?api_key=1&page=2") == f"https://h/mcp?api_key={WITHHELD}&page=2"
    assert withhold("--token=abc") == f"--token={WITHHELD}"
    assert withhold("s3cr3t") == WITHHELD
