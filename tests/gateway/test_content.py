"""The content layer end to end: the real app, a real upstream of large answers on stdio, the SDK client
over Streamable HTTP; and the layer's exactness over many random results (hypothesis).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import jsonschema
import mcp_types as types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
    token_doc,
    wait_until,
)
from mcpctl.content import INDEX_SCHEMA, PART_SCHEMA, ResultCache, split_pages
from mcpctl.gateway import CallContext, ContentConfig, LlmSettings, ToolPinMismatch, read_live_tools
from mcpctl.gateway._content import ContentLayer
from mcpctl.gateway._session import GatewaySession
from mcpctl.gateway._state import Snapshot
from mcpctl.llm import LlmProviders
from mcpctl.schemas import API_VERSION, ProjectSpec, ServerSpec, ToolPin
from mcpctl.store import Store

pytestmark = pytest.mark.anyio
BULKY = Path(__file__).parent / "servers" / "bulky.py"
_spec = importlib.util.spec_from_file_location("bulky_server", BULKY)
assert _spec is not None and _spec.loader is not None
bulky = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bulky)
TOOL = "bulky__bulky"


@pytest.fixture
def no_llm() -> Iterator[LlmProviders]:
    yield LlmProviders.from_config(None)


def bulky_store(store: Store, project: str = "docs", **spec: Any) -> str:
    put(
        store,
        server_doc("bulky", {"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]}),
        project_doc(project, ["bulky"], **spec),
    )
    return create_token(store, project, "t")


def text_of(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_a_200k_result_becomes_a_page_index_and_its_pages_join_to_the_original(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = bulky_store(sqlite_store)
    original = bulky.bulky_texts(200_000, 3)[0]
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            index = await session.call_tool(TOOL, {"chars": 200_000, "seed": 3})
            assert not index.is_error
            structured = index.structured_content
            assert structured is not None
            count = len(split_pages(original, 40_000))
            assert structured["totalChars"] == 200_000 and structured["pages"] == count >= 5
            result_id = structured["_resultId"]
            text = text_of(index)
            assert len(text) < 2000
            assert result_id in text and '"_page": 1' in text and f"{count} pages" in text
            assert "1. Page 1 (" in text and f"{count}. Page {count} (" in text
            pages = []
            for number in range(1, structured["pages"] + 1):
                page = await session.call_tool(TOOL, {"_resultId": result_id, "_page": number})
                assert not page.is_error
                assert page.structured_content == {"_resultId": result_id, "page": number, "pages": count}
                pages.append(text_of(page))
            assert "".join(pages) == original
            assert [len(p) for p in pages] == structured["partChars"]
            assert all(len(p) <= 40_000 for p in pages)

            # A short result passes untouched.
            small = await session.call_tool("bulky__small", {})
            assert text_of(small) == "small answer" and small.structured_content is None

            # Out of range, malformed, unknown, another tool, extra arguments: clear tool errors.
            for arguments, message in [
                ({"_resultId": result_id, "_page": count + 1}, f"between 1 and {count}"),
                ({"_resultId": result_id, "_page": 0}, f"between 1 and {count}"),
                ({"_resultId": result_id, "_page": "two"}, "whole number"),
                ({"_resultId": result_id, "_page": True}, "whole number"),
                ({"_resultId": "x" * 5000, "_page": 1}, "unknown or expired result id (malformed)"),
                ({"_resultId": "A" * 24, "_page": 1}, "unknown or expired result id"),
                ({"_resultId": result_id}, "exactly one of _page and _section"),
                ({"_resultId": result_id, "_section": 1}, "kept in pages: use _page"),
                ({"_resultId": result_id, "_page": 1, "chars": 5}, "takes only _resultId"),
            ]:
                refused = await session.call_tool(TOOL, arguments)
                assert refused.is_error, arguments
                assert message in text_of(refused), (arguments, text_of(refused))
            with pytest.raises(MCPError, match="Unknown tool: nowhere__tool"):
                await session.call_tool("nowhere__tool", {"_resultId": result_id, "_page": 1})
            other_tool = await session.call_tool("bulky__small", {"_resultId": result_id, "_page": 1})
            assert other_tool.is_error and "unknown or expired result id" in text_of(other_tool)

        # Another session of the same token cannot read it.
        async with mcp_session(gateway.url("docs"), token) as other:
            refused = await other.call_tool(TOOL, {"_resultId": result_id, "_page": 1})
            assert refused.is_error and f"unknown or expired result id {result_id}" in text_of(refused)

        # The first session's results went with it.
        cache = gateway.runtime.cache
        await wait_until(lambda: not cache.entries(), 10)


async def test_a_tool_with_an_output_schema_has_its_index_and_pages_accepted_by_a_validating_client(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    """The SDK client validates every non-error result's structuredContent against the listed schema."""
    token = bulky_store(sqlite_store)
    records = bulky.records_of(8, 100_000, 5)
    original = json.dumps(records, ensure_ascii=False)
    assert len(original) > 100_000
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            tool = listed["bulky__records"]
            schema = tool.output_schema
            assert schema is not None and schema["type"] == "object" and len(schema["anyOf"]) == 3
            assert schema["$schema"] == bulky.RECORDS_OUTPUT["$schema"]
            properties = tool.input_schema["properties"]
            assert {"count", "chars", "seed", "_resultId", "_page", "_section"} <= properties.keys()
            assert "required" not in tool.input_schema
            assert listed[TOOL].output_schema is None  # a tool without one stays without

            # Without the wider schema the client raises on the index: it is no RECORDS_OUTPUT.
            index = await session.call_tool("bulky__records", {"count": 8, "chars": 100_000, "seed": 5})
            assert not index.is_error
            structured = index.structured_content
            assert structured is not None and structured["totalChars"] == len(original)
            count = structured["pages"]
            assert count == len(split_pages(original, 40_000)) >= 3
            pages = []
            for number in range(1, count + 1):
                page = await session.call_tool(
                    "bulky__records", {"_resultId": structured["_resultId"], "_page": number}
                )
                assert not page.is_error
                assert page.structured_content == {
                    "_resultId": structured["_resultId"],
                    "page": number,
                    "pages": count,
                }
                pages.append(text_of(page))
            assert "".join(pages) == original

            # A short result is the tool's own, validated against its own schema (under anyOf).
            small = await session.call_tool("bulky__records", {"count": 2, "chars": 50, "seed": 1})
            assert small.structured_content == bulky.records_of(2, 50, 1)
            assert json.loads(text_of(small)) == small.structured_content

            # The client does validate: a structuredContent none of the shapes admits is refused.
            bad = types.CallToolResult(content=[], structured_content={"count": "two", "records": []})
            with pytest.raises(RuntimeError, match="Invalid structured content"):
                await session.validate_tool_result("bulky__records", bad)


