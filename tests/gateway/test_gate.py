"""Gated sessions end to end: the real app, real catalog upstreams on stdio, the SDK client, the matcher.

(The LLM path against a real vLLM is in tests/llm/test_gate_vllm.py.)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    FAST,
    Recorder,
    create_token,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
    wait_until,
)
from mcpctl.gateway import (
    AccessDenied,
    CallContext,
    Layer,
    LlmSettings,
    Principal,
    ToolsSelected,
)
from mcpctl.gateway._pipeline import ListNext, ToolNext
from mcpctl.llm import LlmProviders
from mcpctl.store import AuditQuery, Store

pytestmark = pytest.mark.anyio
CATALOG = Path(__file__).parent / "servers" / "catalog.py"
GATE_TOOLS = {"begin_session", "search_tools", "unlock_tools"}


def catalog_server(name: str, **extra: Any) -> dict[str, Any]:
    return server_doc(
        name, {"transport": "stdio", "command": sys.executable, "args": [str(CATALOG), name], **extra}
    )


@pytest.fixture
def no_llm() -> Iterator[LlmProviders]:
    providers = LlmProviders.from_config(None)
    yield providers


def gated_store(store: Store, **gate: Any) -> str:
    put(
        store,
        catalog_server("github", toolFilter={"exclude": ["merge_*"]}),
        catalog_server("jira"),
        catalog_server("slack"),
        project_doc("ops", ["github", "jira", "slack"], proxyModel="gate", gate={"maxTools": 4, **gate}),
        prompt_doc(
            "ops",
            "triage",
            content="Label every bug with its component.",
            priority=8,
            tags=["jira"],
            summary="How we triage bugs",
        ),
        prompt_doc("ops", "style", content="Be brief.", priority=3, summary="House style for messages"),
    )
    return create_token(store, "ops", "t")


async def test_a_gated_session_begins_with_only_begin_session_and_unlocks_what_the_task_needs(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = gated_store(sqlite_store)
    recorder = Recorder()
    config = replace(FAST, llm=LlmSettings(providers=no_llm), event_sinks=[recorder])
    with serve_gateway(sqlite_store, config) as gateway:
        notifications: list[Any] = []

        async def on_message(message: Any) -> None:
            notifications.append(message)

        async with mcp_session(gateway.url("ops"), token, message_handler=on_message) as session:
            assert [t.name for t in (await session.list_tools()).tools] == ["begin_session"]

            # The prompt index is readable before beginning.
            resources = (await session.list_resources()).resources
            assert "mcpctl://prompts/index" in [str(r.uri) for r in resources]
            index = json.loads((await session.read_resource("mcpctl://prompts/index")).contents[0].text)  # type: ignore[union-attr]
            assert [p["name"] for p in index["prompts"]] == ["triage", "style"]  # by priority
            assert index["prompts"][0]["tags"] == ["jira"]

            # An upstream tool is refused exactly like an unknown one until it is unlocked.
            with pytest.raises(MCPError) as refused:
                await session.call_tool("jira__create_ticket", {"project": "OPS"})
            assert refused.value.error.code == types.INVALID_PARAMS
            assert refused.value.error.message == "Unknown tool: jira__create_ticket"
            with pytest.raises(MCPError, match="Unknown tool: search_tools"):
                await session.call_tool("search_tools", {"query": "x"})

            result = await session.call_tool(
                "begin_session", {"task": "open a jira ticket for the login bug", "tags": ["jira"]}
            )
            assert not result.is_error
            chosen = result.structured_content
            assert chosen is not None and chosen["chooser"] == "matcher"
            assert "jira__create_ticket" in chosen["tools"] and 1 <= len(chosen["tools"]) <= 4
            assert chosen["prompts"] == ["triage"]
            text = result.content[0].text  # type: ignore[union-attr]
            assert "Label every bug with its component." in text and "jira__create_ticket" in text

            await wait_until(
                lambda: any(isinstance(m, types.ToolListChangedNotification) for m in notifications), 5
            )
            listed = {t.name for t in (await session.list_tools()).tools}
            assert listed == GATE_TOOLS | set(chosen["tools"])
            called = await session.call_tool("jira__create_ticket", {"project": "OPS", "summary": "bug"})
            assert called.content[0].text == "create_ticket called with ['project', 'summary']"  # type: ignore[union-attr]
            with pytest.raises(MCPError, match="Unknown tool: slack__post_message"):
                await session.call_tool("slack__post_message", {"channel": "ops"})

            # search_tools finds more; unlock_tools adds them (and says what it could not add).
            found = await session.call_tool("search_tools", {"query": "send a slack message to a channel"})
            assert found.structured_content is not None
            assert "slack__post_message" in found.structured_content["tools"]
            unlocked = await session.call_tool(
                "unlock_tools", {"names": ["slack__post_message", "nope__tool", "github__merge_pull_request"]}
            )
            assert unlocked.structured_content == {
                "unlocked": ["slack__post_message"],
                "unavailable": ["nope__tool", "github__merge_pull_request"],  # unknown, and filtered out
            }
            assert "slack__post_message" in {t.name for t in (await session.list_tools()).tools}
            assert not (await session.call_tool("slack__post_message", {"channel": "ops"})).is_error

        # A second session starts locked again: unlocks are per session.
        async with mcp_session(gateway.url("ops"), token) as other:
            assert [t.name for t in (await other.list_tools()).tools] == ["begin_session"]

        selected = recorder.of(ToolsSelected)
        assert len(selected) == 1 and selected[0].chooser == "matcher"
        assert selected[0].fallback == "no LLM is configured" and selected[0].candidates == 22 - 1
        denied = [e.call.target.exposed for e in recorder.of(AccessDenied)]
        assert denied[:3] == ["jira__create_ticket", "search_tools", "slack__post_message"]
        metrics = httpx.get(f"{gateway.base}/metrics").text
        assert 'mcpctl_gate_selections_total{project="ops",chooser="matcher"} 1' in metrics
    # Who chose, and what, is in the audit trail (flushed when the gateway stopped); the task is not.
    [audited] = sqlite_store.query_audit(AuditQuery(kind="tools_selected"))
    assert (audited.project, audited.tool, audited.detail["chooser"]) == ("ops", "begin_session", "matcher")
    assert audited.detail["unlocked"] == len(chosen["tools"]) and audited.duration_ms is not None
    assert "login bug" not in str(audited.to_document())


async def test_begin_session_never_unlocks_filtered_tools_and_rejects_bad_arguments(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = gated_store(sqlite_store)
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("ops"), token) as session:
            bad = await session.call_tool("begin_session", {"task": ""})
            assert bad.is_error and "task must be a non-empty string" in bad.content[0].text  # type: ignore[union-attr]
            bad = await session.call_tool("begin_session", {"task": "x", "tags": "jira"})
            assert bad.is_error and "tags must be a list of strings" in bad.content[0].text  # type: ignore[union-attr]
            too_long = await session.call_tool("begin_session", {"task": "x" * 9000})
            assert too_long.is_error
            assert [t.name for t in (await session.list_tools()).tools] == ["begin_session"]

            result = await session.call_tool("begin_session", {"task": "merge the approved pull request"})
            assert result.structured_content is not None
            tools = result.structured_content["tools"]
            assert tools and "github__merge_pull_request" not in tools  # hidden by the toolFilter

            # Nothing matches: still tools to work with, never an empty session.
            async with mcp_session(gateway.url("ops"), token) as again:
                odd = await again.call_tool("begin_session", {"task": "zzqx wvvy"})
                assert odd.structured_content is not None and len(odd.structured_content["tools"]) == 4


class _Grants:
    """Permissions as the policy evaluator answers them: run everything but jira's create_ticket."""

    def allows(
        self, verb: str, resource: str | None, name: str | None = None, *, tool: str | None = None
    ) -> bool:
        if resource == "prompts":
            return name != "triage"
        return not (name == "jira" and tool == "create_ticket")


