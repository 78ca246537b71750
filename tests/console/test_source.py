"""The console's sources against a real running gateway: `StoreSource` over the CLI's `RemoteAudit`
(`/api/v1/audit/*`, a token holding `audit`) reads what the store reads; a token without `audit` gets a
clear error; follow mode picks up new events through the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Static

from gateway.gateway_harness import mcp_session
from mcpctl.cli._audit_remote import RemoteAudit
from mcpctl.console import ConsoleApp, StoreSource
from mcpctl.store import AuditQuery

from .console_harness import CI_BOT_CALLS, PROBES, Trail, opened, settle
from .test_app import apply_filter, session_tokens, status_text, timeline_tools

pytestmark = pytest.mark.anyio


def remote(trail: Trail, token: str) -> RemoteAudit:
    return RemoteAudit(trail.gateway.base, trail.tokens[token])


@pytest.fixture
def auditor(trail: Trail) -> Iterator[StoreSource]:
    reader = remote(trail, "auditor")
    yield StoreSource(reader, reader.base)
    reader.close()


def test_the_gateway_source_reads_what_the_store_holds(trail: Trail, auditor: StoreSource) -> None:
    platform = AuditQuery(project="platform", limit=500)
    sessions = auditor.sessions(AuditQuery(limit=500))  # the token's project, without asking
    assert sessions == trail.store.audit_sessions(platform)
    assert [s.token for s in sessions] == ["ci-bot", *["probe"] * PROBES]
    ci_bot = sessions[0]
    mine = AuditQuery(session_id=ci_bot.session_id, limit=2000)
    events = auditor.events(mine)
    assert events == trail.store.query_audit(mine) and len(events) == len(CI_BOT_CALLS) + 2
    assert auditor.latest_id() == trail.store.latest_audit_id()
    # The event filters select the sessions, as the store's do (the console's `/` relies on it).
    failing = AuditQuery(tool="fail", outcome="error", limit=500)
    assert [s.session_id for s in auditor.sessions(failing)] == [ci_bot.session_id]
    assert auditor.sessions(failing) == trail.store.audit_sessions(
        AuditQuery(project="platform", tool="fail", outcome="error")
    )


async def test_the_console_over_the_gateway(trail: Trail, auditor: StoreSource) -> None:
    app = ConsoleApp(auditor, interval=0.5)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, opened(app))
        assert app.sub_title == trail.gateway.base
        assert session_tokens(app) == ["ci-bot", *["probe"] * PROBES]
        assert app.selected == trail.session_of("ci-bot").session_id
        assert timeline_tools(app) == [None, *CI_BOT_CALLS, None]
        table = app.query_one("#timeline", DataTable)
        assert table.cursor_row == len(CI_BOT_CALLS) + 1

        await apply_filter(pilot, "outcome=denied")
        assert session_tokens(app) == ["ci-bot"] and timeline_tools(app) == ["pid"]
        # Another project's trail: the gateway refuses, the console says why and keeps running.
        await apply_filter(pilot, "project=research")
        await settle(pilot, lambda: app.error is not None)
        assert app.error is not None and "403" in app.error and "project platform only" in app.error
        assert "project platform only" in status_text(app)
        assert session_tokens(app) == ["ci-bot"]
        await apply_filter(pilot, "")
        assert app.error is None and len(app.sessions) == PROBES + 1


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("plain", "answered 403: token platform/plain does not hold the audit operation"),
        (None, "answered 401"),  # a token value the gateway does not know
    ],
)
async def test_a_token_without_audit_is_told_so(trail: Trail, token: str | None, words: str) -> None:
    value = trail.tokens[token] if token else "mcpctl_pat_" + "Q" * 40
    reader = RemoteAudit(trail.gateway.base, value)
    app = ConsoleApp(StoreSource(reader, reader.base), interval=0.5)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot, lambda: app.error is not None)
            assert app.error is not None and words in app.error
            line = status_text(app)
            assert words in line and value not in line
            detail = str(app.query_one("#detail", Static).content)
            assert app.sessions == [] and detail == f"cannot read the audit trail: {app.error}"
    finally:
        reader.close()


async def test_follow_over_the_gateway_picks_up_new_events(fresh_trail: Trail) -> None:
    trail = fresh_trail
    reader = remote(trail, "auditor")
    try:
        async with mcp_session(trail.gateway.url("platform"), trail.tokens["ci-bot"]) as session:
            await session.call_tool("toy__echo", {"text": "first"})
            trail.flush()
            app = ConsoleApp(StoreSource(reader, reader.base), interval=0.3)
            async with app.run_test(size=(160, 40)) as pilot:
                await settle(pilot, opened(app))
                live = trail.sessions()[0]
                assert app.selected == live.session_id and timeline_tools(app) == [None, "echo"]
                await session.call_tool("toy__add", {"a": 2, "b": 2})
                await settle(pilot, lambda: timeline_tools(app) == [None, "echo", "add"])
                await trail.ci_bot_session(["big"])
                await settle(pilot, lambda: len(app.sessions) == PROBES + 3)
                assert app.sessions[0].calls == 1 and app.selected == live.session_id
    finally:
        reader.close()
