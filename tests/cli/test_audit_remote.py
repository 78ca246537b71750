"""`mcpctl audit --url`: where the token comes from and what an unreachable gateway says (the API path
end to end is in tests/gateway/test_audit_api.py, beside the gateway it runs)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcpctl.cli import cli
from mcpctl.cli._audit_remote import event_from_document, read_token
from mcpctl.errors import UsageError
from mcpctl.store import AuditEvent, digest_arguments

VALUE = "mcpctl_pat_" + "k" * 43


def test_the_token_comes_from_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {VALUE}\n")
    monkeypatch.setenv("MCPCTL_TOKEN", "mcpctl_pat_other")
    assert read_token(path) == VALUE
    assert read_token(None) == "mcpctl_pat_other"
    monkeypatch.delenv("MCPCTL_TOKEN")
    with pytest.raises(UsageError, match="MCPCTL_TOKEN"):
        read_token(None)
    path.write_text("\n")
    with pytest.raises(UsageError, match="empty"):
        read_token(path)
    with pytest.raises(UsageError, match="cannot read"):
        read_token(tmp_path / "missing")


def test_an_unreachable_gateway_is_one_clear_error_without_the_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = CliRunner().invoke(
        cli, ["audit", "--url", f"http://127.0.0.1:{port}"], env={"MCPCTL_TOKEN": VALUE}
    )
    assert result.exit_code == 1
    assert f"cannot reach the gateway at http://127.0.0.1:{port}" in result.stderr
    assert VALUE not in result.output + result.stderr and "Traceback" not in result.stderr


def test_token_file_needs_url(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(VALUE)
    result = CliRunner().invoke(cli, ["audit", "--token-file", str(path)])
    assert result.exit_code == 2 and "--token-file goes with --url" in result.stderr


def test_an_event_survives_its_json_form() -> None:
    event = AuditEvent(
        "tool_call",
        project="p",
        session_id="s",
        token="t",
        token_prefix="mcpctl_pat_A…",
        user="u",
        server="srv",
        tool="echo",
        outcome="timeout",
        duration_ms=1.5,
        args_digest=digest_arguments({"a": 1}),
        result_size=3,
        detail={"status": "x", "n": 2},
        id=7,
    )
    assert event_from_document(event.to_document()) == event