class _WithGrants(Layer):
    """Stands where the policy layer stands (outside the gate) and gives the principal its permissions."""

    name = "grants"

    @staticmethod
    def _granted(call: CallContext) -> CallContext:
        principal = call.principal or Principal("ops", "t", "p", "h")
        return replace(call, principal=replace(principal, permissions=_Grants()))

    async def list_tools(self, call: CallContext, call_next: ListNext[types.Tool]) -> Any:
        return await call_next(self._granted(call))

    async def call_tool(
        self, call: CallContext, params: types.CallToolRequestParams, call_next: ToolNext
    ) -> Any:
        return await call_next(self._granted(call), params)


async def test_only_tools_and_prompts_the_principal_may_use_are_offered(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = gated_store(sqlite_store)
    config = replace(FAST, llm=LlmSettings(providers=no_llm), layers=[_WithGrants()])
    with serve_gateway(sqlite_store, config) as gateway:
        async with mcp_session(gateway.url("ops"), token) as session:
            result = await session.call_tool(
                "begin_session", {"task": "create a jira ticket for the bug", "tags": ["jira"]}
            )
            assert result.structured_content is not None
            assert "jira__create_ticket" not in result.structured_content["tools"]
            assert result.structured_content["tools"]  # other jira tools instead
            assert "triage" not in result.structured_content["prompts"]
            found = await session.call_tool("search_tools", {"query": "create ticket"})
            assert "jira__create_ticket" not in (found.structured_content or {})["tools"]
            refused = await session.call_tool("unlock_tools", {"names": ["jira__create_ticket"]})
            assert refused.is_error and refused.structured_content == {
                "unlocked": [],
                "unavailable": ["jira__create_ticket"],
            }


async def test_a_project_that_is_not_gated_is_served_as_before(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    put(sqlite_store, catalog_server("slack"), project_doc("open", ["slack"]))
    token = create_token(sqlite_store, "open", "t")
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("open"), token) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "slack__post_message" in names and "begin_session" not in names
            with pytest.raises(MCPError, match="Unknown tool: begin_session"):
                await session.call_tool("begin_session", {"task": "x"})
            resources = (await session.list_resources()).resources
            assert "mcpctl://prompts/index" not in [str(r.uri) for r in resources]


def test_the_selection_prompt_comes_from_mcpctl_system_and_falls_back_to_the_built_in_one() -> None:
    from mcpctl.gateway import GateLayer, Selector, Snapshot
    from mcpctl.schemas import PromptSpec

    snapshot = Snapshot(generation=1)
    gate = GateLayer(lambda: snapshot, Selector(None))
    assert gate._template() is None  # nothing stored: the built-in text
    snapshot = Snapshot(
        generation=2,
        prompts={"mcpctl-system": {"gate-select": PromptSpec(content="Do {{task}} with {{tools}}")}},
    )
    assert gate._template() == "Do {{task}} with {{tools}}"
    # One that validation would refuse (written to the store some other way) is not used.
    snapshot = Snapshot(
        generation=3, prompts={"mcpctl-system": {"gate-select": PromptSpec(content="{{task}}")}}
    )
    assert gate._template() is None
    snapshot = Snapshot(
        generation=4, prompts={"other": {"gate-select": PromptSpec(content="{{task}} {{tools}}")}}
    )
    assert gate._template() is None


async def test_with_the_real_policy_a_narrowed_token_is_only_offered_what_it_may_run(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    gated_store(sqlite_store)
    narrowed = create_token(
        sqlite_store,
        "ops",
        "slack-and-jira-reads",
        bindings=[
            {"role": "run", "resource": "servers", "names": ["slack"]},
            {"role": "run", "resource": "servers", "names": ["jira"], "tools": ["get_*", "search_*"]},
            {"role": "view", "resource": "prompts", "names": ["style"]},
        ],
    )
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("ops"), narrowed) as session:
            result = await session.call_tool(
                "begin_session", {"task": "create a jira ticket for the bug and tell slack", "tags": ["jira"]}
            )
            chosen = result.structured_content or {}
            assert chosen["tools"], chosen
            allowed = {"jira__get_ticket", "jira__search_tickets"}
            assert all(n.startswith("slack__") or n in allowed for n in chosen["tools"]), chosen
            assert chosen["prompts"] == [] or chosen["prompts"] == ["style"]
            assert "triage" not in result.content[0].text  # type: ignore[union-attr]
            index = await session.read_resource("mcpctl://prompts/index")
            assert [p["name"] for p in json.loads(index.contents[0].text)["prompts"]] == ["style"]  # type: ignore[union-attr]
            unlocked = await session.call_tool(
                "unlock_tools", {"names": ["jira__create_ticket", "github__create_issue"]}
            )
            assert unlocked.structured_content == {
                "unlocked": [],
                "unavailable": ["jira__create_ticket", "github__create_issue"],
            }
            listed = {t.name for t in (await session.list_tools()).tools}
            assert listed == GATE_TOOLS | set(chosen["tools"])
