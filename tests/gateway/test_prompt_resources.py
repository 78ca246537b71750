"""Project prompts as MCP resources end to end: the real app over Streamable HTTP, a real toy upstream."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from gateway.gateway_harness import (
    create_token,
    mcp_session,
    project_doc,
    prompt_doc,
    put,
    serve_gateway,
    server_doc,
    toy_spec,
)
from mcpctl.gateway import PROMPT_SCHEME
from mcpctl.store import Store

pytestmark = pytest.mark.anyio


async def test_prompts_are_listed_and_read_as_resources_as_policy_allows(sqlite_store: Store) -> None:
    put(
        sqlite_store,
        server_doc("toy", toy_spec()),
        project_doc("platform", ["toy"]),
        prompt_doc("platform", "style", content="Be brief.", summary="House style"),
        prompt_doc("platform", "readme", linkTarget="platform/toy:toy://readme"),
        prompt_doc("platform", "secret-plan", content="Top secret."),
    )
    everything = create_token(sqlite_store, "platform", "all")
    some = create_token(
        sqlite_store,
        "platform",
        "some",
        bindings=[
            {"role": "run", "resource": "servers"},
            {"role": "view", "resource": "prompts", "names": ["style", "readme"]},
        ],
    )
    with serve_gateway(sqlite_store) as gateway:
        async with mcp_session(gateway.url("platform"), everything) as session:
            listed = {str(r.uri): r for r in (await session.list_resources()).resources}
            assert {u for u in listed if u.startswith(PROMPT_SCHEME)} == {
                f"{PROMPT_SCHEME}readme",
                f"{PROMPT_SCHEME}secret-plan",
                f"{PROMPT_SCHEME}style",
            }
            assert listed[f"{PROMPT_SCHEME}style"].description == "House style"
            assert "toy://data" in listed  # the upstream's resources are still there
            style = await session.read_resource(f"{PROMPT_SCHEME}style")
            assert style.contents[0].text == "Be brief."  # type: ignore[union-attr]
            # A linked prompt is its server's resource, as prompts/get serves it.
            linked = await session.read_resource(f"{PROMPT_SCHEME}readme")
            got = await session.get_prompt("readme")
            assert linked.contents[0].text == got.messages[0].content.text == "toy readme"  # type: ignore[union-attr]
            with pytest.raises(MCPError, match=f"Unknown resource: {PROMPT_SCHEME}nope"):
                await session.read_resource(f"{PROMPT_SCHEME}nope")

        async with mcp_session(gateway.url("platform"), some) as session:
            uris = {str(r.uri) for r in (await session.list_resources()).resources}
            assert {u for u in uris if u.startswith(PROMPT_SCHEME)} == {
                f"{PROMPT_SCHEME}readme",
                f"{PROMPT_SCHEME}style",
            }
            # One answer for what it may not view and what does not exist.
            with pytest.raises(MCPError, match=f"Unknown resource: {PROMPT_SCHEME}secret-plan"):
                await session.read_resource(f"{PROMPT_SCHEME}secret-plan")
