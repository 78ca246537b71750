"""`propose_prompt` end to end: the real app over Streamable HTTP, the SDK client, the store on SQLite."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    USE_ALL,
    create_token,
    mcp_session,
    project_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
)
from mcpctl.gateway import PROPOSE
from mcpctl.gateway._proposals import MAX_CONTENT_CHARS, proposed_prompt
from mcpctl.store import AuditQuery, Store

pytestmark = pytest.mark.anyio
PROPOSER = [*USE_ALL, {"role": "create", "resource": "prompts"}]


def _text(result: types.CallToolResult) -> str:
    return result.content[0].text  # type: ignore[union-attr]


def _setup(store: Store, **project: Any) -> None:
    put(store, server_doc("toy", toy_spec()), project_doc("platform", ["toy"], **project))


async def test_a_session_proposes_a_prompt_and_reads_its_request(sqlite_store: Store) -> None:
    _setup(sqlite_store)
    token = create_token(sqlite_store, "platform", "writer", bindings=PROPOSER)
    other = create_token(sqlite_store, "platform", "other", bindings=PROPOSER)
    generation = sqlite_store.generation()
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("platform"), token) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert PROPOSE in tools and "toy__echo" in tools
            result = await session.call_tool(
                PROPOSE,
                {
                    "name": "release-notes",
                    "content": "# Release notes\nList user-visible changes.",
                    "tags": ["docs", "release"],
                    "summary": "How we write release notes",
                },
            )
            assert not result.is_error, _text(result)
            assert result.structured_content == {
                "name": "release-notes",
                "status": "pending",
                "uri": "mcpctl://promptrequests/release-notes",
            }
            uris = [str(r.uri) for r in (await session.list_resources()).resources]
            assert "mcpctl://promptrequests/release-notes" in uris
            read = await session.read_resource("mcpctl://promptrequests/release-notes")
            shown = json.loads(read.contents[0].text)  # type: ignore[union-attr]
            assert (shown["status"], shown["tags"], shown["content"]) == (
                "pending",
                ["docs", "release"],
                "# Release notes\nList user-visible changes.",
            )
            # Proposing again revises the proposer's own pending request.
            again = await session.call_tool(PROPOSE, {"name": "release-notes", "content": "Shorter."})
            assert _text(again).startswith("Revised proposal 'release-notes'")

        # Another token's session neither lists nor reads it, nor may it overwrite it.
        async with mcp_session(gateway.url("platform"), other) as session:
            uris = [str(r.uri) for r in (await session.list_resources()).resources]
            assert not [u for u in uris if u.startswith("mcpctl://promptrequests/")]
            with pytest.raises(MCPError, match="Unknown resource: mcpctl://promptrequests/release-notes"):
                await session.read_resource("mcpctl://promptrequests/release-notes")
            taken = await session.call_tool(PROPOSE, {"name": "release-notes", "content": "Mine."})
            assert taken.is_error and "pending review" in _text(taken)

    stored = sqlite_store.prompt_request("platform", "release-notes")
    assert stored is not None and (stored.content, stored.token, stored.status) == (
        "Shorter.",
        "writer",
        "pending",
    )
    assert sqlite_store.generation() == generation  # proposals change no desired state
    # The audit trail has the name and size, never the content.
    audited = sqlite_store.query_audit(AuditQuery(kind="prompt_proposed"))
    assert [(e.token, e.detail["prompt"], e.detail["revised"]) for e in reversed(audited)] == [
        ("writer", "release-notes", False),
        ("writer", "release-notes", True),
    ]
    assert "user-visible" not in str([e.to_document() for e in audited])


async def test_without_create_on_prompts_the_tool_is_hidden_and_refused_like_an_unknown_one(
    sqlite_store: Store,
) -> None:
    _setup(sqlite_store)
    token = create_token(sqlite_store, "platform", "reader")  # run servers, view everything
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("platform"), token) as session:
            assert PROPOSE not in {t.name for t in (await session.list_tools()).tools}
            with pytest.raises(MCPError) as refused:
                await session.call_tool(PROPOSE, {"name": "x", "content": "y"})
            assert refused.value.error.message == f"Unknown tool: {PROPOSE}"
    assert sqlite_store.prompt_requests() == []


async def test_bad_proposals_are_tool_errors_naming_the_argument(sqlite_store: Store) -> None:
    _setup(sqlite_store)
    token = create_token(sqlite_store, "platform", "writer", bindings=PROPOSER)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("platform"), token) as session:
            cases: list[tuple[dict[str, Any], str]] = [
                ({"name": "Bad Name", "content": "x"}, "name: String should match pattern"),
                ({"name": "ok", "content": ""}, "content must be a non-empty string"),
                ({"name": "ok", "content": "x" * (MAX_CONTENT_CHARS + 1)}, "content is longer than"),
                ({"name": "ok", "content": "x", "tags": ["t"] * 17}, "tags holds more than 16"),
                ({"name": "ok", "content": "x", "summary": "a\nb"}, "summary must be one line"),
                ({"name": "ok", "content": "x", "priority": 10}, "unknown argument(s): priority"),
            ]
            for arguments, message in cases:
                result = await session.call_tool(PROPOSE, arguments)
                assert result.is_error and message in _text(result), (arguments, _text(result))
    assert sqlite_store.prompt_requests() == []


async def test_a_gated_session_may_propose_before_it_begins(sqlite_store: Store) -> None:
    _setup(sqlite_store, proxyModel="gate")
    token = create_token(sqlite_store, "platform", "writer", bindings=PROPOSER)
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("platform"), token) as session:
            assert [t.name for t in (await session.list_tools()).tools] == ["begin_session", PROPOSE]
            result = await session.call_tool(PROPOSE, {"name": "gated", "content": "Hello."})
            assert not result.is_error, _text(result)
    assert sqlite_store.prompt_request("platform", "gated") is not None


def test_a_proposal_is_validated_as_a_prompt_of_the_project() -> None:
    prompt = proposed_prompt("platform", {"name": "a.b", "content": "x", "tags": ["b", "a", "a"]})
    assert prompt.identity == ("Prompt", "platform", "a.b") and prompt.spec.tags == ["a", "b"]
    with pytest.raises(ValueError, match="unknown system prompt 'a'"):
        proposed_prompt("mcpctl-system", {"name": "a", "content": "x"})
    with pytest.raises(ValueError, match="tags must be a list of strings"):
        proposed_prompt("platform", {"name": "a", "content": "x", "tags": "a"})