async def test_pinned_tools_stay_approved_when_the_gateway_widens_their_schemas(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    """Pins hash the upstream's definition (`Listed.source`), not the advertised one."""
    spec = ServerSpec.model_validate({"transport": "stdio", "command": sys.executable, "args": [str(BULKY)]})
    live = (await read_live_tools({"bulky": spec}))["bulky"]
    assert not isinstance(live, str), live
    pins = {
        "apiVersion": API_VERSION,
        "kind": "ToolPins",
        "metadata": {"name": "bulky"},
        "spec": {
            "tools": [ToolPin.of(t).model_dump(mode="json", by_alias=True, exclude_none=True) for t in live]
        },
    }
    token = bulky_store(sqlite_store)
    put(sqlite_store, pins)
    recorder = Recorder()
    settings = replace(FAST, llm=LlmSettings(providers=no_llm), event_sinks=[recorder])
    with serve_gateway(sqlite_store, settings) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert {
                "bulky__bulky",
                "bulky__small",
                "bulky__records",
            } <= tools.keys()  # block mode: all approved
            assert "_resultId" in tools["bulky__records"].input_schema["properties"]
            index = await session.call_tool("bulky__records", {"count": 4, "chars": 90_000, "seed": 1})
            assert index.structured_content is not None and index.structured_content["pages"] >= 3
            page = await session.call_tool(
                "bulky__records", {"_resultId": index.structured_content["_resultId"], "_page": 2}
            )
            assert not page.is_error
    assert recorder.of(ToolPinMismatch) == []


async def test_the_projects_limit_decides_and_multi_block_results_join_with_blank_lines(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = bulky_store(sqlite_store, pagination={"maxResponseChars": 5000})
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            under = await session.call_tool(TOOL, {"chars": 5000, "seed": 1})
            assert under.structured_content is None and len(text_of(under)) == 5000
            index = await session.call_tool(TOOL, {"chars": 12_000, "seed": 2, "blocks": 3})
            structured = index.structured_content
            assert structured is not None and structured["pages"] == 3
            pages = [
                text_of(await session.call_tool(TOOL, {"_resultId": structured["_resultId"], "_page": n}))
                for n in range(1, 4)
            ]
            assert "".join(pages) == "\n\n".join(bulky.bulky_texts(12_000, 2, 3))


async def test_a_page_fetch_is_a_call_of_its_tool_for_policy(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = bulky_store(sqlite_store)
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            index = await session.call_tool(TOOL, {"chars": 100_000, "seed": 1})
            assert index.structured_content is not None
            result_id = index.structured_content["_resultId"]
            assert not (await session.call_tool(TOOL, {"_resultId": result_id, "_page": 1})).is_error
            # The token loses `run` on the server: its cached pages are refused like an unknown tool.
            put(sqlite_store, token_doc("docs", "t", bindings=[{"role": "view", "resource": "*"}]))

            async def refused() -> bool:
                try:
                    await session.call_tool(TOOL, {"_resultId": result_id, "_page": 2})
                except MCPError as error:
                    return error.error.message == f"Unknown tool: {TOOL}"
                return False

            await wait_until(refused, 15)


async def test_content_pipeline_sections_long_prompts_and_headed_results(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    manual = bulky.manual_text(sections=10, section_chars=3600)
    put(
        sqlite_store,
        prompt_doc("docs", "guide", content=manual),
        prompt_doc("docs", "short", content="Be brief."),
    )
    token = bulky_store(sqlite_store, proxyModel="content-pipeline")
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            short = await session.get_prompt("short")
            assert cast(types.TextContent, short.messages[0].content).text == "Be brief."
            index = await session.get_prompt("guide")
            text = cast(types.TextContent, index.messages[0].content).text
            assert "11 sections" in text and "2. Chapter 1 (" in text and '"_section": "1"' in text
            result_id = text.split("as result ", 1)[1].split(" ", 1)[0]
            sections = []
            for number in range(1, 12):
                got = await session.get_prompt("guide", {"_resultId": result_id, "_section": str(number)})
                sections.append(cast(types.TextContent, got.messages[0].content).text)
            assert "".join(sections) == manual
            assert sections[1].startswith("## Chapter 1\n")
            with pytest.raises(MCPError, match="between 1 and 11"):
                await session.get_prompt("guide", {"_resultId": result_id, "_section": "12"})
            with pytest.raises(MCPError, match="unknown or expired result id"):
                await session.get_prompt("short", {"_resultId": result_id, "_section": "1"})

            # The upstream's prompt too (one section store for tools and prompts).
            upstream = await session.get_prompt("bulky__manual")
            assert "13 sections" in cast(types.TextContent, upstream.messages[0].content).text

            # A headed result over the section limit (20,000) but under the page limit is sectioned.
            headed = await session.call_tool(TOOL, {"chars": 30_000, "seed": 5, "headings": True})
            structured = headed.structured_content
            assert structured is not None and structured["sections"] > 1
            parts = [
                text_of(await session.call_tool(TOOL, {"_resultId": structured["_resultId"], "_section": n}))
                for n in range(1, structured["sections"] + 1)
            ]
            assert "".join(parts) == bulky.bulky_texts(30_000, 5, 1, True)[0]
            # Over the page limit, paginate comes first in content-pipeline.
            paged = await session.call_tool(TOOL, {"chars": 100_000, "seed": 5, "headings": True})
            assert paged.structured_content is not None and paged.structured_content["pages"] == 3


async def test_a_default_project_sections_long_prompts_too(sqlite_store: Store, no_llm: LlmProviders) -> None:
    manual = bulky.manual_text(sections=3, section_chars=3600)
    put(sqlite_store, prompt_doc("docs", "guide", content=manual))
    token = bulky_store(sqlite_store)
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            index = await session.get_prompt("guide")
            text = cast(types.TextContent, index.messages[0].content).text
            assert "4 sections" in text and manual not in text
            result_id = text.split("as result ", 1)[1].split(" ", 1)[0]
            sections = [
                cast(types.TextContent, got.messages[0].content).text
                for number in range(1, 5)
                if (
                    got := await session.get_prompt(
                        "guide", {"_resultId": result_id, "_section": str(number)}
                    )
                )
            ]
            assert "".join(sections) == manual


async def test_a_proxymodel_runs_its_stages_in_order_and_summarize_falls_back_to_an_excerpt(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    put(
        sqlite_store,
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "ProxyModel",
            "metadata": {"name": "brief"},
            "spec": {"stages": [{"type": "summarize", "maxChars": 500}]},
        },
    )
    token = bulky_store(sqlite_store, proxyModel="brief")
    with serve_gateway(sqlite_store, replace(FAST, llm=LlmSettings(providers=no_llm))) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            original = bulky.bulky_texts(3000, 9)[0]
            result = await session.call_tool(TOOL, {"chars": 3000, "seed": 9})
            structured = result.structured_content
            assert structured is not None and structured["pages"] == 1
            summary = structured["summary"]
            assert len(summary) <= 500 and summary.startswith(original[:100])
            assert summary.endswith(original[-50:])
            assert "Summary (excerpt)" in text_of(result)
            page = await session.call_tool(TOOL, {"_resultId": structured["_resultId"], "_page": 1})
            assert text_of(page) == original
            # A summarized result of a tool with an outputSchema passes the client's validation too.
            summarized = await session.call_tool("bulky__records", {"count": 3, "chars": 3000, "seed": 2})
            assert summarized.structured_content is not None and "summary" in summarized.structured_content


async def test_a_result_larger_than_the_cache_is_a_clear_error(
    sqlite_store: Store, no_llm: LlmProviders
) -> None:
    token = bulky_store(sqlite_store)
    config = replace(FAST, llm=LlmSettings(providers=no_llm), content=ContentConfig(cache_max_bytes=150_000))
    with serve_gateway(sqlite_store, config) as gateway:
        async with mcp_session(gateway.url("docs"), token) as session:
            result = await session.call_tool(TOOL, {"chars": 200_000, "seed": 1})
            assert result.is_error and "larger than the gateway's result cache" in text_of(result)


# --- exactness over many results, through the layer itself -------------------------------------------

BLOCK = st.text(
    alphabet=st.sampled_from(["a", "é", "\n", "😀", "字", " ", "#", "\r"]), min_size=0, max_size=4000
)


def layer_call(layer: ContentLayer, session: GatewaySession) -> CallContext:
    return CallContext(session=session, principal=None, method="tools/call", peer=cast(Any, None))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    blocks=st.lists(BLOCK, min_size=1, max_size=4),
    limit=st.integers(min_value=1000, max_value=6000),
    proxy=st.sampled_from(["default", "content-pipeline"]),
)
def test_every_cut_up_result_joins_back_exactly(blocks: list[str], limit: int, proxy: str) -> None:
    import anyio

    snapshot = Snapshot(
        1,
        projects={
            "p": ProjectSpec.model_validate({"proxyModel": proxy, "pagination": {"maxResponseChars": limit}})
        },
    )
    layer = ContentLayer(lambda: snapshot, ResultCache())

    async def closer(session: GatewaySession, reason: Any) -> None:
        return None

    session = GatewaySession("p", None, closer)
    session.opened("session-one", None, None)
    image = types.ImageContent(type="image", data="aGk=", mime_type="image/png")
    upstream = types.CallToolResult(
        content=[*(types.TextContent(type="text", text=b) for b in blocks), image]
    )

    async def call_next(call: CallContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        return upstream

    async def run() -> None:
        call = layer_call(layer, session)
        got = await layer.call_tool(call, types.CallToolRequestParams(name="t", arguments={}), call_next)
        joined = "\n\n".join(blocks)
        if got.structured_content is None:
            assert got is upstream and len(joined) <= limit
            return
        assert got.content[-1] == image  # what is not text is kept as it is
        structured = got.structured_content
        jsonschema.validate(structured, INDEX_SCHEMA)  # what every tool's advertised schema admits
        unit, key = ("pages", "_page") if "pages" in structured else ("sections", "_section")
        parts = []
        for number in range(1, structured[unit] + 1):
            arguments = {"_resultId": structured["_resultId"], key: number}
            part = await layer.call_tool(
                call, types.CallToolRequestParams(name="t", arguments=arguments), call_next
            )
            assert not part.is_error
            jsonschema.validate(part.structured_content, PART_SCHEMA)
            parts.append(cast(types.TextContent, part.content[0]).text)
        assert "".join(parts) == joined
        assert structured["totalChars"] == len(joined)

    anyio.run(run)


def test_the_index_never_carries_the_arguments_into_logs(caplog: pytest.LogCaptureFixture) -> None:
    # The layer logs nothing of a call; an LLM-less title fallback logs nothing at all.
    caplog.set_level("DEBUG", logger="mcpctl.gateway.content")
    test_every_cut_up_result_joins_back_exactly.hypothesis.inner_test(  # type: ignore[attr-defined]
        blocks=["secret-argument-text " * 400], limit=1000, proxy="default"
    )
    assert "secret-argument-text" not in caplog.text
