"""Audit events: validated kinds and outcomes, argument digests, and no secret value in any stored row."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from mcpctl.store import (
    AUDIT_KINDS,
    AUDIT_OUTCOMES,
    MAX_DETAIL_CHARS,
    AuditEvent,
    AuditWriter,
    Store,
    clean_detail,
    digest_arguments,
    mask_text,
)
from mcpctl.store._url import sqlalchemy_url


def test_kinds_and_outcomes_are_those_of_the_audit_trail() -> None:
    assert AUDIT_KINDS == (
        "session_open",
        "session_close",
        "tool_call",
        "prompt_get",
        "resource_read",
        "auth_failure",
        "access_denied",
        "apply",
        "reconcile",
        "config_reload",
        "tool_pin_mismatch",
        "description_flagged",
        "client_request",
        "tools_selected",
        "prompt_proposed",
        "prompt_decided",
    )
    assert AUDIT_OUTCOMES == ("ok", "error", "denied", "timeout", "unauthorized")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "tool.call"}, "unknown audit kind 'tool.call'"),
        ({"kind": "tool_call", "outcome": "failed"}, "unknown audit outcome 'failed'"),
        ({"kind": "tool_call", "args_digest": '{"path": "/etc"}'}, "args_digest must be"),
        ({"kind": "tool_call", "duration_ms": -1.0}, "duration_ms"),
        ({"kind": "tool_call", "result_size": -1}, "result_size"),
        ({"kind": "tool_call", "project": 3}, "must be str"),
    ],
)
def test_bad_events_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AuditEvent(**fields)  # type: ignore[arg-type]


def test_defaults_and_times() -> None:
    before = datetime.now(UTC)
    event = AuditEvent("session_open")
    assert before <= event.time <= datetime.now(UTC)
    assert len(event.correlation_id) == 32
    assert event.correlation_id != AuditEvent("session_open").correlation_id
    assert event.outcome == "ok" and event.detail == {} and event.id is None
    naive = AuditEvent("tool_call", time=datetime(2026, 5, 1, 12, 0))
    assert naive.time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    berlin = AuditEvent("tool_call", time=datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert berlin.time == naive.time and berlin.time.tzinfo is UTC


def test_argument_digest_is_sha256_of_canonical_json() -> None:
    first = digest_arguments({"b": [1, 2], "a": {"y": "ü", "x": None}})
    assert first == digest_arguments({"a": {"x": None, "y": "ü"}, "b": [1, 2]})
    assert first != digest_arguments({"b": [2, 1], "a": {"y": "ü", "x": None}})
    canonical = '{"a":{"x":null,"y":"ü"},"b":[1,2]}'
    assert first == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert digest_arguments(None) == digest_arguments({})
    assert AuditEvent("tool_call", args_digest=first).args_digest == first


def test_free_text_is_masked() -> None:
    value = "mcpctl_pat_" + "Q" * 43
    masked = mask_text(
        f"token {value} via https://bob:hunter2@git.example/x with Authorization: Bearer abc.def "
        'and password=pw1 api_key: "k2" X-Api-Key=k3; keep name=visible'
    )
    for secret in (value, "hunter2", "abc.def", "pw1", "k2", "k3"):
        assert secret not in masked
    assert "name=visible" in masked and "https://***@git.example/x" in masked
    # A display prefix is what listings show anyway; it stays readable.
    assert mask_text("token mcpctl_pat_Q… refused") == "token mcpctl_pat_Q… refused"


def test_detail_is_flat_short_and_masked() -> None:
    detail = clean_detail(
        {
            "reason": "no rule grants run on servers/time",
            "client": "10.0.0.7",
            "count": 3,
            "ratio": 0.5,
            "ok": True,
            "none": None,
            "api_key": "k-123",
            "client_secret": 42,
            "nested": {"a": [1, 2]},
            "nan": float("nan"),
            "long": "x" * 1000,
        }
    )
    assert detail["reason"] == "no rule grants run on servers/time"
    assert (detail["client"], detail["count"], detail["ratio"], detail["ok"], detail["none"]) == (
        "10.0.0.7",
        3,
        0.5,
        True,
        None,
    )
    assert detail["api_key"] == detail["client_secret"] == "(sensitive)"
    assert detail["nested"] == '{"a": [1, 2]}' and detail["nan"] == "NaN"
    assert len(str(detail["long"])) == 256
    many = clean_detail({f"k{i}": "v" * 200 for i in range(40)})
    assert len(json.dumps(many)) <= MAX_DETAIL_CHARS and many["truncated"] is True
    assert len(clean_detail({f"k{i}": i for i in range(40)})) == 17  # 16 keys, then the mark


def test_a_whole_token_value_given_as_prefix_is_cut_to_the_display_prefix() -> None:
    value = "mcpctl_pat_" + "Z" * 43
    assert AuditEvent("tool_call", token_prefix=value).token_prefix == "mcpctl_pat_Z…"
    assert AuditEvent("tool_call", token_prefix="mcpctl_pat_Z…").token_prefix == "mcpctl_pat_Z…"


def test_long_names_are_capped_to_their_columns() -> None:
    event = AuditEvent("resource_read", tool="file:///" + "d/" * 300, session_id="s" * 500)
    assert event.tool is not None and len(event.tool) == 253 and event.tool.endswith("…")
    assert event.session_id is not None and len(event.session_id) == 128


def test_document_uses_the_audit_field_names() -> None:
    event = AuditEvent("tool_call", time=datetime(2026, 5, 1, 12, 0, tzinfo=UTC), correlation_id="c1")
    assert list(event.to_document()) == [
        "id",
        "time",
        "kind",
        "project",
        "session_id",
        "correlation_id",
        "token",
        "token_prefix",
        "user",
        "server",
        "tool",
        "outcome",
        "duration_ms",
        "args_digest",
        "result_size",
        "detail",
    ]
    assert event.to_document()["time"] == "2026-05-01T12:00:00+00:00"


PLANTED = {
    "token": "mcpctl_pat_" + "S3cr3tT0kenValue" * 2,
    "argument": "argument-value-4815162342",
    "password": "pa55w0rd-planted",
    "header": "header-secret-planted",
    "url": "urlcred-planted",
}


def test_planted_secrets_never_reach_a_row(store: Store, database_url: str) -> None:
    """Every way into audit_events (writer, direct write, apply transaction) keeps the values out."""
    arguments = {"path": PLANTED["argument"], "password": PLANTED["password"]}
    events = [
        AuditEvent(
            "tool_call",
            project="platform",
            token="ci-bot",
            token_prefix=PLANTED["token"],
            server="fs",
            tool="read_file",
            args_digest=digest_arguments(arguments),
            result_size=120,
            detail={
                "error": f"upstream said: token={PLANTED['token']} password: {PLANTED['password']}",
                "authorization": f"Bearer {PLANTED['token']}",
                "x-api-key": PLANTED["header"],
                "upstream": f"https://svc:{PLANTED['url']}@fs.internal/mcp",
            },
        ),
        AuditEvent(
            "auth_failure",
            outcome="unauthorized",
            detail={"reason": f"unknown token {PLANTED['token']}", "client": "127.0.0.1"},
        ),
        AuditEvent("resource_read", tool=f"https://u:{PLANTED['url']}@host/doc?api_key={PLANTED['header']}"),
    ]
    with AuditWriter(store) as writer:
        for event in events:
            writer.submit(event)
    store.write_audit_events(events[1:])
    with store.transaction(actor="alice") as tx:
        tx.record_revision(
            source=f"https://git:{PLANTED['url']}@git.example/config.git",
            revision="abc",
            plan_digest="d",
            counts={"add": 1},
        )
        tx.record_audit(AuditEvent("reconcile", detail={"error": f"password={PLANTED['password']}"}))

    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM audit_events")).all()
    finally:
        engine.dispose()
    assert len(rows) == 3 + 2 + 2
    dump = "\n".join(repr(tuple(row)) for row in rows)
    for name, value in PLANTED.items():
        assert value not in dump, f"planted {name} value reached audit_events"
    assert PLANTED["token"][:12] in dump  # the display prefix is kept
