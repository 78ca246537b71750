"""`mcpctl console`: what is refused before the screen opens (the console itself is driven by Pilot in
tests/console): a gateway token without `audit`, a token the gateway does not know, no token, a
gateway that does not answer, a store that is not there, flags that do not go together."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.gateway_harness import create_token, project_doc, put, serve_gateway
from mcpctl.cli import cli
from mcpctl.store import Store

UNKNOWN = "mcpctl_pat_" + "Q" * 43


def console(*args: str, token: str | None = None) -> Result:
    env = {"MCPCTL_TOKEN": token or ""}
    return CliRunner().invoke(cli, ["console", *args], env=env)


def test_a_gateway_token_without_audit_or_unknown_is_refused_before_the_screen(
    sqlite_database_url: str,
) -> None:
    with Store.open(sqlite_database_url) as store:
        put(store, project_doc("platform", []))
        plain = create_token(store, "platform", "plain", bindings=[])
        with serve_gateway(store) as gateway:
            refused = console("--url", gateway.base, token=plain)
            unknown = console("--url", gateway.base, token=UNKNOWN)
            missing = console("--url", gateway.base)
    assert refused.exit_code == 1, refused.output
    assert "answered 403: token platform/plain does not hold the audit operation" in refused.stderr
    assert unknown.exit_code == 1 and "answered 401" in unknown.stderr
    for result in (refused, unknown):
        assert plain not in result.stderr and UNKNOWN not in result.stderr
        assert "Traceback" not in result.stderr
    assert missing.exit_code == 2 and "MCPCTL_TOKEN" in missing.stderr


def test_an_unreachable_gateway_and_a_missing_store_are_clear_errors(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = console("--url", f"http://127.0.0.1:{port}", token=UNKNOWN)
    assert down.exit_code == 1 and f"cannot reach the gateway at http://127.0.0.1:{port}" in down.stderr
    nowhere = tmp_path / "nowhere.db"
    missing = console("--database-url", f"sqlite:///{nowhere}")
    assert missing.exit_code == 1 and str(nowhere) in missing.stderr
    assert not nowhere.exists()  # opened read-only: nothing created


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://127.0.0.1:1", "--database-url", "sqlite:///x.db"], "not both"),
        (["--token-file", "token"], "--token-file goes with --url"),
        (["--interval", "0.1"], "0.1"),
    ],
)
def test_flags_that_do_not_go_together(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "token").write_text(UNKNOWN)
    args = [str(tmp_path / a) if a == "token" else a for a in args]
    result = console(*args, token=UNKNOWN)
    assert result.exit_code == 2 and message in result.stderr
