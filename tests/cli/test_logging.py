"""The one log handler of long-running commands redacts every line, traceback included."""

from __future__ import annotations

import logging

import pytest

from mcpctl.cli._logging import RedactingFormatter, configure_logging


def _format(message: str, *args: object, exc: BaseException | None = None) -> str:
    record = logging.LogRecord("httpx2", logging.INFO, __file__, 1, message, args, None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    return RedactingFormatter("%(name)s: %(message)s").format(record)


def test_url_credentials_tokens_and_bearer_values_are_hidden() -> None:
    line = _format("HTTP Request: POST %s", "http://u:hunter2@host/mcp?token=abc123&page=2")
    assert line == "httpx2: HTTP Request: POST http://***@host/mcp?token=(sensitive)&page=2"
    assert "mcpctl_pat_Zq9" not in _format("presented mcpctl_pat_Zq9xYvalue")
    assert "s3cr3t" not in _format("headers: Authorization: Bearer s3cr3t")
    assert "pw1" not in _format("connecting with password=pw1")
    assert _format("project demo: 3 tools") == "httpx2: project demo: 3 tools"


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise ConnectionError("cannot reach https://admin:pw9@db.internal/x")
    except ConnectionError as error:
        line = _format("upstream failed", exc=error)
    assert "Traceback" in line and "pw9" not in line and "https://***@db.internal/x" in line


def test_sdk_payload_loggers_stay_at_info_when_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("debug")
    assert not logging.getLogger("mcp.client.streamable_http").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("mcpctl.gateway").isEnabledFor(logging.DEBUG)
