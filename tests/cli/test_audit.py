"""`mcpctl audit` and `audit sessions`: filters, formats, escaping, errors, and --follow as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcpctl.cli._audit import KINDS, OUTCOMES
from mcpctl.store import AUDIT_KINDS, AUDIT_OUTCOMES, AuditEvent, Store

from .test_get import run

NOW = datetime.now(UTC).replace(microsecond=0)
MCPCTL = str(Path(sys.executable).parent / "mcpctl")


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


EVENTS = [
    AuditEvent(
        "session_open", time=ago(300), project="alpha", token="ci", session_id="s1", correlation_id="e0"
    ),
    AuditEvent(
        "tool_call",
        time=ago(90),
        project="alpha",
        token="ci",
        token_prefix="mcpctl_pat_A…",
        user="ada",
        session_id="s1",
        server="time",
        tool="get_current_time",
        duration_ms=4.25,
        result_size=120,
        correlation_id="e1",
    ),
    AuditEvent(
        "tool_call",
        time=ago(20),
        project="beta",
        token="bot",
        session_id="s2",
        server="git",
        tool="git_log",
        outcome="timeout",
        correlation_id="e2",
    ),
    AuditEvent(
        "auth_failure",
        time=ago(10),
        project="beta",
        outcome="unauthorized",
        detail={"reason": "unknown token", "client": "10.0.0.9"},
        correlation_id="e3",
    ),
    AuditEvent("apply", time=ago(5), user="ada", detail={"revision": 3, "add": 1}, correlation_id="e4"),
]


@pytest.fixture
def url(database_url: str) -> str:
    with Store.open(database_url) as store:
        store.write_audit_events(EVENTS)
    return database_url


def correlations(url: str, *args: str) -> list[str]:
    result = run(url, "audit", "-o", "json", *args)
    assert result.exit_code == 0, result.output
    return [event["correlation_id"] for event in json.loads(result.stdout)]


def test_the_cli_offers_exactly_the_store_kinds_and_outcomes() -> None:
    assert (KINDS, OUTCOMES) == (AUDIT_KINDS, AUDIT_OUTCOMES)


def test_json_is_an_array_of_events_with_the_audit_field_names(url: str) -> None:
    result = run(url, "audit", "-o", "json")
    events = json.loads(result.stdout)
    assert [e["correlation_id"] for e in events] == ["e4", "e3", "e2", "e1", "e0"]
    call = events[3]
    assert list(call) == list(AuditEvent("apply").to_document())  # the fields of docs/audit.md
    assert (call["kind"], call["token"], call["tool"], call["duration_ms"], call["result_size"]) == (
        "tool_call",
        "ci",
        "get_current_time",
        4.25,
        120,
    )
    assert datetime.fromisoformat(call["time"]) == ago(90)


def test_jsonl_is_one_event_per_line(url: str) -> None:
    lines = run(url, "audit", "-o", "jsonl", "--limit", "2").stdout.splitlines()
    assert [json.loads(line)["correlation_id"] for line in lines] == ["e4", "e3"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "beta"], ["e3", "e2"]),
        (["--token", "ci"], ["e1", "e0"]),
        (["--user", "ada"], ["e4", "e1"]),
        (["--server", "git"], ["e2"]),
        (["--tool", "get_current_time"], ["e1"]),
        (["--kind", "tool_call"], ["e2", "e1"]),
        (["--outcome", "timeout"], ["e2"]),
        (["--session", "s1"], ["e1", "e0"]),
        (["--since", "1h"], ["e4", "e3", "e2"]),
        # The relative --until is exercised by test_relative_until below: here the bound is absolute, so
        # the case holds however long after collection it runs (events are placed relative to NOW).
        (["--since", "2h", "--until", (NOW - timedelta(minutes=15)).isoformat()], ["e2", "e1"]),
        (["--since", (NOW - timedelta(minutes=11)).isoformat()], ["e3", "e4"][::-1]),
        (["--until", (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")], ["e0"]),
        (["-p", "alpha", "--kind", "tool_call", "--outcome", "ok"], ["e1"]),
        (["--limit", "1"], ["e4"]),
    ],
)
def test_every_filter(url: str, args: list[str], expected: list[str]) -> None:
    assert correlations(url, *args) == expected


def test_relative_until_counts_back_from_the_time_of_the_command(sqlite_database_url: str) -> None:
    now = datetime.now(UTC)
    with Store.open(sqlite_database_url) as store:
        store.write_audit_events(
            [
                AuditEvent("apply", time=now - timedelta(minutes=30), correlation_id="old"),
                AuditEvent("apply", time=now - timedelta(minutes=1), correlation_id="new"),
            ]
        )
    assert correlations(sqlite_database_url, "--until", "15m") == ["old"]


def test_table_has_one_row_per_event_newest_first(url: str) -> None:
    lines = run(url, "audit").stdout.splitlines()
    assert lines[0].split() == [
        "TIME",
        "KIND",
        "OUTCOME",
        "PROJECT",
        "TOKEN",
        "USER",
        "SERVER",
        "TOOL",
        "MS",
        "DETAIL",
    ]
    assert [line.split()[2] for line in lines[1:]] == [
        "apply",
        "auth_failure",
        "tool_call",
        "tool_call",
        "session_open",
    ]
    assert lines[2].split()[-3:] == ["client=10.0.0.9", "reason=unknown", "token"]  # keys sorted
    assert lines[4].split()[3:11] == ["ok", "alpha", "ci", "ada", "time", "get_current_time", "4.2", "<none>"]


def test_control_characters_are_escaped_in_tables(database_url: str) -> None:
    with Store.open(database_url) as store:
        store.write_audit_events(
            [AuditEvent("resource_read", tool="doc\x1b]0;pwned\x07\x1b[2J", detail={"reason": "a\u202eb"})]
        )
    out = run(database_url, "audit").stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "doc\\u001b]0;pwned\\u0007\\u001b[2J" in out and "a\\u202eb" in out


def test_sessions(url: str) -> None:
    result = run(url, "audit", "sessions")
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "SESSION",
        "PROJECT",
        "TOKEN",
        "USER",
        "FIRST",
        "SEEN",
        "LAST",
        "SEEN",
        "CALLS",
        "ERRORS",
        "STATE",
    ]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["s2", "beta", "bot", "<none>"],
        ["s1", "alpha", "ci", "ada"],
    ]
    assert [line.split()[-3:] for line in lines[1:]] == [["1", "1", "open"], ["1", "0", "open"]]
    documents = json.loads(run(url, "audit", "sessions", "-o", "json", "-p", "alpha").stdout)
    assert documents == [
        {
            "session_id": "s1",
            "project": "alpha",
            "token": "ci",
            "user": "ada",
            "first_seen": ago(300).isoformat(),
            "last_seen": ago(90).isoformat(),
            "calls": 1,
            "errors": 0,
            "closed": False,
        }
    ]
    assert run(url, "audit", "sessions", "--since", "1h", "-o", "jsonl").stdout.count("\n") == 1


def test_usage_errors(url: str) -> None:
    for args in (
        ["--since", "yesterday"],
        ["--kind", "tool.call"],
        ["--outcome", "fine"],
        ["--limit", "0"],
        ["--follow", "-o", "json"],
        ["-p", "alpha", "sessions"],
    ):
        result = run(url, "audit", *args)
        assert result.exit_code == 2, (args, result.output)
    assert "bad time 'yesterday'" in run(url, "audit", "--since", "yesterday").stderr
    assert "after `sessions`" in run(url, "audit", "-p", "alpha", "sessions").stderr


def test_nothing_found_says_so_on_stderr(database_url: str) -> None:
    result = run(database_url, "audit")
    assert result.exit_code == 0 and result.stdout == "" and "No audit events found." in result.stderr
    assert run(database_url, "audit", "-o", "json").stdout.strip() == "[]"
    assert "No sessions found." in run(database_url, "audit", "sessions").stderr


def test_follow_streams_new_events_and_stops_cleanly_on_ctrl_c(url: str) -> None:
    process = subprocess.Popen(
        [
            MCPCTL,
            "audit",
            "--follow",
            "-o",
            "jsonl",
            "--interval",
            "0.1",
            "--limit",
            "2",
            "--kind",
            "tool_call",
        ],
        env={**os.environ, "MCPCTL_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        # The newest matching events first, oldest of them first, as `tail -f` would.
        assert [json.loads(process.stdout.readline())["correlation_id"] for _ in range(2)] == ["e1", "e2"]
        with Store.open(url) as store:
            store.write_audit_events([AuditEvent("tool_call", correlation_id="n1"), AuditEvent("apply")])
            time.sleep(0.3)
            store.write_audit_events([AuditEvent("tool_call", correlation_id="n2")])
        assert [json.loads(process.stdout.readline())["correlation_id"] for _ in range(2)] == ["n1", "n2"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err and "Aborted" not in err


def test_follow_as_a_table(url: str) -> None:
    process = subprocess.Popen(
        [MCPCTL, "audit", "--follow", "--interval", "0.1", "--limit", "1"],
        env={**os.environ, "MCPCTL_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().split()[:3] == ["TIME", "KIND", "OUTCOME"]
        assert process.stdout.readline().split()[2] == "apply"
        with Store.open(url) as store:
            store.write_audit_events([AuditEvent("config_reload", detail={"generation": 7})])
        line = process.stdout.readline()
        assert line.split()[2:4] == ["config_reload", "ok"] and line.rstrip().endswith("generation=7")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
